package org.timingsidecar.rocketmq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.rocketmq.common.message.MessageAccessor;
import org.apache.rocketmq.common.message.MessageClientIDSetter;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageExtBrokerInner;
import org.apache.rocketmq.store.timer.TimerMessageStore;
import org.junit.jupiter.api.Test;

/**
 * The classifier on RocketMQ's own message objects, each built the way the broker leaves it after
 * the put (HookUtils.transformTimerMessage, TimerMessageStore.convert/convertMessage,
 * RecallMessageProcessor.buildMessage, AbstractSendMessageProcessor's send-back,
 * PopReviveService.reviveRetry in rocketmq-all-5.3.3).
 */
class PutClassifierTest {
    private static final long DELIVER_AT = 1_900_000_000_000L;

    /** A message as a producer sends it, with the client's unique id. */
    private static MessageExtBrokerInner sent(String topic) {
        MessageExtBrokerInner msg = new MessageExtBrokerInner();
        msg.setTopic(topic);
        msg.setQueueId(3);
        msg.setBody("hello".getBytes());
        MessageClientIDSetter.setUniqID(msg);
        return msg;
    }

    /** What the broker's schedule hook makes of a timer message (topic rewritten in place). */
    private static MessageExtBrokerInner enqueued(String topic) {
        MessageExtBrokerInner msg = sent(topic);
        MessageAccessor.putProperty(msg, MessageConst.PROPERTY_TIMER_DELIVER_MS, String.valueOf(DELIVER_AT + 1));
        MessageAccessor.putProperty(msg, MessageConst.PROPERTY_TIMER_OUT_MS, String.valueOf(DELIVER_AT));
        MessageAccessor.putProperty(msg, MessageConst.PROPERTY_REAL_TOPIC, topic);
        MessageAccessor.putProperty(msg, MessageConst.PROPERTY_REAL_QUEUE_ID, "3");
        msg.setTopic(TimerMessageStore.TIMER_TOPIC);
        msg.setQueueId(0);
        return msg;
    }

    /** What TimerMessageStore.convertMessage re-puts when the message is due (not a roll). */
    private static MessageExtBrokerInner delivered(MessageExtBrokerInner enqueued) {
        MessageExtBrokerInner msg = new MessageExtBrokerInner();
        MessageAccessor.setProperties(msg, MessageAccessor.deepCopyProperties(enqueued.getProperties()));
        MessageAccessor.putProperty(msg, MessageConst.PROPERTY_TIMER_ENQUEUE_MS, String.valueOf(DELIVER_AT - 5000));
        MessageAccessor.putProperty(msg, MessageConst.PROPERTY_TIMER_DEQUEUE_MS, String.valueOf(DELIVER_AT + 3));
        msg.setTopic(msg.getProperty(MessageConst.PROPERTY_REAL_TOPIC));
        msg.setQueueId(Integer.parseInt(msg.getProperty(MessageConst.PROPERTY_REAL_QUEUE_ID)));
        MessageAccessor.clearProperty(msg, MessageConst.PROPERTY_REAL_TOPIC);
        MessageAccessor.clearProperty(msg, MessageConst.PROPERTY_REAL_QUEUE_ID);
        return msg;
    }

    @Test
    void timerEnqueueGivesTheRealTopicTheIdAndTheDeliverTime() {
        MessageExtBrokerInner msg = enqueued("orders");
        assertTrue(TimingSidecarMessageStore.mayBeTiming(msg));
        SidecarEvent event = PutClassifier.classify(msg);
        assertNotNull(event);
        assertEquals(SidecarEvent.Type.TIMER_ENQUEUED, event.type);
        assertEquals("orders", event.topic);
        assertEquals(MessageClientIDSetter.getUniqID(msg), event.id);
        assertEquals(DELIVER_AT, event.deliverAtMs);
    }

    @Test
    void aRollIsStillPendingAndChangesNothing() {
        MessageExtBrokerInner enqueued = enqueued("orders");
        // convertMessage(needRoll=true) keeps the timer topic and REAL_TOPIC, adds TIMER_ROLL_TIMES.
        MessageExtBrokerInner roll = new MessageExtBrokerInner();
        MessageAccessor.setProperties(roll, MessageAccessor.deepCopyProperties(enqueued.getProperties()));
        MessageAccessor.putProperty(roll, MessageConst.PROPERTY_TIMER_ROLL_TIMES, "1");
        MessageAccessor.putProperty(roll, MessageConst.PROPERTY_TIMER_DEQUEUE_MS, String.valueOf(DELIVER_AT - 1000));
        roll.setTopic(enqueued.getTopic());
        assertTrue(TimingSidecarMessageStore.mayBeTiming(roll));
        assertNull(PutClassifier.classify(roll));
    }

