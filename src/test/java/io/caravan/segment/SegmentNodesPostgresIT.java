package io.caravan.segment;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.CaravanApplication;
import io.caravan.support.Hl7Messages;
import io.caravan.support.MllpTestClient;
import io.caravan.support.TestHub;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Two hubs of a cluster on one PostgreSQL database, every HL7 message sent to node a: whichever node's
 * {@code segment-index} handled an event, both nodes' previews, counts and campaign snapshots must see it - a new
 * contact, an update that moves one out of the segment, and an A40 merge that takes a duplicate record out.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SegmentNodesPostgresIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String CODE = "Z00.31";
    static final String WHEN = "hasCode('" + CODE + "') and state == 'IL'";
    /** Within this the other node must show what one node indexed ("a few seconds", on a loaded machine). */
    static final Duration SOON = Duration.ofSeconds(20);

    final TestHub a = TestHub.namedPostgres("segnodes-a");
    final TestHub b = TestHub.named("segnodes-b");
    final HttpClient http = HttpClient.newHttpClient();
    final Map<TestHub, ConfigurableApplicationContext> contexts = new HashMap<>();
    /** mrn -> contact id, in registration order. */
    final Map<String, UUID> patients = new LinkedHashMap<>();

    @BeforeAll
    void startTwoNodes() throws Exception {
        String masterKey = "segnodes-master-key-" + UUID.randomUUID();
        for (TestHub hub : List.of(a, b)) {
            java.nio.file.Files.writeString(hub.dataDir.resolve("master-key"), masterKey + "\n");
        }
        CompletableFuture<Void> startA = CompletableFuture.runAsync(() -> start(a, "a"));
        CompletableFuture<Void> startB = CompletableFuture.runAsync(() -> start(b, "b"));
        startA.join();
        startB.join();
    }

    @AfterAll
    void stop() {
        contexts.values().forEach(ConfigurableApplicationContext::close);
    }

    @Test
    @Order(1)
    void contactsRegisteredThroughOneNodeArePreviewedAndCountedOnBoth() throws Exception {
        HttpResponse<String> defined = post(a, "/api/segments", Map.of("id", "nodes-recall", "purpose", "treatment",
                "when", WHEN));
        assertThat(defined.statusCode()).as(defined.body()).isEqualTo(201);
        // known on the other node at once, not only after its next refresh (a campaign may start there now)
        HttpResponse<String> there = get(b, "/api/segments/nodes-recall");
        assertThat(there.statusCode()).as(there.body()).isEqualTo(200);

        for (int i = 1; i <= 6; i++) {
            String mrn = "SN-" + i + "-" + System.nanoTime() % 1_000_000L;
            send(a, Hl7Messages.a04(Hl7Messages.controlId(), mrn, "Nodes", "Pat" + i, "sn-" + i + "@example.org"));
            // the visit's diagnosis (ADT_A01 maps DG1-3 to the event's codes)
            send(a, Hl7Messages.adt("A01", Hl7Messages.controlId(), mrn, "Nodes", "Pat" + i,
                    "sn-" + i + "@example.org", OffsetDateTime.now()) + "DG1|1||" + CODE + "^Exam^I10\r");
            patients.put(mrn, contactId(mrn));
        }
        awaitOnBoth(Set.copyOf(patients.values()));
    }

    @Test
    @Order(2)
    void anUpdateThroughOneNodeMovesTheContactOutOnBoth() throws Exception {
        String moved = new ArrayList<>(patients.keySet()).get(0);
        send(a, Hl7Messages.adt("A08", Hl7Messages.controlId(), moved, "Nodes", "Pat1", "sn-1@example.org",
                OffsetDateTime.now()).replace("^IL^62704", "^MO^63101"));
        Set<UUID> expected = new HashSet<>(patients.values());
        expected.remove(patients.get(moved));
        awaitOnBoth(expected);
    }

    @Test
    @Order(3)
    void aMergeThroughOneNodeTakesTheDuplicateOutOnBoth() throws Exception {
        List<String> mrns = new ArrayList<>(patients.keySet());
        String survivor = mrns.get(1);
        String duplicate = mrns.get(2);
        // the survivor's address as on file: only the duplicate record is to leave the segment
        send(a, Hl7Messages.a40(Hl7Messages.controlId(), survivor, duplicate).replace("||19800101|F\r",
                "||19800101|F|||1 Main St^^Springfield^IL^62704\r"));
        Set<UUID> expected = new HashSet<>(patients.values());
        expected.remove(patients.get(mrns.get(0)));
        expected.remove(patients.get(duplicate));
        awaitOnBoth(expected);
    }

    @Test
    @Order(4)
    void aCampaignStartedOnEitherNodeTargetsTheSameRecipients() throws Exception {
        List<String> mrns = new ArrayList<>(patients.keySet());
        Set<UUID> expected = new HashSet<>(patients.values());
        expected.remove(patients.get(mrns.get(0)));
        expected.remove(patients.get(mrns.get(2)));
        for (TestHub hub : List.of(b, a)) {
            HttpResponse<String> r = post(hub, "/api/campaigns", Map.of("segment", "nodes-recall", "channel",
                    "email", "template", "appointment-reminder-notice", "data",
                    Map.of("clinicPhone", "+1 217 555 0100"), "holdout", 0));
            assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
            UUID campaign = UUID.fromString(JSON.readTree(r.body()).get("id").asText());
            Awaitility.await("campaign on " + name(hub) + " snapshotted").atMost(Duration.ofSeconds(60))
                    .until(() -> {
                        String status = JSON.readTree(get(hub, "/api/campaigns/" + campaign).body()).get("status")
                                .asText();
                        return !status.equals("scheduled") && !status.equals("snapshotting");
                    });
            assertThat(recipients(campaign)).as("recipients of the campaign started on %s", name(hub))
                    .isEqualTo(expected);
        }
    }

    /** Both nodes' preview sample and count, and the segment's count, are exactly {@code expected}. */
    private void awaitOnBoth(Set<UUID> expected) {
        for (TestHub hub : List.of(a, b)) {
            Awaitility.await("segment on " + name(hub)).atMost(SOON).pollInterval(Duration.ofMillis(250))
                    .untilAsserted(() -> {
                        HttpResponse<String> p = post(hub, "/api/segments/preview", Map.of("when", WHEN));
                        assertThat(p.statusCode()).as(p.body()).isEqualTo(200);
                        JsonNode preview = JSON.readTree(p.body());
                        Set<UUID> sample = new HashSet<>();
                        preview.get("sample").forEach(id -> sample.add(UUID.fromString(id.asText())));
                        AttributeIndex idx = contexts.get(hub).getBean(AttributeIndex.class);
                        assertThat(sample).as("preview sample on %s (its index holds %s of them)", name(hub),
                                expected.stream().filter(idx::contains).count()).isEqualTo(expected);
                        assertThat(preview.get("count").asLong()).as("preview count on %s", name(hub))
                                .isEqualTo(expected.size());
                        // a segment defined through one node is a segment of the cluster
                        HttpResponse<String> s = get(hub, "/api/segments/nodes-recall");
                        assertThat(s.statusCode()).as("the segment a defined, on %s: %s", name(hub), s.body())
                                .isEqualTo(200);
                        JsonNode segment = JSON.readTree(s.body());
                        assertThat(segment.get("count").asLong()).as("segment count on %s", name(hub))
                                .isEqualTo(expected.size());
                    });
        }
    }

    private Set<UUID> recipients(UUID campaign) throws Exception {
        Set<UUID> out = new HashSet<>();
        try (Connection c = DriverManager.getConnection(a.jdbcUrl);
                PreparedStatement ps = c.prepareStatement(
                        "SELECT contact_id FROM campaign_recipient WHERE campaign_id = ?")) {
            ps.setObject(1, campaign);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getObject(1, UUID.class));
                }
            }
        }
        return out;
    }

    private String name(TestHub hub) {
        return hub == a ? "a" : "b";
    }

    private void send(TestHub hub, String hl7) throws Exception {
        try (MllpTestClient c = new MllpTestClient(hub.mllpPort)) {
            assertThat(MllpTestClient.msa1(c.exchange(hl7, 10_000))).isEqualTo("AA");
        }
    }

    private UUID contactId(String mrn) throws Exception {
        HttpResponse<String> found = get(a, "/api/contacts?identifier="
                + URLEncoder.encode("MERCY|" + mrn, StandardCharsets.UTF_8), "admin", a.adminPassword());
        JsonNode list = JSON.readTree(found.body());
        assertThat(list.size()).as(found.body()).isEqualTo(1);
        return UUID.fromString(list.get(0).get("id").asText());
    }

    private HttpResponse<String> get(TestHub hub, String path) throws Exception {
        return get(hub, path, TestHub.INTEGRATION, TestHub.USER_PASSWORD);
    }

    private HttpResponse<String> get(TestHub hub, String path, String user, String password) throws Exception {
        return http.send(request(hub, path, user, password).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(TestHub hub, String path, Object body) throws Exception {
        return http.send(request(hub, path, TestHub.INTEGRATION, TestHub.USER_PASSWORD)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpRequest.Builder request(TestHub hub, String path, String user, String password) {
        String auth = Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
        int port = Integer.parseInt(contexts.get(hub).getEnvironment().getProperty("local.server.port"));
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Authorization", "Basic " + auth);
    }

    private void start(TestHub hub, String node) {
        Map<String, Object> props = hub.nodeOf(a, "caravan-segnodes-" + node);
        props.put("spring.profiles.active", "postgres,cluster");
        props.put("caravan.event-log.poll-interval", "100ms");
        ConfigurableApplicationContext context = new SpringApplicationBuilder(CaravanApplication.class)
                .run(TestHub.args(props));
        synchronized (contexts) {
            contexts.put(hub, context);
        }
    }
}
