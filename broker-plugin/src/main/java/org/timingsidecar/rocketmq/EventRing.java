package org.timingsidecar.rocketmq;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The feed's history: a fixed ring of the last {@code capacity} events, each with its revision.
 * Appending never blocks and never allocates beyond the event itself (one atomic increment and
 * one slot write), so the broker's put path cannot be slowed by readers. When the ring wraps,
 * the oldest events are overwritten; a reader still behind them gets {@link #GONE} (HTTP 410) and
 * relists, which is how an overflow is survived.
 *
 * <p>Revisions start at the plugin's start time in microseconds, so that a restarted broker's
 * counter is always ahead of any revision an earlier run handed out: a sidecar resuming from an
 * old revision is told it is gone, never served a stranger's history.
 */
final class EventRing {
    /** The answer of {@link #read} when the history asked for is not held. */
    static final List<SidecarEvent> GONE = List.of();

    private final AtomicReferenceArray<SidecarEvent> slots;
    private final int mask;
    private final long base;
    private final AtomicLong claimed;
    /** A hint for {@link #published()}: every revision up to it was published at some point. */
    private volatile long publishedHint;

    EventRing(int capacity, long base) {
        int size = Integer.highestOneBit(Math.max(2, capacity - 1)) << 1;
        this.slots = new AtomicReferenceArray<>(size);
        this.mask = size - 1;
        this.base = base;
        this.claimed = new AtomicLong(base);
        this.publishedHint = base;
    }

    int capacity() {
        return mask + 1;
    }

    /** The revision before the first event: a feed position older than this was never held. */
    long base() {
        return base;
    }

    long append(SidecarEvent event) {
        long revision = claimed.incrementAndGet();
        event.revision = revision;
        int index = (int) (revision & mask);
        // A writer delayed by a whole lap must not overwrite the newer event in its slot.
        for (;;) {
            SidecarEvent old = slots.get(index);
            if (old != null && old.revision > revision) return revision;
            if (slots.compareAndSet(index, old, event)) return revision;
        }
    }

    /** The highest revision up to which every event is published (readable). */
    long published() {
        long revision = Math.max(publishedHint, claimed.get() - capacity());
        for (;;) {
            SidecarEvent next = slots.get((int) ((revision + 1) & mask));
            if (next == null || next.revision != revision + 1) break;
            revision++;
        }
        if (revision > publishedHint) publishedHint = revision;
        return revision;
    }

    /**
     * Up to {@code max} events after {@code after}, in order; empty when there are none yet; or
     * {@link #GONE} when {@code after} is older than the history held or ahead of the counter.
     */
    List<SidecarEvent> read(long after, int max) {
        long last = claimed.get();
        if (after < base || after > last || last - after > capacity()) return GONE;
        List<SidecarEvent> events = new ArrayList<>();
        for (long revision = after + 1; revision <= last && events.size() < max; revision++) {
            SidecarEvent event = slots.get((int) (revision & mask));
            if (event == null || event.revision < revision) break; // not yet published
            if (event.revision > revision) return GONE; // overwritten while we read
            events.add(event);
        }
        // Still the same events: none was overwritten after it was read.
        if (claimed.get() - after > capacity()) return GONE;
        return events;
    }
}
