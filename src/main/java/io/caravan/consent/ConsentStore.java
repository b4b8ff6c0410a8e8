package io.caravan.consent;

import io.caravan.audit.AuditLog;
import io.caravan.audit.AuditTrail;
import io.caravan.contact.ContactWriter;
import io.caravan.crypto.FieldCipher;
import io.caravan.system.JsonMaps;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Repository;

/**
 * Consent records in the database. Reads for decisions take only the clear scope and validity columns; writes are
 * {@link AuditLog.TxWork} so each change commits together with the audit entry that records it.
 *
 * <p>Each row carries a MAC (the audit trail's key, kept in the keystore, not the database) over every clear column,
 * so a row edited in the database - a revocation cleared, an expiry moved, a scope widened - no longer matches it.
 * A decision never trusts such a row: it comes back as kind {@value ConsentRecord#TAMPERED} and the gate denies. The
 * sealed details are authenticated by their own AES-GCM tag, bound to the record's id.
 */
@Repository
public class ConsentStore implements AuditTrail.Covered, ContactWriter.MergeFollower {

    private static final String COLUMNS = "id, contact_id, kind, purpose, channel, form, remuneration, source,"
            + " recorded_by, effective_at, expires_at, revoked_at, recorded_at, key_id, mac";
    private static final String MAC_DOMAIN = "consent-record";

    private final JdbcTemplate jdbc;
    private final FieldCipher cipher;

    public ConsentStore(JdbcTemplate jdbc, FieldCipher cipher) {
        this.jdbc = jdbc;
        this.cipher = cipher;
    }

    /**
     * Every record of a contact, without details: what a decision reads. Never cached, so a revocation is seen. A
     * record whose MAC fails comes back as kind {@value ConsentRecord#TAMPERED} (scope and dates as read).
     */
    /** Contacts with an opt-out in force (any channel, any purpose): a segment's {@code unsubscribed()}. */
    public java.util.Set<UUID> optedOut() {
        return new java.util.HashSet<>(jdbc.queryForList("SELECT DISTINCT contact_id FROM consent_record"
                + " WHERE kind = 'opt-out' AND revoked_at IS NULL", UUID.class));
    }

    public List<ConsentRecord> forDecision(UUID contactId) {
        return jdbc.query("SELECT " + COLUMNS + " FROM consent_record WHERE contact_id = ?",
                (rs, n) -> intact(rs) ? record(rs, null) : tampered(record(rs, null)), contactId);
    }

    /**
     * {@link #forDecision} for several contacts in one read (a campaign's batch of recipients): every record of each,
     * without details, MAC-checked the same way; a contact without records maps to an empty list. Never cached.
     */
    public Map<UUID, List<ConsentRecord>> forDecisionAll(java.util.Collection<UUID> contactIds) {
        Map<UUID, List<ConsentRecord>> out = new java.util.HashMap<>();
        for (UUID id : contactIds) {
            out.put(id, new ArrayList<>());
        }
        List<UUID> ids = new ArrayList<>(out.keySet());
        for (int from = 0; from < ids.size(); from += 500) {
            List<UUID> part = ids.subList(from, Math.min(ids.size(), from + 500));
            jdbc.query("SELECT " + COLUMNS + " FROM consent_record WHERE contact_id IN ("
                    + String.join(", ", java.util.Collections.nCopies(part.size(), "?")) + ")", rs -> {
                        ConsentRecord r = intact(rs) ? record(rs, null) : tampered(record(rs, null));
                        out.get(rs.getObject(2, UUID.class)).add(r);
                    }, part.toArray());
        }
        return out;
    }

    /** Every record of a contact with its details opened, oldest first. */
    public List<ConsentRecord> withDetails(UUID contactId) {
        return jdbc.query("SELECT " + COLUMNS + ", payload FROM consent_record WHERE contact_id = ?"
                + " ORDER BY recorded_at, id", (rs, n) -> record(rs, open(rs)), contactId);
    }

    public Optional<ConsentRecord> find(UUID id) {
        return jdbc.query("SELECT " + COLUMNS + ", payload FROM consent_record WHERE id = ?",
                (rs, n) -> record(rs, open(rs)), id).stream().findFirst();
    }

    /** Whether the record's row still matches its MAC (empty: no such record). */
    Optional<Boolean> intact(UUID id) {
        return jdbc.query("SELECT " + COLUMNS + " FROM consent_record WHERE id = ?", (rs, n) -> intact(rs), id)
                .stream().findFirst();
    }

