package org.timingsidecar.rocketmq;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.common.BoundaryType;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.attribute.TopicMessageType;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageExtBatch;
import org.apache.rocketmq.common.message.MessageExtBrokerInner;
import org.apache.rocketmq.store.DefaultMessageStore;
import org.apache.rocketmq.store.MessageStore;
import org.apache.rocketmq.store.PutMessageResult;
import org.apache.rocketmq.store.plugin.AbstractPluginMessageStore;
import org.apache.rocketmq.store.plugin.MessageStorePluginContext;
import org.apache.rocketmq.store.timer.TimerMessageStore;
import org.apache.rocketmq.store.timer.TimerMetrics;

/**
 * The broker side of timing-sidecar, loaded with {@code messageStorePlugIn=} this class. It wraps
 * the broker's message store, watches every completed put, topic delete and (by a short-period
 * diff of the topic table) topic creation, and serves them as the sidecar's broker feed.
 *
 * <p>It must never harm the broker: on the put path it only reads a few properties and appends to
 * a lock-free ring; nothing it does can throw into the broker, and its threads are its own.
 */
public class TimingSidecarMessageStore extends AbstractPluginMessageStore {
    private final PluginConfig config = new PluginConfig();
    private final EventRing ring;
    private final TopicWatcher topics;
    private final RateLimitedLog log = new RateLimitedLog();
    private FeedServer feed;
    private WebhookPusher pusher;
    private ScheduledExecutorService scanner;

    public TimingSidecarMessageStore(MessageStorePluginContext context, MessageStore next) {
        super(context, next);
        context.registerConfiguration(config);
        config.validate();
        this.ring = new EventRing(config.getTimingSidecarEventBuffer(), System.currentTimeMillis() * 1000);
        this.topics = new TopicWatcher(this::topicTable, this::record);
    }

    @Override
    public void start() throws Exception {
        super.start();
        try {
            topics.scan();
            PluginConfig.FeedAddress address = PluginConfig.FeedAddress.parse(config.getTimingSidecarFeedAddress());
            feed = new FeedServer(address, ring, new FeedServer.Broker() {
                @Override
                public Map<String, String> topics() {
                    return topicTable();
                }

                @Override
                public Map<String, Long> timingCounts() {
                    return timingCountsOfBroker();
                }
            });
            if (!config.getTimingSidecarPortFile().isEmpty()) writePortFile(feed.port());
            if (!config.getTimingSidecarWebhookUrl().isEmpty()) {
                pusher = new WebhookPusher(config.getTimingSidecarWebhookUrl(), config.getTimingSidecarSecretFile());
            }
            scanner = Executors.newSingleThreadScheduledExecutor(runnable -> {
                Thread thread = new Thread(runnable, "timing-sidecar-topic-scan");
                thread.setDaemon(true);
                return thread;
            });
            long period = config.getTimingSidecarTopicScanMs();
            scanner.scheduleWithFixedDelay(this::scanQuietly, period, period, TimeUnit.MILLISECONDS);
            RateLimitedLog.LOG.info("timing-sidecar plugin: feed on {}:{}, webhook {}, history of {} events",
                address.host(), feed.port(), config.getTimingSidecarWebhookUrl(), ring.capacity());
        } catch (Throwable e) {
            // The broker runs on without the feed: a sidecar pointed at it sees it down.
            RateLimitedLog.LOG.error("timing-sidecar plugin: cannot start its feed; the broker runs without it", e);
            stopPlugin();
        }
    }

    @Override
    public void shutdown() {
        stopPlugin();
        super.shutdown();
    }

    private void stopPlugin() {
        if (scanner != null) scanner.shutdownNow();
        if (feed != null) feed.close();
        if (pusher != null) pusher.close();
    }

