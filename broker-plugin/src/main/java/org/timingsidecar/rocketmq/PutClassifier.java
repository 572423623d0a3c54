package org.timingsidecar.rocketmq;

import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageExtBrokerInner;

/**
 * Tells what a completed put means for timing messages, from the message as the broker stored it
 * (RocketMQ 5.x, read in rocketmq-all-5.3.3):
 * <ul>
 * <li>enqueue: HookUtils.transformTimerMessage rewrote it in place to rmq_sys_wheel_timer with
 * REAL_TOPIC and TIMER_OUT_MS (the deliver time, rounded down to timerPrecisionMs); UNIQ_KEY is
 * the message id. A deliver time already past is not rewritten: an ordinary message.</li>
 * <li>roll: TimerMessageStore re-puts a message whose delay exceeds the roll window to
 * rmq_sys_wheel_timer with TIMER_ROLL_TIMES; still pending, so nothing happens.</li>
 * <li>recall: RecallMessageProcessor puts a marker with TIMER_DEL_UNIQKEY = realTopic + "+" +
 * uniqKey (5.3.x) or, from 5.5 unless appendTopicForTimerDeleteKey is set, uniqKey alone; the
 * same hook moves it to rmq_sys_wheel_timer with REAL_TOPIC.</li>
 * <li>delivery: TimerMessageStore.convertMessage re-puts to the real topic, keeping TIMER_OUT_MS,
 * adding TIMER_DEQUEUE_MS and clearing REAL_TOPIC. A copy of a delivered message put again by
 * a consumer's send-back (RETRY_TOPIC set), the delay-level scheduler (REAL_TOPIC set) or pop
 * revive (FIRST_POP_TIME set) carries the same properties and is not a delivery.</li>
 * </ul>
 * Never throws: anything malformed is not a timing event.
 */
public final class PutClassifier {
    /** TimerMessageStore.TIMER_TOPIC. */
    static final String TIMER_TOPIC = "rmq_sys_wheel_timer";
    private static final String SYSTEM_TOPIC_PREFIX = "rmq_sys_";

    private PutClassifier() {
    }

    /** The event the put of {@code msg} stands for, or null. */
    public static SidecarEvent classify(MessageExtBrokerInner msg) {
        try {
            return classifyOrNull(msg);
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static SidecarEvent classifyOrNull(MessageExtBrokerInner msg) {
        if (msg == null || msg.getProperties() == null) return null;
        String topic = msg.getTopic();
        if (TIMER_TOPIC.equals(topic)) {
            if (msg.getProperty(MessageConst.PROPERTY_TIMER_ROLL_TIMES) != null) return null;
            String deleteKey = msg.getProperty(MessageConst.PROPERTY_TIMER_DEL_UNIQKEY);
            if (deleteKey != null) return recall(deleteKey, msg.getProperty(MessageConst.PROPERTY_REAL_TOPIC));
            return enqueue(msg);
        }
        if (topic == null || topic.startsWith(SYSTEM_TOPIC_PREFIX)) return null;
        if (msg.getProperty(MessageConst.PROPERTY_TIMER_OUT_MS) == null
            || msg.getProperty(MessageConst.PROPERTY_TIMER_DEQUEUE_MS) == null
            || msg.getProperty(MessageConst.PROPERTY_REAL_TOPIC) != null
            || msg.getProperty(MessageConst.PROPERTY_RETRY_TOPIC) != null
            || msg.getProperty(MessageConst.PROPERTY_FIRST_POP_TIME) != null) {
            return null;
        }
        String id = msg.getProperty(MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX);
        if (!validId(id)) return null;
        return new SidecarEvent(SidecarEvent.Type.TIMER_DEQUEUED, topic, id, 0);
    }

    private static SidecarEvent enqueue(MessageExtBrokerInner msg) {
        String realTopic = msg.getProperty(MessageConst.PROPERTY_REAL_TOPIC);
        String id = msg.getProperty(MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX);
        String outMs = msg.getProperty(MessageConst.PROPERTY_TIMER_OUT_MS);
        if (!validTopic(realTopic) || !validId(id) || outMs == null) return null;
        long deliverAtMs;
        try {
            deliverAtMs = Long.parseLong(outMs);
        } catch (NumberFormatException e) {
            return null;
        }
        return new SidecarEvent(SidecarEvent.Type.TIMER_ENQUEUED, realTopic, id, deliverAtMs);
    }

    /**
     * TimerMessageStore.buildDeleteKey: "topic+id", or the id alone. Neither topic names nor
     * UNIQ_KEYs hold '+', so a '+' splits; without one the topic is the marker's REAL_TOPIC.
     */
    private static SidecarEvent recall(String deleteKey, String realTopic) {
        int plus = deleteKey.indexOf('+');
        String topic = plus >= 0 ? deleteKey.substring(0, plus) : realTopic;
        String id = deleteKey.substring(plus + 1);
        if (!validTopic(topic) || !validId(id)) return null;
        return new SidecarEvent(SidecarEvent.Type.TIMER_CANCELLED, topic, id, 0);
    }

    private static boolean validTopic(String topic) {
        return topic != null && !topic.isEmpty() && !topic.startsWith(SYSTEM_TOPIC_PREFIX);
    }

    /** The sidecar takes ids of 1 to 128 bytes; UNIQ_KEYs are 32 hex digits. */
    private static boolean validId(String id) {
        return id != null && !id.isEmpty() && id.length() <= 128;
    }
}