    /**
     * The records whose MAC fails, oldest first, for the audit trail's verification (by id: never a value). Reads
     * every record: runs with the verification, not on a hot path.
     */
    @Override
    public List<String> tampered(Connection c) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM consent_record"
                + " ORDER BY recorded_at, id")) {
            ps.setFetchSize(1000);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    if (!intact(rs)) {
                        out.add("consent record " + rs.getObject(1, UUID.class) + " does not match its MAC (edited"
                                + " in the database): the gate denies its contact until it is restored");
                    }
                }
            }
        }
        return out;
    }

    /** A record's new MAC, to be written once every row of the statement has been read. */
    record MacUpdate(UUID id, byte[] mac) {
    }

    /**
     * An A40 merge: the merged-away contacts' records move to the survivor, each re-MACed for it. A row already
     * failing its MAC moves as it is and keeps failing (re-MACing it would launder the edit).
     */
    @Override
    public void merged(Connection c, Map<UUID, UUID> mergedInto) throws SQLException {
        for (Map.Entry<UUID, UUID> m : mergedInto.entrySet()) {
            List<MacUpdate> moves = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM consent_record"
                    + " WHERE contact_id = ? FOR UPDATE")) {
                ps.setObject(1, m.getKey());
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        ConsentRecord r = record(rs, null);
                        byte[] mac = intact(rs) ? mac(new ConsentRecord(r.id(), m.getValue(), r.kind(), r.purpose(),
                                r.channel(), r.form(), r.remuneration(), r.source(), r.recordedBy(), r.effectiveAt(),
                                r.expiresAt(), r.revokedAt(), r.recordedAt(), null), rs.getString(14))
                                : rs.getBytes(15);
                        moves.add(new MacUpdate(r.id(), mac));
                    }
                }
            }
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE consent_record SET contact_id = ?, mac = ? WHERE id = ?")) {
                for (MacUpdate move : moves) {
                    ps.setObject(1, m.getValue());
                    ps.setBytes(2, move.mac());
                    ps.setObject(3, move.id());
                    ps.addBatch();
                }
                ps.executeBatch();
            }
        }
    }

    /** The insert of a new record, to run in the audit writer's transaction. */
    AuditLog.TxWork insert(ConsentRecord given, Map<String, Object> details) {
        ConsentRecord r = stored(given);
        byte[] sealed = cipher.seal(JsonMaps.write(details), "consent:" + r.id());
        String keyId = cipher.activeKeyId();
        byte[] mac = mac(r, keyId);
        return c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO consent_record (" + COLUMNS
                    + ", payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
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
                ps.setBytes(15, mac);
                ps.setBytes(16, sealed);
                ps.executeUpdate();
            }
        };
    }

    /**
     * The revocation of a record, to run in the audit writer's transaction; fails if it is already revoked, or if the
     * row no longer matches its MAC (re-MACing it would launder an edit). {@code r} is the record as read.
     */
    AuditLog.TxWork revoke(ConsentRecord r, Instant at) {
        return c -> {
            String keyId;
            byte[] old;
            try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM consent_record WHERE id = ?"
                    + " FOR UPDATE")) {
                ps.setObject(1, r.id());
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next() || !intact(rs)) {
                        throw new SQLException("consent record missing or failing its MAC");
                    }
                    keyId = rs.getString(14);
                    old = rs.getBytes(15);
                }
            }
            ConsentRecord revoked = stored(new ConsentRecord(r.id(), r.contactId(), r.kind(), r.purpose(),
                    r.channel(), r.form(), r.remuneration(), r.source(), r.recordedBy(), r.effectiveAt(),
                    r.expiresAt(), at, r.recordedAt(), null));
            try (PreparedStatement ps = c.prepareStatement("UPDATE consent_record SET revoked_at = ?, mac = ?"
                    + " WHERE id = ? AND revoked_at IS NULL AND mac = ?")) {
                ps.setTimestamp(1, ts(revoked.revokedAt()));
                ps.setBytes(2, mac(revoked, keyId));
                ps.setObject(3, r.id());
                ps.setBytes(4, old);
                if (ps.executeUpdate() != 1) {
                    throw new SQLException("consent record already revoked");
                }
            }
        };
    }

    /** The MAC of a record's clear columns; the V10_8 migration MACs rows written before the column existed. */
    byte[] mac(ConsentRecord r, String keyId) {
        return mac(cipher, r, keyId);
    }

    static byte[] mac(FieldCipher cipher, ConsentRecord r, String keyId) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(256);
        try (DataOutputStream out = new DataOutputStream(buf)) {
            str(out, r.id().toString());
            str(out, r.contactId().toString());
            str(out, r.kind());
            str(out, r.purpose());
            str(out, r.channel());
            str(out, r.form());
            out.writeBoolean(r.remuneration());
            str(out, r.source());
            str(out, r.recordedBy());
            time(out, r.effectiveAt());
            time(out, r.expiresAt());
            time(out, r.revokedAt());
            time(out, r.recordedAt());
            str(out, keyId);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return cipher.mac(MAC_DOMAIN, buf.toByteArray());
    }

    private boolean intact(ResultSet rs) throws SQLException {
        byte[] stored = rs.getBytes(15);
        return stored != null && MessageDigest.isEqual(stored, mac(record(rs, null), rs.getString(14)));
    }

    private static ConsentRecord tampered(ConsentRecord r) {
        return new ConsentRecord(r.id(), r.contactId(), ConsentRecord.TAMPERED, r.purpose(), r.channel(), r.form(),
                r.remuneration(), r.source(), r.recordedBy(), r.effectiveAt(), r.expiresAt(), r.revokedAt(),
                r.recordedAt(), null);
    }

    /** Times as both databases keep them (microseconds), so the MAC computed before the insert survives a read. */
    private static ConsentRecord stored(ConsentRecord r) {
        return new ConsentRecord(r.id(), r.contactId(), r.kind(), r.purpose(), r.channel(), r.form(),
                r.remuneration(), r.source(), r.recordedBy(), micros(r.effectiveAt()), micros(r.expiresAt()),
                micros(r.revokedAt()), micros(r.recordedAt()), r.details());
    }

    private static Instant micros(Instant i) {
        return i == null ? null : i.truncatedTo(ChronoUnit.MICROS);
    }

    private static void str(DataOutputStream out, String s) throws IOException {
        if (s == null) {
            out.writeInt(-1);
        } else {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            out.writeInt(b.length);
            out.write(b);
        }
    }

    private static void time(DataOutputStream out, Instant i) throws IOException {
        out.writeBoolean(i != null);
        if (i != null) {
            out.writeLong(i.getEpochSecond());
            out.writeInt(i.getNano());
        }
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
        return JsonMaps.read(cipher.open(rs.getString(14), rs.getBytes(16), "consent:" + id));
    }
}
