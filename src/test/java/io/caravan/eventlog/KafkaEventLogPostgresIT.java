package io.caravan.eventlog;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.CaravanApplication;
import io.caravan.contact.ContactStore.LoggedEvent;
import io.caravan.support.FreePorts;
import io.caravan.support.Hl7Messages;
import io.caravan.support.MllpTestClient;
import io.caravan.support.TestHub;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.kafka.test.EmbeddedKafkaKraftBroker;

/**
 * Two hubs on one PostgreSQL with the event log on Kafka (issue 17): each subscriber is a consumer group, so the two
 * nodes share a subscriber's partitions, every event is acted on exactly once by one of them, and when a node stops
 * the other takes its partitions over and nothing is missed. The relay publishes references only: no PHI in a record.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@org.junit.jupiter.api.extension.ExtendWith(org.springframework.boot.test.system.OutputCaptureExtension.class)
class KafkaEventLogPostgresIT {

    static final String MASTER_KEY = "kafka-log-master-key-" + UUID.randomUUID();
    static final String TOPIC = "caravan.it-event-log";

    final TestHub a = TestHub.namedPostgres("kafka-log-a");
    final TestHub b = TestHub.named("kafka-log-b");
    final Map<TestHub, ConfigurableApplicationContext> contexts = new HashMap<>();
    EmbeddedKafkaKraftBroker broker;
    String brokers;

    /**
     * A subscriber that records which node acted on which event, in the transaction that moves its cursor. A source of
     * these two contexts only: not a {@code @Configuration}, which the hubs of other test classes would scan.
     */
    static class RecorderConfig {
        @Bean
        EventSubscriber kafkaItRecorder(JdbcTemplate jdbc, @Value("${test.node}") String node) {
            try {
                jdbc.execute("CREATE TABLE IF NOT EXISTS kafka_it_seen (event_id UUID, node VARCHAR(8),"
                        + " partition_no INT, position BIGINT)");
            } catch (org.springframework.dao.DataIntegrityViolationException raced) {
                // the other node, starting at the same moment, created it: PostgreSQL's IF NOT EXISTS does not guard
                // against two sessions at once
            }
            return new EventSubscriber() {
                @Override
                public String subscriberName() {
                    return "kafka-it-recorder";
                }

                @Override
                public void onEvent(LoggedEvent e) {
                    jdbc.update("INSERT INTO kafka_it_seen VALUES (?, ?, ?, ?)", e.event().id(), node, e.partition(),
                            e.position());
                }
            };
        }
    }

    @BeforeAll
    void startBrokerAndTwoNodes() throws Exception {
        int port = FreePorts.next();
        broker = new EmbeddedKafkaKraftBroker(1, 1);
        broker.brokerProperty("listeners", "EXTERNAL://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:0");
        broker.brokerProperty("group.initial.rebalance.delay.ms", "0");
        broker.afterPropertiesSet();
        brokers = "127.0.0.1:" + port;
        for (TestHub hub : List.of(a, b)) {
            java.nio.file.Files.writeString(hub.dataDir.resolve("master-key"), MASTER_KEY + "\n");
        }
        CompletableFuture<Void> startA = CompletableFuture.runAsync(() -> start(a, "a"));
        CompletableFuture<Void> startB = CompletableFuture.runAsync(() -> start(b, "b"));
        startA.join();
        startB.join();
    }

    @AfterAll
    void stop() {
        contexts.values().forEach(ConfigurableApplicationContext::close);
        if (broker != null) {
            broker.destroy();
        }
    }

    @Test
    @Order(1)
    void theTwoNodesShareEachSubscribersPartitionsAndActOnEveryEventOnce(
            org.springframework.boot.test.system.CapturedOutput output) throws Exception {
        // both nodes in the recorder's group, each holding some of the 16 partitions
        Map<String, Integer> shares = settledShares("caravan.kafka-it-recorder");
        assertThat(shares).as("members of the recorder's group and their partitions").hasSize(2);
        assertThat(shares.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(16);

        register(a, "KA", 15);
        register(b, "KB", 15);
        Map<String, Long> byNode = awaitAllSeenOnce(Duration.ofSeconds(60));
        assertThat(byNode.keySet()).as("nodes that acted on events").containsExactlyInAnyOrder("a", "b");

        // the workflow engine reads its trigger events as a consumer group too, over both nodes, and keeps up
        Map<String, Integer> workflow = settledShares("caravan.workflow");
        assertThat(workflow).as("members of the workflow engine's group").hasSize(2);
        assertThat(workflow.values()).as("partitions per member").allMatch(n -> n > 0);
        assertThat(workflow.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(16);
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() ->
                count("SELECT COALESCE(SUM(position), 0) FROM event_cursor WHERE subscriber = 'workflow'")
                        == count("SELECT COALESCE(SUM(last_position), 0) FROM event_log_head"));
        // both nodes advance due journeys (their ticks, the engine's consumers): when two take the same step, one
        // commits it and the other finds it taken - no failure, no journey pushed back a minute
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() ->
                count("SELECT COUNT(*) FROM journey WHERE status = 'active' AND next_at <= CURRENT_TIMESTAMP") == 0);
        assertThat(output.getAll()).doesNotContain("failed at a step");
    }

    @Test
    @Order(2)
    void theRelayPublishesEachEventToItsPartitionAsAReferenceWithoutPhi() throws Exception {
        List<ConsumerRecord<String, String>> records = topic(count("SELECT COUNT(*) FROM trigger_event"));
        Pattern reference = Pattern.compile("\\{\"partition\":(\\d+),\"position\":(\\d+),\"event\":\"[0-9a-f-]{36}\"}");
        try (Connection c = DriverManager.getConnection(a.jdbcUrl); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT id, contact_id, log_partition FROM trigger_event")) {
            int n = 0;
            while (rs.next()) {
                n++;
                String id = rs.getString(1);
                List<ConsumerRecord<String, String>> mine = records.stream().filter(r -> r.value().contains(id))
                        .toList();
                assertThat(mine).as("records of event %s", id).isNotEmpty();
                for (ConsumerRecord<String, String> r : mine) {
                    assertThat(r.key()).isEqualTo(rs.getString(2));
                    assertThat(r.partition()).isEqualTo(rs.getInt(3));
                    assertThat(reference.matcher(r.value()).matches()).as(r.value()).isTrue();
                    assertThat(r.headers().toArray()).isEmpty();
                }
            }
            assertThat(n).isGreaterThanOrEqualTo(30);
        }
    }

    @Test
    @Order(3)
    void aStoppedNodesPartitionsAreTakenOverAndNothingIsMissed() throws Exception {
        contexts.remove(a).close();
        long before = count("SELECT COUNT(*) FROM kafka_it_seen WHERE node = 'b'");
        register(b, "KC", 10);
        Map<String, Long> byNode = awaitAllSeenOnce(Duration.ofSeconds(30));
        assertThat(byNode.get("b") - before).as("events b acted on after a stopped").isGreaterThanOrEqualTo(10);
        assertThat(shares("caravan.kafka-it-recorder").values()).containsExactly(16);
    }

    /** Every logged event seen by the recorder exactly once; returns how many each node acted on. */
    private Map<String, Long> awaitAllSeenOnce(Duration within) throws Exception {
        long deadline = System.nanoTime() + within.toNanos();
        long events = count("SELECT COUNT(*) FROM trigger_event");
        while (System.nanoTime() < deadline && count("SELECT COUNT(DISTINCT event_id) FROM kafka_it_seen") < events) {
            Thread.sleep(100);
        }
        assertThat(count("SELECT COUNT(DISTINCT event_id) FROM kafka_it_seen")).as("events acted on")
                .isEqualTo(events);
        assertThat(count("SELECT COUNT(*) FROM kafka_it_seen")).as("acts, counting repeats").isEqualTo(events);
        Map<String, Long> byNode = new HashMap<>();
        try (Connection c = DriverManager.getConnection(a.jdbcUrl); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT node, COUNT(*) FROM kafka_it_seen GROUP BY node")) {
            while (rs.next()) {
                byNode.put(rs.getString(1), rs.getLong(2));
            }
        }
        return byNode;
    }

    /**
     * The group's members and their partition counts once both nodes hold some (or as they are after 60 s): read once,
     * a group caught in a rebalance - a member's session renewed under load - shows its members holding none.
     */
    private Map<String, Integer> settledShares(String group) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        Map<String, Integer> shares = Map.of();
        while (System.nanoTime() < deadline) {
            shares = shares(group);
            if (shares.size() == 2 && shares.values().stream().allMatch(n -> n > 0)) {
                break;
            }
            Thread.sleep(200);
        }
        return shares;
    }

    private Map<String, Integer> shares(String group) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", brokers))) {
            ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
            Map<String, Integer> m = new HashMap<>();
            for (MemberDescription member : d.members()) {
                m.put(member.consumerId(), member.assignment().topicPartitions().size());
            }
            return m;
        }
    }

    private List<ConsumerRecord<String, String>> topic(long atLeast) {
        Properties p = new Properties();
        p.put("bootstrap.servers", brokers);
        p.put("key.deserializer", StringDeserializer.class.getName());
        p.put("value.deserializer", StringDeserializer.class.getName());
        List<ConsumerRecord<String, String>> out = new ArrayList<>();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
            List<TopicPartition> parts = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                parts.add(new TopicPartition(TOPIC, i));
            }
            c.assign(parts);
            c.seekToBeginning(parts);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (out.size() < atLeast && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }

    private long count(String sql) throws Exception {
        return io.caravan.support.PostgresSupport.count(a.jdbcUrl, sql);
    }

    private void register(TestHub hub, String prefix, int n) throws Exception {
        try (MllpTestClient c = new MllpTestClient(hub.mllpPort)) {
            for (int i = 0; i < n; i++) {
                String mrn = prefix + System.nanoTime() % 1_000_000_000L;
                assertThat(MllpTestClient.msa1(c.exchange(Hl7Messages.a04(Hl7Messages.controlId(), mrn,
                        "Fam" + prefix, "Given", "p" + mrn.toLowerCase() + "@example.org"), 10_000))).isEqualTo("AA");
            }
        }
    }

    private void start(TestHub hub, String node) {
        Map<String, Object> props = hub.nodeOf(a, "caravan-kafka-" + node);
        props.put("caravan.event-log.kafka.bootstrap-servers", brokers);
        props.put("caravan.event-log.kafka.topic", TOPIC);
        props.put("caravan.event-log.kafka.session-timeout", "6s");
        props.put("caravan.event-log.poll-interval", "100ms");
        props.put("test.node", node);
        ConfigurableApplicationContext context = new SpringApplicationBuilder(CaravanApplication.class,
                RecorderConfig.class).run(TestHub.args(props));
        synchronized (contexts) {
            contexts.put(hub, context);
        }
    }
}
