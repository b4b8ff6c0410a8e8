package io.caravan.audit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.support.HubApi;
import io.caravan.support.TestHub;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Someone with write access to the database edits, deletes, reorders or truncates audit rows, empties a patient's
 * by-contact index, clears a revocation, or puts back an older copy of the trail: the verify endpoint says the trail
 * is broken and names what was tampered (sequence numbers and record ids, no PHI). Each tamper is done with plain
 * JDBC, as an attacker with database access would, and undone afterwards; the trail then verifies again, which also
 * shows that the check is about the rows' content and nothing else.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
// a hub of its own: closed after the class so its threads, port and database go with it
@org.springframework.test.annotation.DirtiesContext
abstract class AuditTamperContract {

    static final ObjectMapper JSON = new ObjectMapper();

    @Autowired
    TestRestTemplate rest;
    @Autowired
    JdbcTemplate jdbc;
    @Autowired
    AuditLog audit;

    abstract TestHub hub();

    JsonNode verify() throws Exception {
        return JSON.readTree(rest.withBasicAuth(TestHub.COMPLIANCE, TestHub.USER_PASSWORD)
                .getForEntity("/api/audit/verify", String.class).getBody());
    }

    void assertBrokenAt(long seq, String problem) throws Exception {
        JsonNode v = verify();
        assertThat(v.get("valid").asBoolean()).as(v.toString()).isFalse();
        assertThat(v.get("firstBroken").asLong()).as(v.toString()).isEqualTo(seq);
        assertThat(v.get("problem").asText()).contains(problem);
    }

    void assertValid() throws Exception {
        JsonNode v = verify();
        assertThat(v.get("valid").asBoolean()).as(v.toString()).isTrue();
    }

