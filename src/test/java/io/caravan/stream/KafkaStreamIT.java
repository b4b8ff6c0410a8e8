package io.caravan.stream;

import static io.caravan.support.HubApi.JSON;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.caravan.support.HubApi;
import io.caravan.support.Hl7Messages;
import io.caravan.support.MllpTestClient;
import io.caravan.support.TestHub;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.kafka.test.EmbeddedKafkaKraftBroker;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * A Kafka destination against spring-kafka-test's embedded KRaft broker: records keyed by the contact's surrogate,
 * the event id in the payload, no record headers, each contact's events in order; the broker stopped mid-stream and
 * started again: nothing lost, still in order per contact, a duplicate only as a resend with the same event id.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@DirtiesContext
class KafkaStreamIT {

    static final TestHub HUB = TestHub.named("stream-kafka");
    static final String TOPIC = "caravan-events";
    static final int PORT;
    static EmbeddedKafkaKraftBroker broker;
    static final Path ADAPTERS;

    static {
        PORT = io.caravan.support.FreePorts.next();
        broker = start();
        try {
            ADAPTERS = Files.createTempDirectory("caravan-kafka-adapters");
            Files.writeString(ADAPTERS.resolve("analytics.yaml"), """
                    id: analytics
                    kind: kafka
                    baa: { status: none }
                    kafka: { bootstrapServers: "127.0.0.1:%d", topic: %s }
                    stream:
                      events: [patient.registered, patient.updated]
                    """.formatted(PORT, TOPIC));
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    static EmbeddedKafkaKraftBroker start() {
        EmbeddedKafkaKraftBroker b = new EmbeddedKafkaKraftBroker(1, 3, TOPIC);
        // kafkaPorts() is not honoured by the KRaft broker: the listener is set instead, so a restart comes back on
        // the port the hub knows
        b.brokerProperty("listeners", "EXTERNAL://127.0.0.1:" + PORT + ",CONTROLLER://127.0.0.1:0");
        // the hub's producer, retrying through the restart, would otherwise create the topic (with the broker's
        // defaults) before this broker's own creation of it, which then fails: TopicExistsException
        b.brokerProperty("auto.create.topics.enable", "false");
        b.afterPropertiesSet();
        return b;
    }

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        HUB.register(r);
        r.add("caravan.mapping.adapters-dir", ADAPTERS::toString);
        r.add("caravan.event-log.poll-interval", () -> "50ms");
        r.add("caravan.streams.kafka.poll-interval", () -> "50");
        r.add("caravan.streams.webhook.retry-initial", () -> "200ms");
        r.add("caravan.streams.webhook.retry-max-interval", () -> "1s");
    }

    @AfterAll
    static void stop() {
        if (broker != null) {
            broker.destroy();
        }
    }

    @Autowired
    TestRestTemplate rest;
    @Autowired
    Surrogates surrogates;

    void send(String hl7) throws Exception {
        try (MllpTestClient c = new MllpTestClient(HUB.mllpPort)) {
            assertThat(MllpTestClient.msa1(c.exchange(hl7, 10_000))).isEqualTo("AA");
        }
    }

    /** Registers a patient and sends an update for them; returns the contact id. */
    UUID registeredAndUpdated(String mrn, String family) throws Exception {
        UUID id = HubApi.register(HUB, rest, mrn, family, "Kay", mrn.toLowerCase() + "@example.org", "");
        send(Hl7Messages.adt("A08", Hl7Messages.controlId(), mrn, family, "Kay", mrn.toLowerCase() + "@example.org",
                OffsetDateTime.parse("2026-03-02T09:00:00-05:00")));
        return id;
    }

    /** Every record on the topic now, read as a read_committed consumer from the beginning. */
    static List<ConsumerRecord<String, byte[]>> readAll(int atLeast) {
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:" + PORT);
        cfg.put(ConsumerConfig.GROUP_ID_CONFIG, "test-" + UUID.randomUUID());
        cfg.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        cfg.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(cfg, new StringDeserializer(),
                new ByteArrayDeserializer())) {
            c.subscribe(List.of(TOPIC));
            long until = System.currentTimeMillis() + 30_000;
            while (out.size() < atLeast && System.currentTimeMillis() < until) {
                c.poll(Duration.ofMillis(500)).forEach(out::add);
            }
            // anything beyond what was awaited (a duplicate would show here)
            c.poll(Duration.ofMillis(1500)).forEach(out::add);
        }
        return out;
    }

    /** Per key, the event types in partition order; and every record's payload checked on the way. */
    static Map<String, List<String>> byKey(List<ConsumerRecord<String, byte[]>> records, List<String> ids)
            throws Exception {
        Map<String, List<String>> m = new LinkedHashMap<>();
        for (ConsumerRecord<String, byte[]> r : records) {
            JsonNode body = JSON.readTree(r.value());
            assertThat(r.headers().toArray()).as("no record headers").isEmpty();
            assertThat(body.at("/contact/id").asText()).as("keyed by the surrogate").isEqualTo(r.key());
            assertThat(body.get("id").asText()).isNotBlank();
            assertThat(body.get("form").asText()).isEqualTo("deidentified");
            ids.add(body.get("id").asText());
            m.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(body.get("type").asText());
        }
        return m;
    }

    @Test
    void recordsAreKeyedBySurrogateAndKeepEachContactsOrderAcrossABrokerRestart() throws Exception {
        List<UUID> first = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            first.add(registeredAndUpdated("KF-10" + i, "Kafkaesque"));
        }
        List<String> ids = new ArrayList<>();
        Map<String, List<String>> before = byKey(readAll(6), ids);
        for (UUID c : first) {
            assertThat(before.get(surrogates.surrogate("analytics", c).toString()))
                    .containsExactly("patient.registered", "patient.updated");
        }
        assertThat(ids).doesNotHaveDuplicates().hasSize(6);

        // the broker goes away mid-stream: events keep coming, the outbox holds them
        broker.destroy();
        broker = null;
        List<UUID> during = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            during.add(registeredAndUpdated("KF-20" + i, "Outageworth"));
        }
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            JsonNode s = JSON.readTree(rest.withBasicAuth(TestHub.OPERATOR, TestHub.USER_PASSWORD)
                    .getForObject("/api/streams", String.class)).get(0);
            assertThat(s.get("backlog").asLong()).isGreaterThanOrEqualTo(6);
            assertThat(s.hasNonNull("lastError")).isTrue();
        });

        broker = start();
        List<String> afterIds = new ArrayList<>();
        Map<String, List<String>> after = byKey(readAll(6), afterIds);
        for (UUID c : during) {
            assertThat(after.get(surrogates.surrogate("analytics", c).toString()))
                    .as("nothing lost, in order").containsExactly("patient.registered", "patient.updated");
        }
        assertThat(afterIds).doesNotHaveDuplicates();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(JSON.readTree(rest
                .withBasicAuth(TestHub.OPERATOR, TestHub.USER_PASSWORD).getForObject("/api/streams", String.class))
                .get(0).get("backlog").asLong()).isZero());
    }
}