    private void writePortFile(int port) throws IOException {
        Path file = Path.of(config.getTimingSidecarPortFile());
        Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(temporary, port + "\n", StandardCharsets.UTF_8);
        Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    // The put path. The timer's deliveries come through the synchronous putMessage (the escape
    // bridge); sends through asyncPutMessage; recall markers through putMessage.

    @Override
    public PutMessageResult putMessage(MessageExtBrokerInner msg) {
        PutMessageResult result = next.putMessage(msg);
        if (mayBeTiming(msg)) observe(msg, result);
        return result;
    }

    @Override
    public CompletableFuture<PutMessageResult> asyncPutMessage(MessageExtBrokerInner msg) {
        CompletableFuture<PutMessageResult> future = next.asyncPutMessage(msg);
        if (future != null && mayBeTiming(msg)) future.whenComplete((result, error) -> observe(msg, result));
        return future;
    }

    @Override
    public PutMessageResult putMessages(MessageExtBatch batch) {
        PutMessageResult result = next.putMessages(batch);
        if (mayBeTiming(batch)) observe(batch, result);
        return result;
    }

    @Override
    public CompletableFuture<PutMessageResult> asyncPutMessages(MessageExtBatch batch) {
        CompletableFuture<PutMessageResult> future = next.asyncPutMessages(batch);
        if (future != null && mayBeTiming(batch)) future.whenComplete((result, error) -> observe(batch, result));
        return future;
    }

    /**
     * Whether the put can be a timing event, looked at before or after the broker's hook rewrote
     * it: only such puts get a completion callback, so an ordinary send costs a few map lookups.
     */
    static boolean mayBeTiming(MessageExtBrokerInner msg) {
        try {
            Map<String, String> properties = msg.getProperties();
            return properties != null && (PutClassifier.TIMER_TOPIC.equals(msg.getTopic())
                || properties.containsKey(MessageConst.PROPERTY_TIMER_DELIVER_MS)
                || properties.containsKey(MessageConst.PROPERTY_TIMER_DELAY_MS)
                || properties.containsKey(MessageConst.PROPERTY_TIMER_DELAY_SEC)
                || properties.containsKey(MessageConst.PROPERTY_TIMER_OUT_MS));
        } catch (Throwable e) {
            return false;
        }
    }

    private void observe(MessageExtBrokerInner msg, PutMessageResult result) {
        try {
            if (result == null || !result.isOk()) return;
            SidecarEvent event = PutClassifier.classify(msg);
            if (event != null) ring.append(event);
        } catch (Throwable e) {
            log.warn("a put could not be classified: " + e);
        }
    }

    /** AbstractPluginMessageStore (5.3.3 to develop) leaves this overload of MessageStore out. */
    @Override
    public long getOffsetInQueueByTime(String topic, int queueId, long timestamp, BoundaryType boundaryType) {
        return next.getOffsetInQueueByTime(topic, queueId, timestamp, boundaryType);
    }

    // Topic deletes: both ways a broker drops a topic's queues.

    @Override
    public int deleteTopics(Set<String> deleteTopics) {
        try {
            return next.deleteTopics(deleteTopics);
        } finally {
            deleted(deleteTopics);
        }
    }

    @Override
    public int cleanUnusedTopic(Set<String> retainTopics) {
        try {
            return next.cleanUnusedTopic(retainTopics);
        } finally {
            try {
                deleted(topics.knownExcept(retainTopics));
            } catch (Throwable e) {
                log.warn("cleanUnusedTopic could not be followed: " + e);
            }
        }
    }

    private void deleted(Set<String> names) {
        try {
            for (String name : names) {
                topics.forget(name);
                record(SidecarEvent.topic(SidecarEvent.Type.TOPIC_DELETED, name));
            }
        } catch (Throwable e) {
            log.warn("a topic delete could not be followed: " + e);
        }
    }

    /** Appends a topic event to the feed; a deletion is also pushed to the sidecar at once. */
    private void record(SidecarEvent event) {
        if (event.topic.startsWith("rmq_sys_")) return;
        ring.append(event);
        WebhookPusher webhook = pusher;
        if (webhook != null && event.type == SidecarEvent.Type.TOPIC_DELETED) webhook.push(event);
    }

    private void scanQuietly() {
        try {
            topics.scan();
        } catch (Throwable e) {
            log.warn("the topic table scan failed: " + e);
        }
    }

    /** The broker's topic table: name to message type ("" when unspecified). */
    private Map<String, String> topicTable() {
        MessageStore store = next;
        while (store instanceof AbstractPluginMessageStore plugin) store = plugin.getNext();
        Map<String, String> table = new HashMap<>();
        if (!(store instanceof DefaultMessageStore defaultStore)) return table;
        for (Map.Entry<String, TopicConfig> entry : defaultStore.getTopicConfigs().entrySet()) {
            TopicMessageType type = entry.getValue().getTopicMessageType();
            table.put(entry.getKey(), type == null || type == TopicMessageType.UNSPECIFIED ? "" : type.getValue());
        }
        return table;
    }

    private Map<String, Long> timingCountsOfBroker() {
        Map<String, Long> counts = new HashMap<>();
        TimerMessageStore timer = next.getTimerMessageStore();
        if (timer == null || timer.getTimerMetrics() == null) return counts;
        for (Map.Entry<String, TimerMetrics.Metric> entry : timer.getTimerMetrics().getTimingCount().entrySet()) {
            counts.put(entry.getKey(), entry.getValue().getCount().get());
        }
        return counts;
    }
}
