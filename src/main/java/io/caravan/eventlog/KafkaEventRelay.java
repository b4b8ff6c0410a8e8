package io.caravan.eventlog;

import io.caravan.contact.ContactStore.LoggedEvent;
import io.caravan.system.Worker;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * Publishes the event log to Kafka: an outbox relay over the log's own table, keyed by contact id, each event to the
 * partition of the same number (the log partitions by Kafka's default partitioner already, {@code LogPartitions}), in
 * the order of the log. The record is a reference - partition, position and event id, no PHI: subscribers read the
 * event from the database, where it is sealed, so the broker never stores what a patient's record says.
 *
 * <p>Chosen over Debezium: the log is already an ordered outbox with per-partition positions, and a relay in the hub
 * needs no connector cluster or logical-replication slot. It runs on one node at a time: the member of consumer group
 * {@code caravan.event-relay} that holds the single partition of {@code <topic>.relay} (Kafka's group membership, not
 * a lock of ours). At least once: a relay that dies between the broker's acknowledgement and its cursor's move
 * publishes those records again, which subscribers skip (their cursors are past them).
 */
@Component
@ConditionalOnExpression("!'${caravan.event-log.kafka.bootstrap-servers:}'.isBlank()")
public class KafkaEventRelay implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(KafkaEventRelay.class);
    /** Its cursors in {@code event_cursor}, beside the subscribers'. */
    static final String NAME = "kafka-relay";
    private static final int BATCH = 500;

    private final KafkaEventLogProperties props;
    private final EventLog eventLog;
    private final Subscriptions subscriptions;
    private final long intervalMillis;
    private volatile boolean running;
    private Worker worker;
    private volatile KafkaConsumer<byte[], byte[]> membership;

    /** {@code topics} is taken so that the topics exist (created or checked) before the relay publishes to them. */
    public KafkaEventRelay(KafkaEventLogProperties props, EventLog eventLog, Subscriptions subscriptions,
            @Value("${caravan.event-log.poll-interval:250ms}") Duration interval, KafkaPartitions topics) {
        this.props = props;
        this.eventLog = eventLog;
        this.subscriptions = subscriptions;
        this.intervalMillis = Math.max(10, interval.toMillis());
    }

    @Override
    public void start() {
        // from the heads on the first start of a cluster: what is older is in the database, read by every subscriber
        subscriptions.cursor(NAME);
        running = true;
        worker = Worker.start("caravan-event-relay", true, this::loop);
    }

    private void loop() {
        Set<Integer> leader = ConcurrentHashMap.newKeySet();
        Map<String, Object> p = props.client();
        p.put("acks", "all");
        p.put("enable.idempotence", true);
        p.put("linger.ms", 5);
        p.put("key.serializer", ByteArraySerializer.class.getName());
        p.put("value.serializer", ByteArraySerializer.class.getName());
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p);
                KafkaConsumer<byte[], byte[]> consumer = KafkaPartitions.consumer(props, "caravan.event-relay",
                        props.topic() + ".relay", leader, "Event log relay")) {
            membership = consumer;
            boolean wasLeader = false;
            while (running) {
                int n = 0;
                try {
                    consumer.poll(Duration.ofMillis(leader.isEmpty() ? intervalMillis : 0));
                    if (!leader.isEmpty()) {
                        if (!wasLeader) {
                            log.info("Event log relay: this node publishes the log to Kafka");
                        }
                        n = relay(producer);
                    }
                    wasLeader = !leader.isEmpty();
                } catch (WakeupException stopping) {
                    return;
                } catch (RuntimeException e) {
                    log.warn("Event log relay: publishing failed ({}); trying again", e.getClass().getSimpleName());
                    KafkaPartitions.sleep(intervalMillis * 4);
                }
                if (n == 0 && !leader.isEmpty() && running) {
                    KafkaPartitions.sleep(intervalMillis);
                }
            }
        } finally {
            membership = null;
        }
    }

    /** One pass over the partitions: what the log has after the relay's cursors, to the broker, then the cursors. */
    private int relay(KafkaProducer<byte[], byte[]> producer) {
        List<Long> cursors = subscriptions.cursor(NAME);
        List<Long> heads = eventLog.heads();
        int n = 0;
        for (int part = 0; part < cursors.size() && running; part++) {
            long cursor = cursors.get(part);
            if (heads.get(part) <= cursor) {
                continue;
            }
            List<LoggedEvent> events = eventLog.read(NAME, part, cursor, BATCH);
            if (events.isEmpty()) {
                continue;
            }
            List<Future<RecordMetadata>> sent = new ArrayList<>(events.size());
            for (LoggedEvent e : events) {
                byte[] value = ("{\"partition\":" + e.partition() + ",\"position\":" + e.position() + ",\"event\":\""
                        + e.id() + "\"}").getBytes(StandardCharsets.US_ASCII);
                sent.add(producer.send(new ProducerRecord<>(props.topic(), e.partition(),
                        e.contactId().toString().getBytes(StandardCharsets.US_ASCII), value)));
            }
            producer.flush();
            for (Future<RecordMetadata> f : sent) {
                try {
                    f.get(30, TimeUnit.SECONDS);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return n;
                } catch (ExecutionException | TimeoutException failed) {
                    throw new IllegalStateException("the broker did not take the records", failed.getCause());
                }
            }
            if (!subscriptions.moveCursor(NAME, part, cursor, events.get(events.size() - 1).position())) {
                // another node relays now (a rebalance in flight): it publishes from its own reading of the cursor
                return n;
            }
            n += events.size();
        }
        return n;
    }

    @Override
    public void stop() {
        running = false;
        KafkaConsumer<byte[], byte[]> c = membership;
        if (c != null) {
            c.wakeup();
        }
        if (worker != null) {
            worker.awaitExit(Duration.ofSeconds(30));
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /** With the event pump: after the contact writer, before the routes that feed it. */
    @Override
    public int getPhase() {
        return Integer.MIN_VALUE + 1100;
    }
}
