package io.caravan.audit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
 * Someone with write access to the database edits, deletes, reorders or truncates audit rows: the verify endpoint
 * says the trail is broken and names the first broken entry. Each tamper is undone afterwards, and the trail then
 * verifies again, which also shows that the check is about the rows' content and nothing else.
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

    void reinsert(Map<String, Object> row) {
        jdbc.update("INSERT INTO audit_entry (seq, id, at, actor, action, contact_id, purpose, channel, outcome,"
                + " key_id, payload, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row.get("seq"), row.get("id"),
                row.get("at"), row.get("actor"), row.get("action"), row.get("contact_id"), row.get("purpose"),
                row.get("channel"), row.get("outcome"), row.get("key_id"), row.get("payload"), row.get("mac"));
    }
}
