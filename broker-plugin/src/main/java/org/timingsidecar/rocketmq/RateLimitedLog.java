package org.timingsidecar.rocketmq;

import java.util.concurrent.atomic.AtomicLong;
import org.apache.rocketmq.logging.org.slf4j.Logger;
import org.apache.rocketmq.logging.org.slf4j.LoggerFactory;

/**
 * Warnings about the sidecar, at most one line a minute however often they happen: a sidecar
 * that is down must not fill the broker's log. The lines go to the broker's own log.
 */
final class RateLimitedLog {
    static final Logger LOG = LoggerFactory.getLogger("RocketmqBroker");
    private static final long INTERVAL_MS = 60_000;

    private final AtomicLong lastMs = new AtomicLong(Long.MIN_VALUE / 2);
    private final AtomicLong suppressed = new AtomicLong();

    void warn(String message) {
        long now = System.currentTimeMillis();
        long last = lastMs.get();
        if (now - last < INTERVAL_MS || !lastMs.compareAndSet(last, now)) {
            suppressed.incrementAndGet();
            return;
        }
        long others = suppressed.getAndSet(0);
        LOG.warn("timing-sidecar plugin: {}{}", message,
            others == 0 ? "" : " (" + others + " more since the last such line)");
    }
}