    @Test
    void aDeliveryIsTheReputToTheRealTopic() {
        MessageExtBrokerInner enqueued = enqueued("orders");
        MessageExtBrokerInner msg = delivered(enqueued);
        assertTrue(TimingSidecarMessageStore.mayBeTiming(msg));
        SidecarEvent event = PutClassifier.classify(msg);
        assertNotNull(event);
        assertEquals(SidecarEvent.Type.TIMER_DEQUEUED, event.type);
        assertEquals("orders", event.topic);
        assertEquals(MessageClientIDSetter.getUniqID(enqueued), event.id);
    }

    @Test
    void aDeliveryAfterRollsIsStillADelivery() {
        MessageExtBrokerInner enqueued = enqueued("orders");
        MessageAccessor.putProperty(enqueued, MessageConst.PROPERTY_TIMER_ROLL_TIMES, "2");
        SidecarEvent event = PutClassifier.classify(delivered(enqueued));
        assertNotNull(event);
        assertEquals(SidecarEvent.Type.TIMER_DEQUEUED, event.type);
    }

    @Test
    void aRecallMarkerCancelsTheMessageItNames() {
        String id = MessageClientIDSetter.createUniqID();
        // RecallMessageProcessor.buildMessage, then the same schedule hook as any timer message.
        MessageExtBrokerInner marker = sent("orders");
        MessageAccessor.putProperty(marker, MessageConst.PROPERTY_TIMER_DEL_UNIQKEY, TimerMessageStore.buildDeleteKey("orders", id));
        MessageAccessor.putProperty(marker, MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, id);
        MessageAccessor.putProperty(marker, MessageConst.PROPERTY_TIMER_OUT_MS, String.valueOf(DELIVER_AT));
        MessageAccessor.putProperty(marker, MessageConst.PROPERTY_REAL_TOPIC, "orders");
        marker.setTopic(TimerMessageStore.TIMER_TOPIC);
        SidecarEvent event = PutClassifier.classify(marker);
        assertNotNull(event);
        assertEquals(SidecarEvent.Type.TIMER_CANCELLED, event.type);
        assertEquals("orders", event.topic);
        assertEquals(id, event.id);
    }

    @Test
    void aRecallMarkerWithTheIdAloneCancelsOnItsRealTopic() {
        // 5.5: buildDeleteKey(topic, id, appendTopicForTimerDeleteKey=false) is the id alone.
        String id = MessageClientIDSetter.createUniqID();
        MessageExtBrokerInner marker = sent("orders");
        MessageAccessor.putProperty(marker, MessageConst.PROPERTY_TIMER_DEL_UNIQKEY, id);
        MessageAccessor.putProperty(marker, MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, id);
        MessageAccessor.putProperty(marker, MessageConst.PROPERTY_TIMER_OUT_MS, String.valueOf(DELIVER_AT));
        MessageAccessor.putProperty(marker, MessageConst.PROPERTY_REAL_TOPIC, "orders");
        marker.setTopic(TimerMessageStore.TIMER_TOPIC);
        SidecarEvent event = PutClassifier.classify(marker);
        assertNotNull(event);
        assertEquals(SidecarEvent.Type.TIMER_CANCELLED, event.type);
        assertEquals("orders", event.topic);
        assertEquals(id, event.id);
    }

    @Test
    void aRolledRecallMarkerChangesNothing() {
        MessageExtBrokerInner marker = enqueued("orders");
        MessageAccessor.putProperty(marker, MessageConst.PROPERTY_TIMER_DEL_UNIQKEY,
            TimerMessageStore.buildDeleteKey("orders", MessageClientIDSetter.getUniqID(marker)));
        MessageAccessor.putProperty(marker, MessageConst.PROPERTY_TIMER_ROLL_TIMES, "1");
        assertNull(PutClassifier.classify(marker));
    }

    @Test
    void anOrdinaryMessageIsNotATimingEvent() {
        MessageExtBrokerInner msg = sent("orders");
        assertFalse(TimingSidecarMessageStore.mayBeTiming(msg));
        assertNull(PutClassifier.classify(msg));
    }

