package io.caravan.consent;

import io.caravan.audit.AuditLog;
import io.caravan.crypto.FieldCipher;
import io.caravan.system.JsonMaps;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Repository;

/**
 * Consent records in the database. Reads for decisions take only the clear scope and validity columns; writes are
 * {@link AuditLog.TxWork} so each change commits together with the audit entry that records it.
 */
@Repository
public class ConsentStore {

    private static final String COLUMNS = "id, contact_id, kind, purpose, channel, form, remuneration, source,"
            + " recorded_by, effective_at, expires_at, revoked_at, recorded_at";

    private final JdbcTemplate jdbc;
    private final FieldCipher cipher;

    public ConsentStore(JdbcTemplate jdbc, FieldCipher cipher) {
        this.jdbc = jdbc;
        this.cipher = cipher;
    }

    /** Every record of a contact, without details: what a decision reads. Never cached, so a revocation is seen. */
    public List<ConsentRecord> forDecision(UUID contactId) {
        return jdbc.query("SELECT " + COLUMNS + " FROM consent_record WHERE contact_id = ?",
                (rs, n) -> record(rs, null), contactId);
    }

    /** Every record of a contact with its details opened, oldest first. */
    public List<ConsentRecord> withDetails(UUID contactId) {
        return jdbc.query("SELECT " + COLUMNS + ", key_id, payload FROM consent_record WHERE contact_id = ?"
                + " ORDER BY recorded_at, id", (rs, n) -> record(rs, open(rs)), contactId);
    }

    public Optional<ConsentRecord> find(UUID id) {
        return jdbc.query("SELECT " + COLUMNS + ", key_id, payload FROM consent_record WHERE id = ?",
                (rs, n) -> record(rs, open(rs)), id).stream().findFirst();
    }

    /** The insert of a new record, to run in the audit writer's transaction. */
    AuditLog.TxWork insert(ConsentRecord r, Map<String, Object> details) {
        byte[] sealed = cipher.seal(JsonMaps.write(details), "consent:" + r.id());
        String keyId = cipher.activeKeyId();
        return c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO consent_record (" + COLUMNS
                    + ", key_id, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                ps.setObject(1, r.id());
                ps.setObject(2, r.contactId());
                ps.setString(3, r.kind());
                ps.setString(4, r.purpose());
                ps.setString(5, r.channel());
                ps.setString(6, r.form());
                ps.setBoolean(7, r.remuneration());
                ps.setString(8, r.source());
                ps.setString(9, r.recordedBy());
                ps.setTimestamp(10, ts(r.effectiveAt()));
                ps.setTimestamp(11, ts(r.expiresAt()));
                ps.setTimestamp(12, ts(r.revokedAt()));
                ps.setTimestamp(13, ts(r.recordedAt()));
                ps.setString(14, keyId);
                ps.setBytes(15, sealed);
                ps.executeUpdate();
            }
        };
    }

    /** The revocation of a record, to run in the audit writer's transaction; fails if it is already revoked. */
    AuditLog.TxWork revoke(UUID id, Instant at) {
        return c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE consent_record SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")) {
                ps.setTimestamp(1, ts(at));
                ps.setObject(2, id);
                if (ps.executeUpdate() != 1) {
                    throw new SQLException("consent record already revoked");
                }
            }
        };
    }

    private static Timestamp ts(Instant i) {
        return i == null ? null : Timestamp.from(i);
    }

    private static Instant instant(ResultSet rs, int col) throws SQLException {
        Timestamp t = rs.getTimestamp(col);
        return t == null ? null : t.toInstant();
    }

    private static ConsentRecord record(ResultSet rs, Map<String, Object> details) throws SQLException {
        return new ConsentRecord(rs.getObject(1, UUID.class), rs.getObject(2, UUID.class), rs.getString(3),
                rs.getString(4), rs.getString(5), rs.getString(6), rs.getBoolean(7), rs.getString(8),
                rs.getString(9), instant(rs, 10), instant(rs, 11), instant(rs, 12), instant(rs, 13), details);
    }

    private Map<String, Object> open(ResultSet rs) throws SQLException {
        UUID id = rs.getObject(1, UUID.class);
        return JsonMaps.read(cipher.open(rs.getString(14), rs.getBytes(15), "consent:" + id));
    }
}
