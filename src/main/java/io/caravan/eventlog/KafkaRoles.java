package io.caravan.eventlog;

import io.caravan.system.Worker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.stereotype.Component;

/**
 * Long-held roles that one node of the cluster holds at a time (the SMPP bind), through Kafka's group membership as
 * {@link KafkaEventRelay} holds the relay: a role is the one partition of the topic {@code <topic>.role.<name>}, and
 * the member of consumer group {@code caravan.role.<name>} that Kafka assigns it holds the role. When the holder stops
 * it hands the partition back at once; when it dies, Kafka gives it to another member after
 * {@code caravan.event-log.kafka.session-timeout}. Nothing of our own decides: no lock, no election.
 *
 * <p>A node that loses its connection to the broker learns that it lost the role only when its session runs out,
 * while the broker may have given it to another node a moment before: a role is for work where a short overlap costs a
 * retry (two binds for a moment), never for exactly-once effects, which stay in the database's transactions.
 */
@Component
@ConditionalOnExpression("!'${caravan.event-log.kafka.bootstrap-servers:}'.isBlank()")
public class KafkaRoles {

    private static final Logger log = LoggerFactory.getLogger(KafkaRoles.class);

    private final KafkaEventLogProperties props;
    /** This node among the roles' members (the client id's suffix): what {@code GET /api/cluster} names a holder by. */
    private final String node = UUID.randomUUID().toString().substring(0, 8);
    private final Map<String, Role> roles = new ConcurrentHashMap<>();

    public KafkaRoles(KafkaEventLogProperties props) {
        this.props = props;
    }

    /** One role as this node takes part in it. */
    public final class Role implements AutoCloseable {
        private final String name;
        private final Set<Integer> held = ConcurrentHashMap.newKeySet();
        private final Consumer<Boolean> onChange;
        private volatile boolean running = true;
        private volatile KafkaConsumer<byte[], byte[]> consumer;
        private final Worker worker;

        private Role(String name, Consumer<Boolean> onChange) {
            this.name = name;
            this.onChange = onChange;
            KafkaPartitions.ensureTopic(props, topic(name), 1);
            this.worker = Worker.start("caravan-role-" + name, true, this::loop);
        }

        /** Whether this node holds the role now. */
        public boolean held() {
            return !held.isEmpty();
        }

        private void loop() {
            boolean was = false;
            while (running) {
                try (KafkaConsumer<byte[], byte[]> c = consumer()) {
                    consumer = c;
                    while (running) {
                        // the poll keeps the membership (heartbeats, rebalances); the topic carries no records
                        c.poll(Duration.ofMillis(200));
                        boolean now = held();
                        if (now != was) {
                            was = now;
                            log.info("Role {}: {} on this node", name, now ? "taken" : "handed back");
                            onChange.accept(now);
                        }
                    }
                } catch (WakeupException stopping) {
                    break;
                } catch (RuntimeException e) {
                    log.warn("Role {}: membership failed ({}); joining again", name, e.getClass().getSimpleName());
                    held.clear();
                    if (was) {
                        was = false;
                        onChange.accept(false);
                    }
                    KafkaPartitions.sleep(1000);
                } finally {
                    consumer = null;
                }
            }
            if (was) {
                held.clear();
                onChange.accept(false);
            }
        }

        /** A member of the role's group, named by this node (KafkaPartitions' consumers let Kafka name them). */
        private KafkaConsumer<byte[], byte[]> consumer() {
            Map<String, Object> c = props.client();
            c.put("client.id", "caravan-role-" + name + "-" + node);
            c.put("group.id", group(name));
            c.put("enable.auto.commit", false);
            c.put("auto.offset.reset", "latest");
            c.put("session.timeout.ms", (int) props.sessionTimeout().toMillis());
            c.put("heartbeat.interval.ms", (int) Math.max(500, props.sessionTimeout().toMillis() / 3));
            c.put("key.deserializer", ByteArrayDeserializer.class.getName());
            c.put("value.deserializer", ByteArrayDeserializer.class.getName());
            KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c);
            consumer.subscribe(List.of(topic(name)), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> revoked) {
                    revoked.forEach(tp -> held.remove(tp.partition()));
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> assigned) {
                    assigned.forEach(tp -> held.add(tp.partition()));
                }

                @Override
                public void onPartitionsLost(Collection<TopicPartition> lost) {
                    onPartitionsRevoked(lost);
                }
            });
            return consumer;
        }

        /** Leaves the group: the role goes to another member at once. */
        @Override
        public void close() {
            running = false;
            KafkaConsumer<byte[], byte[]> c = consumer;
            if (c != null) {
                c.wakeup();
            }
            worker.awaitExit(Duration.ofSeconds(30));
            roles.remove(name, this);
        }
    }

    /** Takes part in the role {@code name}; {@code onChange} hears (on the role's thread) when this node takes or loses it. */
    public Role join(String name, Consumer<Boolean> onChange) {
        Role r = new Role(name, onChange);
        roles.put(name, r);
        return r;
    }

    /**
     * Each role this node takes part in: its name, whether this node holds it, and the holder as the group's
     * member holding the partition (its client id), null while none does. Ids only.
     */
    public List<Map<String, Object>> describe() {
        List<Map<String, Object>> out = new ArrayList<>();
        if (roles.isEmpty()) {
            return out;
        }
        Map<String, String> holders = new LinkedHashMap<>();
        try (Admin admin = Admin.create(props.client())) {
            List<String> groups = roles.keySet().stream().map(KafkaRoles::group).toList();
            Map<String, ConsumerGroupDescription> d = admin.describeConsumerGroups(groups).all()
                    .get(10, java.util.concurrent.TimeUnit.SECONDS);
            for (String name : roles.keySet()) {
                ConsumerGroupDescription g = d.get(group(name));
                if (g != null) {
                    for (MemberDescription m : g.members()) {
                        if (!m.assignment().topicPartitions().isEmpty()) {
                            holders.put(name, m.clientId());
                        }
                    }
                }
            }
        } catch (Exception e) {
            // the broker is away: each node still says whether it holds a role
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
        }
        for (Map.Entry<String, Role> r : roles.entrySet()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", "kafka/" + r.getKey());
            m.put("heldHere", r.getValue().held());
            m.put("runningOn", holders.get(r.getKey()));
            out.add(m);
        }
        return out;
    }

    /** This node's suffix in the roles' client ids. */
    public String node() {
        return node;
    }

    private String topic(String name) {
        return props.topic() + ".role." + name;
    }

    private static String group(String name) {
        return "caravan.role." + name;
    }
}