    @Test
    void aDeliverTimeAlreadyPastIsStoredAsAnOrdinaryMessage() {
        // transformTimerMessage leaves it untouched: real topic, only TIMER_DELIVER_MS.
        MessageExtBrokerInner msg = sent("orders");
        msg.setDeliverTimeMs(System.currentTimeMillis() - 60_000);
        assertTrue(TimingSidecarMessageStore.mayBeTiming(msg));
        assertNull(PutClassifier.classify(msg));
    }

    @Test
    void retryTopicsAreUsersTopics() {
        SidecarEvent enqueue = PutClassifier.classify(enqueued("%RETRY%billing"));
        assertNotNull(enqueue);
        assertEquals("%RETRY%billing", enqueue.topic);
        SidecarEvent delivery = PutClassifier.classify(delivered(enqueued("%RETRY%billing")));
        assertNotNull(delivery);
        assertEquals(SidecarEvent.Type.TIMER_DEQUEUED, delivery.type);
        assertEquals("%RETRY%billing", delivery.topic);
    }

    @Test
    void aDeliveredMessageSentBackForRetryIsNotASecondDelivery() {
        // The consumer's send-back copies the delivered message's properties and sets RETRY_TOPIC.
        MessageExtBrokerInner sentBack = delivered(enqueued("orders"));
        MessageAccessor.putProperty(sentBack, MessageConst.PROPERTY_RETRY_TOPIC, "orders");
        sentBack.setTopic("%DLQ%billing");
        assertNull(PutClassifier.classify(sentBack));
        // ... and the delay-level scheduler re-puts it with REAL_TOPIC still set.
        MessageExtBrokerInner scheduled = delivered(enqueued("orders"));
        MessageAccessor.putProperty(scheduled, MessageConst.PROPERTY_REAL_TOPIC, "%RETRY%billing");
        scheduled.setTopic("%RETRY%billing");
        assertNull(PutClassifier.classify(scheduled));
        // Pop revive copies every property of the delivered message and adds 1ST_POP_TIME.
        MessageExtBrokerInner revived = delivered(enqueued("orders"));
        MessageAccessor.putProperty(revived, MessageConst.PROPERTY_FIRST_POP_TIME, "1");
        revived.setTopic("%RETRY%billing_orders");
        assertNull(PutClassifier.classify(revived));
    }

    @Test
    void systemTopicsAreLeftToTheBroker() {
        assertNull(PutClassifier.classify(enqueued("rmq_sys_REVIVE_LOG_DefaultCluster")));
        MessageExtBrokerInner delivery = delivered(enqueued("orders"));
        delivery.setTopic("rmq_sys_REVIVE_LOG_DefaultCluster");
        assertNull(PutClassifier.classify(delivery));
    }

    @Test
    void malformedTimerPropertiesAreNotEvents() {
        MessageExtBrokerInner badTime = enqueued("orders");
        MessageAccessor.putProperty(badTime, MessageConst.PROPERTY_TIMER_OUT_MS, "soon");
        assertNull(PutClassifier.classify(badTime));
        MessageExtBrokerInner noId = enqueued("orders");
        MessageAccessor.clearProperty(noId, MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX);
        assertNull(PutClassifier.classify(noId));
        MessageExtBrokerInner badKey = enqueued("orders");
        MessageAccessor.putProperty(badKey, MessageConst.PROPERTY_TIMER_DEL_UNIQKEY, "+");
        assertNull(PutClassifier.classify(badKey));
        MessageExtBrokerInner noTopic = enqueued("orders");
        MessageAccessor.putProperty(noTopic, MessageConst.PROPERTY_TIMER_DEL_UNIQKEY, "ABC");
        MessageAccessor.clearProperty(noTopic, MessageConst.PROPERTY_REAL_TOPIC);
        assertNull(PutClassifier.classify(noTopic));
        assertNull(PutClassifier.classify(null));
    }

    @Test
    void eventsAreWrittenInTheSidecarsFormat() {
        SidecarEvent event = new SidecarEvent(SidecarEvent.Type.TIMER_ENQUEUED, "orders", "AB\"C", 42);
        event.revision = 7;
        assertEquals("{\"type\":\"timer.enqueued\",\"topic\":\"orders\",\"id\":\"AB\\\"C\",\"deliverAtMs\":42,\"revision\":7}",
            event.toString());
        SidecarEvent created = new SidecarEvent(SidecarEvent.Type.TOPIC_CREATED, "orders", null, 0, "DELAY");
        created.revision = 8;
        assertEquals("{\"type\":\"topic.created\",\"topic\":\"orders\",\"messageType\":\"DELAY\",\"revision\":8}",
            created.toString());
    }
}
