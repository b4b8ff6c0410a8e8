package io.caravan.eventlog;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.function.IntPredicate;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.stereotype.Component;

/**
 * On a cluster, each subscriber of the event log is a Kafka consumer group ({@code caravan.<subscriber>}) over the
 * log's topic, which has as many partitions as the log: Kafka's group membership gives each node its share of the
 * partitions, moves a dead or stopped node's share to the others after {@code session-timeout}, and a record the
 * relay publishes wakes the node that owns its partition. What a subscriber has done stays where it was: its cursor in
 * the database, moved in the transaction of its effect (exactly once: a processed-position check), and the group's
 * offsets are committed after - a record is only ever a wake-up, so a lost or doubled one costs a poll, never an effect.
 */
@Component
@ConditionalOnExpression("!'${caravan.event-log.kafka.bootstrap-servers:}'.isBlank()")
public class KafkaPartitions implements PartitionOwnership {

    private static final Logger log = LoggerFactory.getLogger(KafkaPartitions.class);

    private final KafkaEventLogProperties props;
    private final int partitions;

    public KafkaPartitions(KafkaEventLogProperties props, EventLog eventLog) {
        this.props = props;
        this.partitions = eventLog.partitions();
        ensureTopic(props, props.topic(), partitions);
        ensureTopic(props, props.topic() + ".relay", 1);
    }

    /**
     * Creates the topic with this many partitions, or checks the one there: a topic with another count would put a
     * contact's wake-ups on another partition than its events.
     */
    static void ensureTopic(KafkaEventLogProperties props, String topic, int count) {
        try (Admin admin = Admin.create(props.client())) {
            Optional<Short> rf = props.replicationFactor() > 0 ? Optional.of(props.replicationFactor().shortValue())
                    : Optional.empty();
            try {
                admin.createTopics(List.of(new NewTopic(topic, Optional.of(count), rf))).all().get();
                log.info("Created Kafka topic {} with {} partitions", topic, count);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw new IllegalStateException("cannot create Kafka topic " + topic + " ("
                            + e.getCause().getClass().getSimpleName() + ")", e.getCause());
                }
            }
            TopicDescription d = null;
            for (int attempt = 1; d == null; attempt++) {
                try {
                    d = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
                } catch (ExecutionException e) {
                    // created a moment ago (here or by another node starting at once): not in the metadata yet
                    if (!(e.getCause() instanceof UnknownTopicOrPartitionException) || attempt == 50) {
                        throw e;
                    }
                    Thread.sleep(200);
                }
            }
            if (d.partitions().size() != count) {
                throw new IllegalStateException("Kafka topic " + topic + " has " + d.partitions().size()
                        + " partitions, the event log " + count + " (caravan.event-log.partitions)");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted creating Kafka topic " + topic, e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("cannot describe Kafka topic " + topic + " ("
                    + e.getCause().getClass().getSimpleName() + ")", e.getCause());
        }
    }

    /** A consumer in group {@code group} on {@code topic}, its assignment kept in {@code owned}. */
    static KafkaConsumer<byte[], byte[]> consumer(KafkaEventLogProperties props, String group, String topic,
            Set<Integer> owned, String what) {
        Map<String, Object> c = props.client();
        c.put("group.id", group);
        c.put("enable.auto.commit", false);
        c.put("auto.offset.reset", "latest");
        c.put("session.timeout.ms", (int) props.sessionTimeout().toMillis());
        c.put("heartbeat.interval.ms", (int) Math.max(500, props.sessionTimeout().toMillis() / 3));
        c.put("key.deserializer", ByteArrayDeserializer.class.getName());
        c.put("value.deserializer", ByteArrayDeserializer.class.getName());
        KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c);
        consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> revoked) {
                revoked.forEach(tp -> owned.remove(tp.partition()));
                log.info("{}: {} partitions handed back, {} held", what, revoked.size(), owned.size());
            }

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> assigned) {
                assigned.forEach(tp -> owned.add(tp.partition()));
                log.info("{}: {} partitions taken, {} held", what, assigned.size(), owned.size());
            }

            @Override
            public void onPartitionsLost(Collection<TopicPartition> lost) {
                onPartitionsRevoked(lost);
            }
        });
        return consumer;
    }

    @Override
    public Lease lease(EventSubscriber subscriber) {
        Set<Integer> owned = ConcurrentHashMap.newKeySet();
        String name = subscriber.subscriberName();
        KafkaConsumer<byte[], byte[]> consumer = consumer(props, "caravan." + name, props.topic(), owned,
                "Event log subscriber " + name);
        return new Lease() {
            private boolean uncommitted;

            @Override
            public IntPredicate owned() {
                return owned::contains;
            }

            @Override
            public void next(int handled, long intervalMillis) {
                try {
                    if (uncommitted) {
                        // the poll just made read the database up to the head: every record taken so far is done.
                        // Async: the offsets are a courtesy (the cursor is the truth), not worth a wait on a broker
                        consumer.commitAsync();
                        uncommitted = false;
                    }
                    // joins the group on the first call; waits for a wake-up while idle, not while there is a backlog
                    uncommitted = !consumer.poll(Duration.ofMillis(handled > 0 ? 0 : intervalMillis)).isEmpty();
                } catch (WakeupException stopping) {
                    // stop(): the pump's loop ends
                } catch (RuntimeException e) {
                    log.warn("Event log subscriber {}: Kafka unavailable ({}); polling the partitions held",
                            name, e.getClass().getSimpleName());
                    sleep(intervalMillis);
                }
            }

            @Override
            public void wake() {
                consumer.wakeup();
            }

            @Override
            public void close() {
                try {
                    consumer.close(Duration.ofSeconds(5));
                } catch (RuntimeException e) {
                    log.warn("Event log subscriber {}: Kafka consumer closed with {}", name,
                            e.getClass().getSimpleName());
                }
            }
        };
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