    @Test
    void editedDeletedSwappedAndTruncatedEntriesAreFoundAndNamed() throws Exception {
        UUID contact = UUID.randomUUID();
        long first = 0;
        for (int i = 0; i < 6; i++) {
            long seq = audit.appendAndWait(AuditDraft.of("tamper-test", Actions.DECISION).contact(contact)
                    .purpose("marketing").channel("email").outcome("deny").detail("n", i));
            first = first == 0 ? seq : first;
        }
        long k = first + 2;
        long last = first + 5;
        // the by-contact index is checked too: let it take these entries before any of them is tampered with
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20))
                .until(() -> indexedThrough() >= last);
        assertValid();

        // edit: turn a deny into an allow
        jdbc.update("UPDATE audit_entry SET outcome = 'allow' WHERE seq = ?", k);
        assertBrokenAt(k, "does not match its MAC");
        jdbc.update("UPDATE audit_entry SET outcome = 'deny' WHERE seq = ?", k);
        assertValid();

        // edit the sealed details (a byte of the ciphertext)
        byte[] payload = jdbc.queryForObject("SELECT payload FROM audit_entry WHERE seq = ?", byte[].class, k);
        byte[] altered = payload.clone();
        altered[altered.length / 2] ^= 1;
        jdbc.update("UPDATE audit_entry SET payload = ? WHERE seq = ?", altered, k);
        assertBrokenAt(k, "does not match its MAC");
        jdbc.update("UPDATE audit_entry SET payload = ? WHERE seq = ?", payload, k);
        assertValid();

        // delete
        Map<String, Object> row = jdbc.queryForMap("SELECT * FROM audit_entry WHERE seq = ?", k);
        jdbc.update("DELETE FROM audit_entry WHERE seq = ?", k);
        assertBrokenAt(k, "missing");
        reinsert(row);
        assertValid();

        // swap two entries (reorder)
        jdbc.update("UPDATE audit_entry SET seq = -1 WHERE seq = ?", k);
        jdbc.update("UPDATE audit_entry SET seq = ? WHERE seq = ?", k, k + 1);
        jdbc.update("UPDATE audit_entry SET seq = ? WHERE seq = -1", k + 1);
        assertBrokenAt(k, "does not match its MAC");
        jdbc.update("UPDATE audit_entry SET seq = -1 WHERE seq = ?", k);
        jdbc.update("UPDATE audit_entry SET seq = ? WHERE seq = ?", k, k + 1);
        jdbc.update("UPDATE audit_entry SET seq = ? WHERE seq = -1", k + 1);
        assertValid();

        // truncate the tail (the newest entries)
        long head = jdbc.queryForObject("SELECT MAX(seq) FROM audit_entry", Long.class);
        List<Map<String, Object>> tail = jdbc.queryForList("SELECT * FROM audit_entry WHERE seq >= ? ORDER BY seq",
                head - 1);
        jdbc.update("DELETE FROM audit_entry WHERE seq >= ?", head - 1);
        assertBrokenAt(head - 1, "tail truncated");
        tail.forEach(this::reinsert);
        assertValid();

        // move the purge anchor forward to hide old entries
        jdbc.update("UPDATE audit_chain SET purged_through = purged_through + 1 WHERE id = 1");
        assertThat(verify().get("valid").asBoolean()).isFalse();
        assertThat(verify().get("problem").asText()).contains("chain record");
        jdbc.update("UPDATE audit_chain SET purged_through = purged_through - 1 WHERE id = 1");
        assertValid();
    }

    long indexedThrough() {
        return jdbc.queryForObject("SELECT indexed_through FROM audit_index_state WHERE id = 1", Long.class);
    }

    @Test
    void indexRowsRemovedAddedOrMovedAreFoundAndNamed() throws Exception {
        UUID contact = UUID.randomUUID();
        UUID other = UUID.randomUUID();
        long last = 0;
        for (int i = 0; i < 4; i++) {
            last = audit.appendAndWait(AuditDraft.of("tamper-test", Actions.DISCLOSURE).contact(contact)
                    .purpose("marketing").channel("email").outcome("tls").detail("n", i));
        }
        long head = last;
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20))
                .until(() -> indexedThrough() >= head);
        assertValid();
        List<Map<String, Object>> rows = jdbc.queryForList("SELECT contact_id, seq FROM audit_contact"
                + " WHERE contact_id = ? ORDER BY seq", contact);
        assertThat(rows).hasSize(4);
        long first = ((Number) rows.get(0).get("seq")).longValue();
        long second = ((Number) rows.get(1).get("seq")).longValue();

        // the patient's accounting emptied: the index rows deleted
        jdbc.update("DELETE FROM audit_contact WHERE contact_id = ?", contact);
        JsonNode v = verify();
        assertThat(v.get("valid").asBoolean()).as(v.toString()).isFalse();
        assertThat(v.get("problem").asText()).contains("audit_contact").contains("lacks entries [" + first);
        assertThat(v.toString()).doesNotContain(contact.toString());
        rows.forEach(r -> jdbc.update("INSERT INTO audit_contact (contact_id, seq) VALUES (?, ?)",
                r.get("contact_id"), r.get("seq")));
        assertValid();

        // an entry moved to another patient's listing
        jdbc.update("UPDATE audit_contact SET contact_id = ? WHERE seq = ?", other, second);
        v = verify();
        assertThat(v.get("valid").asBoolean()).as(v.toString()).isFalse();
        assertThat(v.get("tampered").toString()).contains("lacks entries [" + second + "]")
                .contains("rows for entries [" + second + "]");
        jdbc.update("UPDATE audit_contact SET contact_id = ? WHERE seq = ?", contact, second);
        assertValid();

        // the index claims to cover entries that are not there
        jdbc.update("UPDATE audit_index_state SET indexed_through = indexed_through + 1000 WHERE id = 1");
        v = verify();
        assertThat(v.get("valid").asBoolean()).as(v.toString()).isFalse();
        assertThat(v.get("problem").asText()).contains("audit_index_state");
        jdbc.update("UPDATE audit_index_state SET indexed_through = indexed_through - 1000 WHERE id = 1");
        assertValid();
    }

    JsonNode decision(UUID id, String purpose) throws Exception {
        return JSON.readTree(rest.withBasicAuth(TestHub.COMPLIANCE, TestHub.USER_PASSWORD).getForEntity(
                "/api/contacts/{id}/decision?purpose={p}&channel=email", String.class, id, purpose).getBody());
    }

    static List<String> denials(JsonNode decision) {
        List<String> out = new java.util.ArrayList<>();
        decision.get("reasons").forEach(r -> {
            if ("deny".equals(r.get("effect").asText())) {
                out.add(r.get("rule").asText());
            }
        });
        return out;
    }

    @Test
    void aRevocationClearedInTheDatabaseIsNotBelievedAndIsNamed() throws Exception {
        UUID id = HubApi.register(hub(), rest, "TAMPER-" + UUID.randomUUID().toString().substring(0, 8), "Canary",
                "Tamper", "tamper@example.org", "");
        UUID aid = UUID.fromString(HubApi.authorize(rest, id));
        assertThat(HubApi.post(rest.withBasicAuth(TestHub.COMPLIANCE, TestHub.USER_PASSWORD),
                "/api/contacts/{id}/authorizations/{aid}/revocation", Map.of("reason", "patient called"), id, aid)
                .getStatusCode().value()).isEqualTo(200);
        assertThat(denials(decision(id, "marketing"))).containsExactly("marketing-authorization");
        assertValid();

        // the attacker revives the revoked authorization
        Object revokedAt = jdbc.queryForObject("SELECT revoked_at FROM consent_record WHERE id = ?", Object.class,
                aid);
        jdbc.update("UPDATE consent_record SET revoked_at = NULL WHERE id = ?", aid);
        JsonNode d = decision(id, "marketing");
        assertThat(d.get("allowed").asBoolean()).as(d.toString()).isFalse();
        assertThat(denials(d)).containsExactly("record-integrity");
        assertThat(decision(id, "treatment").get("allowed").asBoolean())
                .as("nothing on file for the contact can be believed").isFalse();
        JsonNode v = verify();
        assertThat(v.get("valid").asBoolean()).as(v.toString()).isFalse();
        assertThat(v.get("problem").asText()).contains("consent record " + aid).contains("MAC");
        assertThat(HubApi.post(rest.withBasicAuth(TestHub.COMPLIANCE, TestHub.USER_PASSWORD),
                "/api/contacts/{id}/authorizations/{aid}/revocation", null, id, aid).getStatusCode().value())
                .as("revoking it again would re-MAC the edited row").isEqualTo(409);

        // a scope widened, an expiry moved: the same
        jdbc.update("UPDATE consent_record SET revoked_at = ? WHERE id = ?", revokedAt, aid);
        assertValid();
        assertThat(denials(decision(id, "marketing"))).containsExactly("marketing-authorization");
        jdbc.update("UPDATE consent_record SET expires_at = NULL WHERE id = ?", aid);
        assertThat(denials(decision(id, "marketing"))).containsExactly("record-integrity");
        assertThat(verify().get("valid").asBoolean()).isFalse();
        jdbc.update("UPDATE consent_record SET expires_at = ? WHERE id = ?",
                java.sql.Timestamp.from(java.time.Instant.parse("2031-01-01T00:00:00Z")), aid);
        assertValid();
    }

    @Test
    void anOlderCopyOfTheTrailPutBackIsFoundByTheCheckpoints() throws Exception {
        for (int i = 0; i < 3; i++) {
            audit.appendAndWait(AuditDraft.of("tamper-test", Actions.PHI_READ).outcome("contact"));
        }
        // the copy the attacker keeps: the chain record as it is now (its MAC is genuine)
        Map<String, Object> olderChain = jdbc.queryForMap("SELECT * FROM audit_chain WHERE id = 1");
        long olderHead = ((Number) olderChain.get("head_seq")).longValue();
        for (int i = 0; i < 2; i++) {
            audit.appendAndWait(AuditDraft.of("tamper-test", Actions.DISCLOSURE).outcome("tls"));
        }
        long checkpointed = audit.checkpointNow().get(10, java.util.concurrent.TimeUnit.SECONDS);
        Map<String, Object> chain = jdbc.queryForMap("SELECT * FROM audit_chain WHERE id = 1");
        assertThat(checkpointed).isEqualTo(((Number) chain.get("head_seq")).longValue());
        JsonNode ok = verify();
        assertThat(ok.get("valid").asBoolean()).as(ok.toString()).isTrue();
        assertThat(ok.get("checkpointSeq").asLong()).isEqualTo(checkpointed);

        // the older copy put back: the entries since gone, the chain record as it was - consistent in itself
        List<Map<String, Object>> newer = jdbc.queryForList("SELECT * FROM audit_entry WHERE seq > ? ORDER BY seq",
                olderHead);
        jdbc.update("DELETE FROM audit_entry WHERE seq > ?", olderHead);
        jdbc.update("DELETE FROM audit_contact WHERE seq > ?", olderHead);
        writeChain(olderChain);
        JsonNode v = verify();
        assertThat(v.get("valid").asBoolean()).as(v.toString()).isFalse();
        assertThat(v.get("problem").asText()).contains("rolled back").contains("ends at entry " + olderHead)
                .contains("saw entry " + checkpointed);
        newer.forEach(this::reinsert);
        writeChain(chain);
        assertValid();
    }

    void writeChain(Map<String, Object> row) {
        jdbc.update("UPDATE audit_chain SET purged_through = ?, purged_mac = ?, head_seq = ?, head_mac = ?, mac = ?"
                + " WHERE id = 1", row.get("purged_through"), row.get("purged_mac"), row.get("head_seq"),
                row.get("head_mac"), row.get("mac"));
    }

    void reinsert(Map<String, Object> row) {
        jdbc.update("INSERT INTO audit_entry (seq, id, at, actor, action, contact_id, purpose, channel, outcome,"
                + " key_id, payload, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row.get("seq"), row.get("id"),
                row.get("at"), row.get("actor"), row.get("action"), row.get("contact_id"), row.get("purpose"),
                row.get("channel"), row.get("outcome"), row.get("key_id"), row.get("payload"), row.get("mac"));
    }
}
