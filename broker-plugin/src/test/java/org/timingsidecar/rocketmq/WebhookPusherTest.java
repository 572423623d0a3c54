package org.timingsidecar.rocketmq;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WebhookPusherTest {
    @Test
    void signsAsTheSidecarVerifies() throws Exception {
        // printf '%s' '1700000000.<body>' | openssl dgst -sha256 -hmac s3cret
        assertEquals("t=1700000000,v1=b7ed903bf785c67bb84998eb490c6a86fe348d6d7207cadfcbf2d83c056a2550",
            WebhookPusher.signature("s3cret".getBytes(StandardCharsets.UTF_8), 1_700_000_000L,
                "{\"type\":\"topic.deleted\",\"topic\":\"orders\"}"));
    }

    @Test
    void theSecretFileLosesItsTrailingNewlinesAndMustNotBeEmpty(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("secret");
        Files.writeString(file, "s3cret\r\n");
        assertArrayEquals("s3cret".getBytes(StandardCharsets.UTF_8), WebhookPusher.readSecret(file));
        Files.writeString(file, "\n");
        assertThrows(IOException.class, () -> WebhookPusher.readSecret(file));
    }
}
