package org.timingsidecar.rocketmq;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The broker API the sidecar consumes (README "The broker API the sidecar consumes"), on the JDK's
 * HTTP server, on loopback, on its own few daemon threads:
 * {@code GET /v1/topics} and the long-poll {@code GET /v1/events?after=&timeout=}.
 */
final class FeedServer implements AutoCloseable {
    /** What the topic list is made of: the broker's topic table and its TimerMetrics counts. */
    interface Broker {
        /** Topic name to message type ("" when unspecified). */
        Map<String, String> topics();

        /** The broker's own pending count of each topic TimerMetrics tracks. */
        Map<String, Long> timingCounts();
    }

    private static final int THREADS = 4;
    private static final int MAX_EVENTS_PER_REPLY = 10_000;
    private static final long MAX_POLL_SECONDS = 60;
    private static final long POLL_STEP_MS = 10;
    private static final int LIST_ATTEMPTS = 5;

    private final EventRing ring;
    private final Broker broker;
    private final HttpServer server;
    private final ExecutorService executor;
    private volatile boolean stopping;

    FeedServer(PluginConfig.FeedAddress address, EventRing ring, Broker broker) throws IOException {
        this.ring = ring;
        this.broker = broker;
        this.server = HttpServer.create(new InetSocketAddress(address.host(), address.port()), 64);
        this.executor = Executors.newFixedThreadPool(THREADS, runnable -> {
            Thread thread = new Thread(runnable, "timing-sidecar-feed");
            thread.setDaemon(true);
            return thread;
        });
        server.setExecutor(executor);
        server.createContext("/v1/topics", exchange -> handle(exchange, this::topics));
        server.createContext("/v1/events", exchange -> handle(exchange, this::events));
        server.start();
    }

    int port() {
        return server.getAddress().getPort();
    }

    private record Reply(int status, String body) {
    }

    private interface Handler {
        Reply answer(URI uri) throws InterruptedException;
    }

    private static void handle(HttpExchange exchange, Handler handler) {
        try (exchange) {
            Reply reply;
            if (!"GET".equals(exchange.getRequestMethod())) {
                reply = error(405, "only GET");
            } else {
                try {
                    reply = handler.answer(exchange.getRequestURI());
                } catch (IllegalArgumentException e) {
                    reply = error(400, e.getMessage());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    reply = error(503, "shutting down");
                } catch (RuntimeException e) {
                    reply = error(500, "internal error");
                }
            }
            byte[] body = reply.body().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(reply.status(), body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        } catch (IOException e) {
            // The sidecar went away mid-reply; it asks again.
        }
    }

    private static Reply error(int status, String message) {
        StringBuilder body = new StringBuilder("{\"error\":");
        Json.string(body, message);
        return new Reply(status, body.append('}').toString());
    }

    /**
     * The list as of a revision: the revision is read before and after the counts, and the list
     * is taken again while they differ, so that an idle broker's counts and revision agree.
     * (TimerMetrics itself moves slightly after the put a message's event comes from.)
     */
    private Reply topics(URI uri) {
        long revision = 0;
        Map<String, String> topics = Map.of();
        Map<String, Long> counts = Map.of();
        for (int attempt = 0; attempt < LIST_ATTEMPTS; attempt++) {
            revision = ring.published();
            topics = new TreeMap<>(broker.topics());
            counts = broker.timingCounts();
            if (ring.published() == revision) break;
        }
        StringBuilder body = new StringBuilder("{\"revision\":").append(revision).append(",\"topics\":[");
        boolean first = true;
        for (Map.Entry<String, String> topic : topics.entrySet()) {
            if (!first) body.append(',');
            first = false;
            body.append("{\"name\":");
            Json.string(body, topic.getKey());
            if (!topic.getValue().isEmpty()) {
                body.append(",\"messageType\":");
                Json.string(body, topic.getValue());
            }
            // A topic TimerMetrics does not track has no pending timing message.
            long count = counts.getOrDefault(topic.getKey(), 0L);
            body.append(",\"timing\":").append(Math.max(0, count));
            body.append('}');
        }
        return new Reply(200, body.append("]}").toString());
    }

    private Reply events(URI uri) throws InterruptedException {
        Map<String, String> query = query(uri.getRawQuery());
        long after = number(query, "after", -1);
        if (after < 0) throw new IllegalArgumentException("after: a non-negative revision is required");
        long timeoutSeconds = Math.min(number(query, "timeout", 30), MAX_POLL_SECONDS);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        for (;;) {
            List<SidecarEvent> events = ring.read(after, MAX_EVENTS_PER_REPLY);
            if (events == EventRing.GONE) {
                return error(410, "revision " + after + " is not in the plugin's history (held: "
                    + ring.base() + " onwards, at most " + ring.capacity() + " events)");
            }
            if (!events.isEmpty() || stopping || System.nanoTime() >= deadline) {
                long revision = Math.max(ring.published(), events.isEmpty() ? after : events.get(events.size() - 1).revision);
                StringBuilder body = new StringBuilder(64 + 128 * events.size());
                body.append("{\"revision\":").append(revision).append(",\"events\":[");
                for (int i = 0; i < events.size(); i++) {
                    if (i > 0) body.append(',');
                    events.get(i).writeJson(body);
                }
                return new Reply(200, body.append("]}").toString());
            }
            Thread.sleep(POLL_STEP_MS);
        }
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> values = new TreeMap<>();
        if (raw == null) return values;
        for (String pair : raw.split("&")) {
            int equals = pair.indexOf('=');
            if (equals > 0) values.put(pair.substring(0, equals), pair.substring(equals + 1));
        }
        return values;
    }

    private static long number(Map<String, String> query, String key, long fallback) {
        String text = query.get(key);
        if (text == null) return fallback;
        try {
            long value = Long.parseLong(text);
            if (value < 0) throw new NumberFormatException();
            return value;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + ": not a non-negative integer: " + text);
        }
    }

    @Override
    public void close() {
        stopping = true;
        server.stop(0);
        executor.shutdownNow();
    }
}
