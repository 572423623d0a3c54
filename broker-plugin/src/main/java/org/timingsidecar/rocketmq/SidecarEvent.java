package org.timingsidecar.rocketmq;

/**
 * One event of the sidecar's contract (README "Events"). The id strings are the broker's own
 * property values, referenced rather than copied, so an event costs one small object.
 */
public final class SidecarEvent {
    public enum Type {
        TOPIC_CREATED("topic.created"),
        TOPIC_DELETED("topic.deleted"),
        TIMER_ENQUEUED("timer.enqueued"),
        TIMER_DEQUEUED("timer.dequeued"),
        TIMER_CANCELLED("timer.cancelled");

        final String wireName;

        Type(String wireName) {
            this.wireName = wireName;
        }
    }

    public final Type type;
    public final String topic;
    /** The message's UNIQ_KEY; null for topic events. */
    public final String id;
    /** Epoch milliseconds; only for TIMER_ENQUEUED. */
    public final long deliverAtMs;
    /** The topic's message type for TOPIC_CREATED, when the broker knows it; else null. */
    public final String messageType;
    /** Set once, by {@link EventRing#append}, before the event is published. */
    long revision;

    SidecarEvent(Type type, String topic, String id, long deliverAtMs, String messageType) {
        this.type = type;
        this.topic = topic;
        this.id = id;
        this.deliverAtMs = deliverAtMs;
        this.messageType = messageType;
    }

    SidecarEvent(Type type, String topic, String id, long deliverAtMs) {
        this(type, topic, id, deliverAtMs, null);
    }

    static SidecarEvent topic(Type type, String topic) {
        return new SidecarEvent(type, topic, null, 0);
    }

    public long revision() {
        return revision;
    }

    /** Appends this event as the sidecar's JSON object. */
    void writeJson(StringBuilder out) {
        out.append("{\"type\":\"").append(type.wireName).append("\",\"topic\":");
        Json.string(out, topic);
        if (id != null) {
            out.append(",\"id\":");
            Json.string(out, id);
        }
        if (type == Type.TIMER_ENQUEUED) out.append(",\"deliverAtMs\":").append(deliverAtMs);
        if (messageType != null) {
            out.append(",\"messageType\":");
            Json.string(out, messageType);
        }
        out.append(",\"revision\":").append(revision).append('}');
    }

    @Override
    public String toString() {
        StringBuilder out = new StringBuilder();
        writeJson(out);
        return out.toString();
    }
}
