package org.timingsidecar.rocketmq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class EventRingTest {
    private static SidecarEvent event(int n) {
        return new SidecarEvent(SidecarEvent.Type.TIMER_DEQUEUED, "t", "id" + n, 0);
    }

    @Test
    void readsInOrderFromAfter() {
        EventRing ring = new EventRing(1024, 1000);
        for (int i = 0; i < 5; i++) ring.append(event(i));
        assertEquals(1005, ring.published());
        List<SidecarEvent> events = ring.read(1002, 100);
        assertEquals(3, events.size());
        assertEquals(1003, events.get(0).revision());
        assertEquals("id2", events.get(0).id);
        assertTrue(ring.read(1005, 100).isEmpty());
        assertEquals(2, ring.read(1000, 2).size());
    }

    @Test
    void aPositionBeforeTheStartOrAheadOfTheCounterIsGone() {
        EventRing ring = new EventRing(1024, 1000);
        ring.append(event(0));
        assertSame(EventRing.GONE, ring.read(0, 100));
        assertSame(EventRing.GONE, ring.read(999, 100));
        assertSame(EventRing.GONE, ring.read(1002, 100));
        assertEquals(1, ring.read(1000, 100).size());
    }

    @Test
    void anOverflowMakesTheOverwrittenHistoryGone() {
        EventRing ring = new EventRing(1024, 0);
        for (int i = 0; i < 1024 + 10; i++) ring.append(event(i));
        assertSame(EventRing.GONE, ring.read(0, 100));
        assertSame(EventRing.GONE, ring.read(9, 100));
        assertEquals(1024, ring.read(10, 2000).size());
        assertEquals(1034, ring.published());
    }

    @Test
    void concurrentAppendsAreAllPublishedWithDistinctRevisions() throws InterruptedException {
        EventRing ring = new EventRing(1 << 16, 0);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            Thread thread = new Thread(() -> {
                for (int i = 0; i < 10_000; i++) ring.append(event(i));
            });
            threads.add(thread);
            thread.start();
        }
        for (Thread thread : threads) thread.join();
        assertEquals(40_000, ring.published());
        List<SidecarEvent> events = ring.read(0, 50_000);
        assertEquals(40_000, events.size());
        for (int i = 0; i < events.size(); i++) assertEquals(i + 1, events.get(i).revision());
    }
}
