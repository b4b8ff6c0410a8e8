package io.caravan.crypto;

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
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
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
 * Two hubs on one PostgreSQL database, as an operator adds a second node: the same master key, each its own data
 * directory, started at the same moment. Each registers patients through its own MLLP port; each must then find
 * (blind index) and read (decrypt) every patient the other stored, keep doing so after a key rotation made on the other
 * node, and answer for one verifiable audit trail.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SharedKeysPostgresIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String MASTER_KEY = "shared-master-key-" + UUID.randomUUID();

    final TestHub a = TestHub.namedPostgres("shared-keys-a");
    // its own data directory and port; its database is overridden with a's
    final TestHub b = TestHub.named("shared-keys-b");
    final HttpClient http = HttpClient.newHttpClient();
    final Map<String, String> families = new LinkedHashMap<>();
    final Map<TestHub, ConfigurableApplicationContext> contexts = new HashMap<>();

    @BeforeAll
    void startTwoNodesAtOnceAndRegisterThroughEach() throws Exception {
        for (TestHub hub : List.of(a, b)) {
            Files.writeString(hub.dataDir.resolve("master-key"), MASTER_KEY + "\n");
        }
        CompletableFuture<Void> startA = CompletableFuture.runAsync(() -> start(a, "dek-1"));
        CompletableFuture<Void> startB = CompletableFuture.runAsync(() -> start(b, "dek-1"));
        startA.join();
        startB.join();
        register(a, "KA", 5);
        register(b, "KB", 5);
    }

    @AfterAll
    void stop() {
        contexts.values().forEach(ConfigurableApplicationContext::close);
    }

    @Test
    @Order(1)
    void eachNodeFindsAndReadsEveryContactTheOtherStored() throws Exception {
        for (TestHub hub : List.of(a, b)) {
            for (Map.Entry<String, String> e : families.entrySet()) {
                assertFoundAndRead(hub, e.getKey(), e.getValue());
            }
        }
    }

    @Test
    @Order(2)
    void aKeyRotatedOnOneNodeIsReadAndThenUsedByTheOther() throws Exception {
        // b restarts with a new active key id: it creates dek-2 and seals with it
        contexts.remove(b).close();
        start(b, "dek-2");
        List<String> sealedByB = register(b, "RB", 3);
        assertThat(keyIds(sealedByB)).containsOnly("dek-2");

        // a, still running on its start configuration (dek-1), meets dek-2: it finds it in the database
        for (String mrn : sealedByB) {
            assertFoundAndRead(a, mrn, families.get(mrn));
        }
        // ... but seals with the key it started with until it restarts (README "Keys": no switch mid-flight)
        List<String> sealedByA = register(a, "RA", 3);
        assertThat(keyIds(sealedByA)).containsOnly("dek-1");

        // a restarted with its old configuration does not go back to dek-1
        contexts.remove(a).close();
        start(a, "dek-1");
        List<String> afterRestart = register(a, "RR", 2);
        assertThat(keyIds(afterRestart)).containsOnly("dek-2");

        // and everything sealed before the rotation still opens on both
        for (TestHub hub : List.of(a, b)) {
            for (Map.Entry<String, String> e : families.entrySet()) {
                assertFoundAndRead(hub, e.getKey(), e.getValue());
            }
        }
    }

    @Test
    @Order(3)
    void theAuditTrailWrittenByBothNodesVerifiesOnEach() throws Exception {
        // both writers busy at once: each node's PHI reads are audited by that node's writer
        List<String> viaA = register(a, "AA", 3);
        List<String> viaB = register(b, "AB", 3);
        // (looked up on a now: the reads on b below are the newest entries about this contact)
        UUID readOnB = contactId(viaA.get(0));
        CompletableFuture<Void> readsOnA = CompletableFuture.runAsync(() -> readAll(a, viaB));
        CompletableFuture<Void> readsOnB = CompletableFuture.runAsync(() -> readAll(b, viaA));
        readsOnA.join();
        readsOnB.join();
        for (TestHub hub : List.of(a, b)) {
            assertThat(verify(hub).get("valid").asBoolean()).as("verify on %s", hub == a ? "a" : "b").isTrue();
        }

        // an entry b wrote, edited in the database: found by verify on a (and on b)
        try (Connection c = DriverManager.getConnection(a.jdbcUrl)) {
            long seq;
            try (PreparedStatement ps = c.prepareStatement("SELECT MAX(seq) FROM audit_entry WHERE actor = 'admin'"
                    + " AND contact_id = ?")) {
                ps.setObject(1, readOnB);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    seq = rs.getLong(1);
                }
            }
            assertThat(seq).isPositive();
            try (PreparedStatement ps = c.prepareStatement("UPDATE audit_entry SET actor = 'mallory' WHERE seq = ?")) {
                ps.setLong(1, seq);
                assertThat(ps.executeUpdate()).isEqualTo(1);
            }
            for (TestHub hub : List.of(a, b)) {
                JsonNode v = verify(hub);
                assertThat(v.get("valid").asBoolean()).isFalse();
                assertThat(v.get("firstBroken").asLong()).isEqualTo(seq);
            }
            try (PreparedStatement ps = c.prepareStatement("UPDATE audit_entry SET actor = 'admin' WHERE seq = ?")) {
                ps.setLong(1, seq);
                ps.executeUpdate();
            }
        }
        assertThat(verify(a).get("valid").asBoolean()).isTrue();
    }

    private JsonNode verify(TestHub hub) throws Exception {
        HttpResponse<String> r = get(hub, "/api/audit/verify", "admin");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    private void readAll(TestHub hub, List<String> mrns) {
        try {
            for (int round = 0; round < 5; round++) {
                for (String mrn : mrns) {
                    assertFoundAndRead(hub, mrn, families.get(mrn));
                }
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private UUID contactId(String mrn) throws Exception {
        HttpResponse<String> found = get(a, "/api/contacts?identifier="
                + URLEncoder.encode("MERCY|" + mrn, StandardCharsets.UTF_8), "admin");
        return UUID.fromString(JSON.readTree(found.body()).get(0).get("id").asText());
    }

    private void assertFoundAndRead(TestHub hub, String mrn, String family) throws Exception {
        HttpResponse<String> found = get(hub, "/api/contacts?identifier="
                + URLEncoder.encode("MERCY|" + mrn, StandardCharsets.UTF_8), "admin");
        assertThat(found.statusCode()).as("search on %s for %s: %s", hub == a ? "a" : "b", mrn, found.body())
                .isEqualTo(200);
        JsonNode list = JSON.readTree(found.body());
        assertThat(list.size()).as("search on %s for %s", hub == a ? "a" : "b", mrn).isEqualTo(1);
        String id = list.get(0).get("id").asText();
        HttpResponse<String> read = get(hub, "/api/contacts/" + id, "admin");
        assertThat(read.statusCode()).as(read.body()).isEqualTo(200);
        assertThat(read.body()).contains(family);
    }

    private List<String> register(TestHub hub, String prefix, int n) throws Exception {
        List<String> mrns = new ArrayList<>();
        try (MllpTestClient c = new MllpTestClient(hub.mllpPort)) {
            for (int i = 0; i < n; i++) {
                String mrn = prefix + System.nanoTime() % 1_000_000_000L;
                String family = "Fam" + prefix + UUID.randomUUID().toString().substring(0, 8);
                assertThat(MllpTestClient.msa1(c.exchange(Hl7Messages.a04(Hl7Messages.controlId(), mrn, family,
                        "Given", "p" + mrn.toLowerCase() + "@example.org"), 10_000))).isEqualTo("AA");
                families.put(mrn, family);
                mrns.add(mrn);
            }
        }
        return mrns;
    }

    /** The key id each contact's record was sealed with, straight from the shared database. */
    private List<String> keyIds(List<String> mrns) throws Exception {
        List<String> ids = new ArrayList<>();
        for (String mrn : mrns) {
            HttpResponse<String> found = get(a, "/api/contacts?identifier="
                    + URLEncoder.encode("MERCY|" + mrn, StandardCharsets.UTF_8), "admin");
            UUID id = UUID.fromString(JSON.readTree(found.body()).get(0).get("id").asText());
            try (Connection c = DriverManager.getConnection(a.jdbcUrl);
                    PreparedStatement ps = c.prepareStatement("SELECT key_id FROM contact WHERE id = ?")) {
                ps.setObject(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    assertThat(rs.next()).isTrue();
                    ids.add(rs.getString(1));
                }
            }
        }
        return ids;
    }

    private HttpResponse<String> get(TestHub hub, String path, String user) throws Exception {
        String auth = Base64.getEncoder().encodeToString((user + ":" + hub.adminPassword())
                .getBytes(StandardCharsets.UTF_8));
        int port = Integer.parseInt(contexts.get(hub).getEnvironment().getProperty("local.server.port"));
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Authorization", "Basic " + auth).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private void start(TestHub hub, String activeKeyId) {
        Map<String, Object> props = hub.nodeOf(a, "caravan-" + (hub == a ? "a" : "b"));
        props.put("caravan.crypto.active-key-id", activeKeyId);
        ConfigurableApplicationContext context = new SpringApplicationBuilder(CaravanApplication.class)
                .run(TestHub.args(props));
        synchronized (contexts) {
            contexts.put(hub, context);
        }
    }
}
