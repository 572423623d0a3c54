package org.timingsidecar.e2e;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyContext;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * The real-broker test's client, on RocketMQ's own Java client:
 * <pre>
 * send NAMESRV TOPIC COUNT MIN_DELAY_MS MAX_DELAY_MS RECALL   timing messages; recall the first RECALL
 * consume NAMESRV GROUP COUNTS_FILE TOPIC...                  count deliveries by message id, until killed
 * load NAMESRV TOPIC SECONDS THREADS OUT_FILE                  send timing messages as fast as it can
 * </pre>
 * Each prints one summary line; any failure exits nonzero with the reason.
 */
public final class Driver {
    private Driver() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) usage();
        switch (args[0]) {
            case "send" -> send(args);
            case "consume" -> consume(args);
            case "load" -> load(args);
            default -> usage();
        }
    }

    private static void usage() {
        System.err.println("usage: send|consume|load ... (see Driver.java)");
        System.exit(2);
    }

    private static DefaultMQProducer producer(String namesrv) throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer("e2e-producer-" + ProcessHandle.current().pid());
        producer.setNamesrvAddr(namesrv);
        producer.setSendMsgTimeout(15_000);
        producer.setRetryTimesWhenSendFailed(4);
        producer.start();
        return producer;
    }

    private static Message timing(String topic, long delayMs) {
        Message message = new Message(topic, ("e2e " + delayMs).getBytes(StandardCharsets.UTF_8));
        message.setDeliverTimeMs(System.currentTimeMillis() + delayMs);
        return message;
    }

    private static void send(String[] args) throws Exception {
        if (args.length != 7) usage();
        String topic = args[2];
        int count = Integer.parseInt(args[3]);
        long minDelay = Long.parseLong(args[4]);
        long maxDelay = Long.parseLong(args[5]);
        int recall = Integer.parseInt(args[6]);
        DefaultMQProducer producer = producer(args[1]);
        try {
            List<String> handles = new ArrayList<>();
            int retried = 0;
            for (int i = 0; i < count; i++) {
                long delay = minDelay + ThreadLocalRandom.current().nextLong(maxDelay - minDelay + 1);
                SendResult result = null;
                // A broker just restarted may refuse a send for a moment; each refusal is printed
                // (the tests show this output when they fail), and the fifth fails the command.
                for (int attempt = 1; result == null; attempt++) {
                    try {
                        result = producer.send(timing(topic, delay));
                        if (result.getSendStatus() != SendStatus.SEND_OK) {
                            throw new IllegalStateException("status " + result.getSendStatus());
                        }
                    } catch (Exception e) {
                        String reason = "send " + i + " to " + topic + ", attempt " + attempt + ": " + e;
                        if (attempt == 5) throw new IllegalStateException(reason, e);
                        System.err.println(reason + (e.getCause() != null ? " (cause: " + e.getCause() + ")" : ""));
                        result = null;
                        retried++;
                        Thread.sleep(2_000);
                    }
                }
                if (handles.size() < recall) {
                    if (result.getRecallHandle() == null) throw new IllegalStateException("no recall handle for " + result.getMsgId());
                    handles.add(result.getRecallHandle());
                }
            }
            for (String handle : handles) producer.recallMessage(topic, handle);
            System.out.println("sent=" + count + " recalled=" + handles.size() + " retried=" + retried);
        } finally {
            producer.shutdown();
        }
    }

    private static void consume(String[] args) throws Exception {
        if (args.length < 5) usage();
        Path countsFile = Path.of(args[3]);
        Map<String, Set<String>> seen = new ConcurrentHashMap<>();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(args[2]);
        consumer.setNamesrvAddr(args[1]);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        for (String topic : Arrays.copyOfRange(args, 4, args.length)) consumer.subscribe(topic, "*");
        consumer.registerMessageListener((List<MessageExt> messages, ConsumeConcurrentlyContext context) -> {
            for (MessageExt message : messages) {
                seen.computeIfAbsent(message.getTopic(), topic -> ConcurrentHashMap.newKeySet()).add(message.getMsgId());
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        Path temporary = countsFile.resolveSibling(countsFile.getFileName() + ".tmp");
        for (;;) {
            StringBuilder lines = new StringBuilder();
            for (Map.Entry<String, Set<String>> topic : new TreeMap<>(seen).entrySet()) {
                lines.append(topic.getKey()).append(' ').append(topic.getValue().size()).append('\n');
            }
            Files.writeString(temporary, lines, StandardCharsets.UTF_8);
            Files.move(temporary, countsFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            Thread.sleep(200);
        }
    }

    /** Writes "<epoch second> <sends completed in it>" lines, then p50/p99 latency and totals. */
    private static void load(String[] args) throws Exception {
        if (args.length != 6) usage();
        String topic = args[2];
        long seconds = Long.parseLong(args[3]);
        int threads = Integer.parseInt(args[4]);
        Path out = Path.of(args[5]);
        DefaultMQProducer producer = producer(args[1]);
        Map<Long, AtomicLong> perSecond = new ConcurrentHashMap<>();
        long[][] latencies = new long[threads][1_000_000];
        int[] used = new int[threads];
        AtomicLong failures = new AtomicLong();
        long end = System.currentTimeMillis() + seconds * 1000;
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            long[] mine = latencies[t];
            int index = t;
            Thread worker = new Thread(() -> {
                int n = 0;
                while (System.currentTimeMillis() < end && n < mine.length) {
                    long start = System.nanoTime();
                    try {
                        SendResult result = producer.send(timing(topic, 2_000 + ThreadLocalRandom.current().nextLong(13_000)));
                        if (result.getSendStatus() != SendStatus.SEND_OK) failures.incrementAndGet();
                    } catch (Exception e) {
                        failures.incrementAndGet();
                        continue;
                    }
                    mine[n++] = System.nanoTime() - start;
                    perSecond.computeIfAbsent(System.currentTimeMillis() / 1000, s -> new AtomicLong()).incrementAndGet();
                }
                used[index] = n;
            });
            workers.add(worker);
            worker.start();
        }
        for (Thread worker : workers) worker.join();
        producer.shutdown();
        List<Long> all = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            for (int i = 0; i < used[t]; i++) all.add(latencies[t][i]);
        }
        all.sort(null);
        StringBuilder lines = new StringBuilder();
        for (Map.Entry<Long, AtomicLong> second : new TreeMap<>(perSecond).entrySet()) {
            lines.append(second.getKey()).append(' ').append(second.getValue().get()).append('\n');
        }
        Files.writeString(out, lines, StandardCharsets.UTF_8);
        double p50 = all.isEmpty() ? 0 : all.get(all.size() / 2) / 1e6;
        double p99 = all.isEmpty() ? 0 : all.get((int) (all.size() * 0.99)) / 1e6;
        System.out.printf("sent=%d failed=%d p50_ms=%.2f p99_ms=%.2f%n", all.size(), failures.get(), p50, p99);
        if (failures.get() > 0) System.exit(1);
    }
}
