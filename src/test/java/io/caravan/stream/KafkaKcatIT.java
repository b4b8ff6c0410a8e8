package io.caravan.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.support.Hl7Messages;
import io.caravan.support.HubApi;
import io.caravan.support.KafkaBrokerProcess;
import io.caravan.support.MllpTestClient;
import io.caravan.support.TestHub;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * An independent consumer: a Kafka broker in a process of its own, started from the Kafka jars on Maven (KRaft,
 * formatted by Kafka's own StorageTool), and Debian's {@code kcat} reading what the hub produced - keys, payloads,
 * order per contact - with librdkafka instead of the Java client the hub uses.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@DirtiesContext
class KafkaKcatIT {

    static final TestHub HUB = TestHub.named("stream-kcat");
    static final String TOPIC = "caravan-kcat";
    static final ObjectMapper JSON = new ObjectMapper();
    static final KafkaBrokerProcess BROKER;
    static final int PORT;
    static final Path ADAPTERS;

    static {
        try {
            BROKER = KafkaBrokerProcess.start(Files.createTempDirectory("caravan-kafka-broker"));
            PORT = BROKER.port;
            // the topic exists before the hub produces, as an operator creates it. Auto-created under the hub's first
            // batch, its leader moved while the idempotent producer sent (NOT_LEADER_OR_FOLLOWER, then
            // OUT_OF_ORDER_SEQUENCE_NUMBER until the delivery timeout), and the drain's retry put the batch that had
            // landed there a second time: 11 records for 6 in one loaded suite run. Resends after a broker fault are
            // allowed (each event carries its id); this test is about the plain path
            try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(
                    java.util.Map.of("bootstrap.servers", "127.0.0.1:" + PORT))) {
                admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(TOPIC, 1, (short) 1))).all()
                        .get(60, TimeUnit.SECONDS);
            }
            ADAPTERS = Files.createTempDirectory("caravan-kcat-adapters");
            Files.writeString(ADAPTERS.resolve("warehouse.yaml"), """
                    id: warehouse
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

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        HUB.register(r);
        r.add("caravan.mapping.adapters-dir", ADAPTERS::toString);
        r.add("caravan.event-log.poll-interval", () -> "50ms");
        r.add("caravan.streams.kafka.poll-interval", () -> "50");
    }

    @AfterAll
    static void stop() throws Exception {
        BROKER.stop();
    }

    @Autowired
    TestRestTemplate rest;

    /** What kcat reads from the beginning of the topic: key TAB value, one record a line. */
    static List<String[]> kcat() throws Exception {
        Process p = new ProcessBuilder("kcat", "-C", "-b", "127.0.0.1:" + PORT, "-t", TOPIC, "-o", "beginning",
                "-e", "-q", "-X", "isolation.level=read_committed", "-f", "%k\\t%s\\n").redirectErrorStream(false)
                .start();
        p.getOutputStream().close();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        List<String[]> out = new ArrayList<>();
        for (String line : new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
            if (!line.isBlank()) {
                out.add(line.split("\t", 2));
            }
        }
        return out;
    }

    @Test
    void kcatReadsWhatTheHubProducedKeyedBySurrogateInOrderPerContact() throws Exception {
        for (int i = 0; i < 3; i++) {
            String mrn = "KC-" + (100 + i);
            HubApi.register(HUB, rest, mrn, "Kcatley", "Cat", "cat@example.org", "");
            try (MllpTestClient c = new MllpTestClient(HUB.mllpPort)) {
                assertThat(MllpTestClient.msa1(c.exchange(Hl7Messages.adt("A08", Hl7Messages.controlId(), mrn,
                        "Kcatley", "Cat", "cat@example.org", OffsetDateTime.parse("2026-03-02T09:00:00-05:00")),
                        10_000))).isEqualTo("AA");
            }
        }
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(2)).until(() -> kcat().size() >= 6);
        List<String[]> records = kcat();
        assertThat(records).hasSize(6);
        Map<String, List<String>> perKey = new LinkedHashMap<>();
        List<String> ids = new ArrayList<>();
        for (String[] r : records) {
            JsonNode body = JSON.readTree(r[1]);
            assertThat(body.at("/contact/id").asText()).isEqualTo(r[0]);
            assertThat(r[1]).doesNotContain("Kcatley", "KC-10", "cat@example.org");
            ids.add(body.get("id").asText());
            perKey.computeIfAbsent(r[0], k -> new ArrayList<>()).add(body.get("type").asText());
        }
        assertThat(ids).doesNotHaveDuplicates();
        assertThat(perKey).hasSize(3);
        perKey.values().forEach(t -> assertThat(t).containsExactly("patient.registered", "patient.updated"));
    }
}
