package org.timingsidecar.rocketmq;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The plugin's settings. Each is read from the broker's configuration (broker.conf, through
 * {@code MessageStorePluginContext.registerConfiguration}, which calls these setters by key
 * name) and, where broker.conf does not set it, from the JVM system property of the same name.
 * Every key starts with {@code timingSidecar}, so none can clash with RocketMQ's own.
 */
public final class PluginConfig {
    private String timingSidecarFeedAddress = property("timingSidecarFeedAddress", "127.0.0.1:9879");
    private String timingSidecarPortFile = property("timingSidecarPortFile", "");
    private String timingSidecarWebhookUrl =
        property("timingSidecarWebhookUrl", "http://127.0.0.1:9878/v1/events");
    private String timingSidecarSecretFile = property("timingSidecarSecretFile", "");
    private int timingSidecarEventBuffer = (int) number("timingSidecarEventBuffer", 262144);
    private long timingSidecarTopicScanMs = number("timingSidecarTopicScanMs", 1000);

    private static String property(String key, String fallback) {
        String value = System.getProperty(key);
        return value == null ? fallback : value.trim();
    }

    private static long number(String key, long fallback) {
        String value = property(key, Long.toString(fallback));
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + ": not a whole number: " + value);
        }
    }

    /** Checks every value; the message names the key, so a broker refusing to start says why. */
    void validate() {
        FeedAddress.parse(timingSidecarFeedAddress);
        if (!timingSidecarWebhookUrl.isEmpty() && !timingSidecarWebhookUrl.startsWith("http://")
            && !timingSidecarWebhookUrl.startsWith("https://")) {
            throw new IllegalArgumentException(
                "timingSidecarWebhookUrl: not an http(s) URL: " + timingSidecarWebhookUrl);
        }
        if (!timingSidecarSecretFile.isEmpty() && !Files.isReadable(Path.of(timingSidecarSecretFile))) {
            throw new IllegalArgumentException(
                "timingSidecarSecretFile: cannot read " + timingSidecarSecretFile);
        }
        if (timingSidecarEventBuffer < 1024) {
            throw new IllegalArgumentException(
                "timingSidecarEventBuffer: at least 1024 events, got " + timingSidecarEventBuffer);
        }
        if (timingSidecarTopicScanMs < 10) {
            throw new IllegalArgumentException(
                "timingSidecarTopicScanMs: at least 10 ms, got " + timingSidecarTopicScanMs);
        }
    }

    public String getTimingSidecarFeedAddress() {
        return timingSidecarFeedAddress;
    }

    public void setTimingSidecarFeedAddress(String value) {
        timingSidecarFeedAddress = value.trim();
    }

    public String getTimingSidecarPortFile() {
        return timingSidecarPortFile;
    }

    public void setTimingSidecarPortFile(String value) {
        timingSidecarPortFile = value.trim();
    }

    public String getTimingSidecarWebhookUrl() {
        return timingSidecarWebhookUrl;
    }

    public void setTimingSidecarWebhookUrl(String value) {
        timingSidecarWebhookUrl = value.trim();
    }

    public String getTimingSidecarSecretFile() {
        return timingSidecarSecretFile;
    }

    public void setTimingSidecarSecretFile(String value) {
        timingSidecarSecretFile = value.trim();
    }

    public int getTimingSidecarEventBuffer() {
        return timingSidecarEventBuffer;
    }

    public void setTimingSidecarEventBuffer(int value) {
        timingSidecarEventBuffer = value;
    }

    public long getTimingSidecarTopicScanMs() {
        return timingSidecarTopicScanMs;
    }

    public void setTimingSidecarTopicScanMs(long value) {
        timingSidecarTopicScanMs = value;
    }

    /** host:port of the feed; only loopback addresses, as the feed has no authentication. */
    record FeedAddress(String host, int port) {
        static FeedAddress parse(String text) {
            int colon = text.lastIndexOf(':');
            if (colon <= 0) throw new IllegalArgumentException("timingSidecarFeedAddress: want host:port, got " + text);
            String host = text.substring(0, colon);
            int port;
            try {
                port = Integer.parseInt(text.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("timingSidecarFeedAddress: bad port in " + text);
            }
            if (port < 0 || port > 65535) throw new IllegalArgumentException("timingSidecarFeedAddress: bad port in " + text);
            if (!host.equals("127.0.0.1") && !host.equals("localhost") && !host.equals("::1")) {
                throw new IllegalArgumentException("timingSidecarFeedAddress: must be a loopback address, got " + text);
            }
            return new FeedAddress(host, port);
        }
    }
}
