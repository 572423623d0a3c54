package org.timingsidecar.rocketmq;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Pushes topic.deleted to the sidecar's webhook the moment the broker deletes a topic, so the
 * series go within milliseconds rather than at the next feed poll. Fire and forget: the send is
 * asynchronous on the plugin's own daemon thread, at most {@link #MAX_IN_FLIGHT} at a time (more
 * are dropped), and a failure is only logged, at most once a minute. The feed carries the same
 * deletion with its revision, so a lost push changes nothing.
 */
final class WebhookPusher implements AutoCloseable {
    private static final int MAX_IN_FLIGHT = 16;
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(1);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);

    private final URI url;
    private final byte[] secret;
    private final ExecutorService executor;
    private final HttpClient client;
    private final Semaphore inFlight = new Semaphore(MAX_IN_FLIGHT);
    private final RateLimitedLog log = new RateLimitedLog();

    WebhookPusher(String url, String secretFile) throws IOException {
        this.url = URI.create(url);
        this.secret = secretFile.isEmpty() ? null : readSecret(Path.of(secretFile));
        this.executor = Executors.newSingleThreadExecutor(runnable -> {
            Thread thread = new Thread(runnable, "timing-sidecar-webhook");
            thread.setDaemon(true);
            return thread;
        });
        // HTTP/1.1: the default would offer an h2c upgrade on every request to a plain http URL.
        this.client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(CONNECT_TIMEOUT).executor(executor).build();
    }

    /** The sidecar's rule: the file's content without its trailing newlines, not empty. */
    static byte[] readSecret(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        int end = text.length();
        while (end > 0 && (text.charAt(end - 1) == '\n' || text.charAt(end - 1) == '\r')) end--;
        if (end == 0) throw new IOException("timingSidecarSecretFile " + file + " is empty");
        return text.substring(0, end).getBytes(StandardCharsets.UTF_8);
    }

    /** {@code X-Timing-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t.body")>}. */
    static String signature(byte[] secret, long unixSeconds, String body) throws GeneralSecurityException {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(secret, "HmacSHA256"));
        byte[] digest = mac.doFinal((unixSeconds + "." + body).getBytes(StandardCharsets.UTF_8));
        return "t=" + unixSeconds + ",v1=" + HexFormat.of().formatHex(digest);
    }

    /** Never throws and never waits. */
    void push(SidecarEvent event) {
        if (!inFlight.tryAcquire()) {
            log.warn("webhook pushes are backing up; a deletion goes by the feed only");
            return;
        }
        try {
            String body = event.toString();
            HttpRequest.Builder request = HttpRequest.newBuilder(url).timeout(REQUEST_TIMEOUT)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
            if (secret != null) {
                request.header("X-Timing-Signature", signature(secret, System.currentTimeMillis() / 1000, body));
            }
            client.sendAsync(request.build(), HttpResponse.BodyHandlers.ofString())
                .whenComplete((response, error) -> {
                    inFlight.release();
                    if (error != null) {
                        log.warn("cannot reach the sidecar's webhook " + url + ": " + error);
                    } else if (response.statusCode() != 200) {
                        log.warn("the sidecar's webhook answered " + response.statusCode() + ": " + response.body());
                    }
                });
        } catch (Throwable e) {
            inFlight.release();
            log.warn("cannot push to the sidecar's webhook: " + e);
        }
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
