package io.caravan.audit;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.caravan.crypto.FieldCipher;
import io.caravan.system.JsonMaps;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.sql.DataSource;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Repository;

/** Reads the audit trail: filtered listings for compliance, and verification of the whole chain. */
@Repository
public class AuditTrail {

    private static final String COLUMNS = "seq, id, at, actor, action, contact_id, purpose, channel, outcome, key_id,"
            + " payload, mac";

    private final DataSource dataSource;
    private final JdbcTemplate jdbc;
    private final FieldCipher cipher;

    public AuditTrail(DataSource dataSource, FieldCipher cipher) {
        this.dataSource = dataSource;
        this.jdbc = new JdbcTemplate(dataSource);
        this.cipher = cipher;
    }

    /** The result of a verification. {@code firstBroken} is the sequence number of the first entry that fails. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Verification(boolean valid, long verifiedEntries, long headSeq, long purgedThrough,
            Long firstBroken, String problem) {
    }

    /**
     * Entries oldest first. {@code contacts}: the contact and the records merged into it (empty: all);
     * {@code action} exact or a prefix ending in '.' (e.g. {@code consent.}).
     */
    public List<AuditEntry> find(Collection<UUID> contacts, Instant from, Instant to, String action, long afterSeq,
            int limit) {
        StringBuilder filters = new StringBuilder();
        List<Object> filterArgs = new ArrayList<>();
        if (from != null) {
            filters.append(" AND at >= ?");
            filterArgs.add(Timestamp.from(from));
        }
        if (to != null) {
            filters.append(" AND at < ?");
            filterArgs.add(Timestamp.from(to));
        }
        if (action != null && !action.isBlank()) {
            filters.append(action.endsWith(".") ? " AND action LIKE ?" : " AND action = ?");
            filterArgs.add(action.endsWith(".") ? action + "%" : action);
        }
        String order = " ORDER BY seq LIMIT " + Math.max(1, Math.min(limit, 1000));
        if (contacts == null || contacts.isEmpty()) {
            List<Object> args = new ArrayList<>(List.of(afterSeq));
            args.addAll(filterArgs);
            return jdbc.query("SELECT " + COLUMNS + " FROM audit_entry WHERE seq > ?" + filters + order,
                    (rs, n) -> entry(rs), args.toArray());
        }
        // indexed entries up to indexed_through from audit_contact, the few after it by scanning
        long indexed = jdbc.queryForObject("SELECT indexed_through FROM audit_index_state WHERE id = 1", Long.class);
        String in = "(" + "?,".repeat(contacts.size() - 1) + "?)";
        List<Object> args = new ArrayList<>();
        args.addAll(contacts);
        args.add(afterSeq);
        args.add(indexed);
        args.addAll(filterArgs);
        args.add(Math.max(afterSeq, indexed));
        args.addAll(contacts);
        args.addAll(filterArgs);
        String sql = "SELECT " + COLUMNS + " FROM audit_entry WHERE seq IN (SELECT seq FROM audit_contact"
                + " WHERE contact_id IN " + in + " AND seq > ? AND seq <= ?)" + filters
                + " UNION ALL SELECT " + COLUMNS + " FROM audit_entry WHERE seq > ? AND contact_id IN " + in + filters
                + order;
        return jdbc.query(sql, (rs, n) -> entry(rs), args.toArray());
    }

    private AuditEntry entry(ResultSet rs) throws SQLException {
        UUID id = rs.getObject(2, UUID.class);
        byte[] payload = rs.getBytes(11);
        Map<String, Object> details = payload == null ? Map.of()
                : JsonMaps.read(cipher.open(rs.getString(10), payload, "audit:" + id));
        return new AuditEntry(rs.getLong(1), id, rs.getTimestamp(3).toInstant(), rs.getString(4), rs.getString(5),
                rs.getObject(6, UUID.class), rs.getString(7), rs.getString(8), rs.getString(9), details);
    }

    /**
     * Walks the chain from the purge anchor to the head, recomputing every MAC. Detects an edited entry (its MAC no
     * longer matches), a deleted one (a gap in the numbers), a reordered or inserted one (the MAC of its predecessor
     * no longer leads to it), and a truncated tail or forged anchor (the chain record's own MAC).
     */
    public Verification verify() {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            long purgedThrough;
            byte[] purgedMac;
            long headSeq;
            byte[] headMac;
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT purged_through, purged_mac, head_seq, head_mac, mac FROM audit_chain WHERE id = 1");
                    ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return new Verification(false, 0, 0, 0, 1L, "the chain record is missing");
                }
                purgedThrough = rs.getLong(1);
                purgedMac = rs.getBytes(2);
                headSeq = rs.getLong(3);
                headMac = rs.getBytes(4);
                if (!Arrays.equals(rs.getBytes(5),
                        AuditChain.chainMac(cipher, purgedThrough, purgedMac, headSeq, headMac))) {
                    return new Verification(false, 0, headSeq, purgedThrough, purgedThrough + 1,
                            "the chain record (anchor and head) was altered");
                }
            }
            long expected = purgedThrough + 1;
            byte[] prev = purgedMac;
            long verified = 0;
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT " + COLUMNS + " FROM audit_entry WHERE seq > ? AND seq <= ? ORDER BY seq")) {
                ps.setFetchSize(1000);
                ps.setLong(1, purgedThrough);
                ps.setLong(2, headSeq);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        long seq = rs.getLong(1);
                        if (seq != expected) {
                            return new Verification(false, verified, headSeq, purgedThrough, expected,
                                    "entry " + expected + " is missing (deleted or renumbered)");
                        }
                        byte[] digest = AuditChain.contentDigest(rs.getObject(2, UUID.class),
                                rs.getTimestamp(3).toInstant(), rs.getString(4), rs.getString(5),
                                rs.getObject(6, UUID.class), rs.getString(7), rs.getString(8), rs.getString(9),
                                rs.getString(10), rs.getBytes(11));
                        byte[] mac = AuditChain.entryMac(cipher, prev, seq, digest);
                        if (!Arrays.equals(mac, rs.getBytes(12))) {
                            return new Verification(false, verified, headSeq, purgedThrough, seq,
                                    "entry " + seq + " does not match its MAC (edited, moved or inserted)");
                        }
                        prev = mac;
                        verified++;
                        expected++;
                    }
                }
            }
            c.commit();
            if (expected != headSeq + 1 || !Arrays.equals(prev, headMac)) {
                return new Verification(false, verified, headSeq, purgedThrough, expected,
                        "entries " + expected + " to " + headSeq + " are missing (tail truncated)");
            }
            return new Verification(true, verified, headSeq, purgedThrough, null, null);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the audit trail", e);
        }
    }
}
