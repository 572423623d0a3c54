package org.timingsidecar.rocketmq;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Topic creations, which RocketMQ has no hook for: the broker's topic table is compared with the
 * last look every timingSidecarTopicScanMs. A topic that leaves the table is reported deleted
 * here too: the table loses it before the store's deleteTopics is called, so the scan may be the
 * first to see it (the sidecar takes a second deletion of a deleted topic as a no-op).
 */
final class TopicWatcher {
    private final Supplier<Map<String, String>> table;
    private final Consumer<SidecarEvent> sink;
    private final Set<String> known = new HashSet<>();
    private boolean first = true;

    TopicWatcher(Supplier<Map<String, String>> table, Consumer<SidecarEvent> sink) {
        this.table = table;
        this.sink = sink;
    }

    /** The first scan only learns the table: those topics are in every list the feed gives. */
    synchronized void scan() {
        Map<String, String> current = new HashMap<>(table.get());
        for (Map.Entry<String, String> topic : current.entrySet()) {
            if (known.add(topic.getKey()) && !first) {
                String type = topic.getValue().isEmpty() ? null : topic.getValue();
                sink.accept(new SidecarEvent(SidecarEvent.Type.TOPIC_CREATED, topic.getKey(), null, 0, type));
            }
        }
        first = false;
        known.removeIf(name -> {
            if (current.containsKey(name)) return false;
            sink.accept(SidecarEvent.topic(SidecarEvent.Type.TOPIC_DELETED, name));
            return true;
        });
    }

    /** A delete the plugin saw and reports itself: the scan must not report it again. */
    synchronized void forget(String name) {
        known.remove(name);
    }

    synchronized Set<String> knownExcept(Set<String> retain) {
        Set<String> gone = new HashSet<>(known);
        gone.removeAll(retain);
        return gone;
    }
}
