package io.caravan.audit;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.caravan.crypto.FieldCipher;
import io.caravan.system.JsonMaps;
import java.io.IOException;
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
    private final AuditCheckpoints checkpoints;
    private final java.util.function.Supplier<List<Covered>> covered;

    /** The chain alone: no checkpoint file, no other tables. */
    public AuditTrail(DataSource dataSource, FieldCipher cipher) {
        this(dataSource, cipher, null, List::of);
    }

    @org.springframework.beans.factory.annotation.Autowired
    public AuditTrail(DataSource dataSource, FieldCipher cipher, AuditCheckpoints checkpoints,
            org.springframework.beans.factory.ObjectProvider<Covered> covered) {
        this(dataSource, cipher, checkpoints, () -> covered.orderedStream().toList());
    }

    public AuditTrail(DataSource dataSource, FieldCipher cipher, AuditCheckpoints checkpoints,
            java.util.function.Supplier<List<Covered>> covered) {
        this.dataSource = dataSource;
        this.jdbc = new JdbcTemplate(dataSource);
        this.cipher = cipher;
        this.checkpoints = checkpoints;
        this.covered = covered;
    }

    /**
     * The result of a verification. {@code firstBroken} is the sequence number of the first entry that fails;
     * {@code problem} the first thing found; {@code tampered} everything found outside the chain itself (the
     * by-contact index, MACed rows of other tables, the checkpoints), named by sequence numbers and record ids only.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Verification(boolean valid, long verifiedEntries, long headSeq, long purgedThrough,
            Long firstBroken, String problem, List<String> tampered, Long checkpointSeq) {

        Verification(boolean valid, long verifiedEntries, long headSeq, long purgedThrough, Long firstBroken,
                String problem) {
            this(valid, verifiedEntries, headSeq, purgedThrough, firstBroken, problem, null, null);
        }
    }

    /**
     * Rows of another table that the audit key covers (e.g. consent records): verification asks each for the rows
     * that no longer match their MAC, inside its own transaction. Lets the audit package check them without
     * depending on the packages that own them.
     */
    public interface Covered {
        /** One description per row that fails (table and id; never a value). */
        List<String> tampered(Connection c) throws SQLException;
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
     * no longer leads to it), and a truncated tail or forged anchor (the chain record's own MAC). Beside the chain it
     * reads the checkpoint file (a head that went back, or an entry that differs from what a checkpoint saw: the
     * database was rolled back or replaced), compares the by-contact index with the entries it indexes (rows removed,
     * added or moved), and asks each {@link Covered} table for rows that fail their MAC.
     */
    public Verification verify() {
        // read before the database: every checkpoint in it then describes a head the database had committed
        long checkpointBytes = checkpoints == null ? 0 : checkpoints.length();
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try {
                return verify(c, checkpointBytes);
            } finally {
                c.commit();
            }
        } catch (SQLException | IOException e) {
            throw new IllegalStateException("cannot read the audit trail", e);
        }
    }

    private Verification verify(Connection c, long checkpointBytes) throws SQLException, IOException {
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
        List<String> tampered = new ArrayList<>();
        Long firstBroken = null;
        String problem = null;
        long expected = purgedThrough + 1;
        byte[] prev = purgedMac;
        long verified = 0;
        Long newestCheckpoint = null;
        try (AuditCheckpoints.Reader cps = checkpoints == null ? null : checkpoints.read(checkpointBytes)) {
            Checkpoints cp = new Checkpoints(cps, tampered);
            // checkpoints of purged entries cannot be checked, but one of the anchor itself can
            while (cp.current != null && cp.current.seq() <= purgedThrough) {
                if (cp.current.seq() == purgedThrough && purgedThrough > 0
                        && !Arrays.equals(cp.current.head(), purgedMac)) {
                    tampered.add(cp.diverges(purgedThrough));
                }
                cp.advance();
            }
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT " + COLUMNS + " FROM audit_entry WHERE seq > ? AND seq <= ? ORDER BY seq")) {
                ps.setFetchSize(1000);
                ps.setLong(1, purgedThrough);
                ps.setLong(2, headSeq);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        long seq = rs.getLong(1);
                        if (seq != expected) {
                            firstBroken = expected;
                            problem = "entry " + expected + " is missing (deleted or renumbered)";
                            break;
                        }
                        byte[] digest = AuditChain.contentDigest(rs.getObject(2, UUID.class),
                                rs.getTimestamp(3).toInstant(), rs.getString(4), rs.getString(5),
                                rs.getObject(6, UUID.class), rs.getString(7), rs.getString(8), rs.getString(9),
                                rs.getString(10), rs.getBytes(11));
                        byte[] mac = AuditChain.entryMac(cipher, prev, seq, digest);
                        if (!Arrays.equals(mac, rs.getBytes(12))) {
                            firstBroken = seq;
                            problem = "entry " + seq + " does not match its MAC (edited, moved or inserted)";
                            break;
                        }
                        while (cp.current != null && cp.current.seq() <= seq) {
                            // one below seq can only follow a higher one: already reported as going back
                            if (cp.current.seq() == seq && !Arrays.equals(cp.current.head(), mac)) {
                                tampered.add(cp.diverges(seq));
                                firstBroken = firstBroken == null ? seq : firstBroken;
                            }
                            cp.advance();
                        }
                        prev = mac;
                        verified++;
                        expected++;
                    }
                }
            }
            if (problem == null && (expected != headSeq + 1 || !Arrays.equals(prev, headMac))) {
                firstBroken = expected;
                problem = "entries " + expected + " to " + headSeq + " are missing (tail truncated)";
            }
            if (problem == null && cp.current != null) {
                // a checkpoint saw more of the chain than the database now holds
                AuditCheckpoints.Checkpoint beyond = cp.current;
                firstBroken = headSeq + 1;
                tampered.add("the database's chain ends at entry " + headSeq + ", but the checkpoint of "
                        + beyond.at() + " (checkpoint file line " + beyond.line() + ") saw entry " + beyond.seq()
                        + ": the database was rolled back to an older copy or its newest entries were removed");
            }
            while (cp.current != null) {
                cp.advance();
            }
            newestCheckpoint = cp.newest;
        }
        if (problem == null) {
            tampered.addAll(indexProblems(c, purgedThrough, headSeq));
        }
        for (Covered t : covered.get()) {
            tampered.addAll(t.tampered(c));
        }
        boolean valid = problem == null && tampered.isEmpty();
        return new Verification(valid, verified, headSeq, purgedThrough, firstBroken,
                problem != null ? problem : tampered.isEmpty() ? null : tampered.get(0),
                tampered.isEmpty() ? null : List.copyOf(tampered.subList(0, Math.min(tampered.size(), 50))),
                newestCheckpoint);
    }

    /** The checkpoints being walked beside the chain: the current one, and whether their order goes back. */
    private static final class Checkpoints {
        private final AuditCheckpoints.Reader reader;
        private final List<String> tampered;
        AuditCheckpoints.Checkpoint current;
        Long newest;
        private long highest;

        Checkpoints(AuditCheckpoints.Reader reader, List<String> tampered) throws IOException {
            this.reader = reader;
            this.tampered = tampered;
            advance();
        }

        void advance() throws IOException {
            current = reader == null ? null : reader.next();
            if (current == null) {
                if (reader != null && reader.problem != null && !tampered.contains(reader.problem)) {
                    tampered.add(reader.problem);
                }
                return;
            }
            if (current.seq() < highest) {
                tampered.add("checkpoint file line " + current.line() + " goes back from entry " + highest + " to "
                        + current.seq() + ": the database was rolled back to an older copy");
            }
            highest = Math.max(highest, current.seq());
            newest = current.seq();
        }

        String diverges(long seq) {
            return "entry " + seq + " differs from the checkpoint of " + current.at() + " (checkpoint file line "
                    + current.line() + "): the database was replaced by another copy";
        }
    }

    /**
     * The by-contact index rebuilt from the entries and compared: a row removed hides an entry from the contact's
     * listing and accounting of disclosures; a row added or moved shows another patient's entry. Entries past
     * {@code indexed_through} are found by scanning, so only the indexed part is compared.
     */
    private List<String> indexProblems(Connection c, long purgedThrough, long headSeq) throws SQLException {
        List<String> out = new ArrayList<>();
        long indexed;
        try (PreparedStatement ps = c.prepareStatement("SELECT indexed_through FROM audit_index_state WHERE id = 1");
                ResultSet rs = ps.executeQuery()) {
            if (!rs.next()) {
                return List.of("the by-contact index state (audit_index_state) is missing");
            }
            indexed = rs.getLong(1);
        }
        if (indexed > headSeq) {
            out.add("the by-contact index claims entries up to " + indexed + ", past the head " + headSeq
                    + " (audit_index_state was edited)");
            indexed = headSeq;
        }
        List<Long> missing = seqs(c, "SELECT e.seq FROM audit_entry e WHERE e.contact_id IS NOT NULL AND e.seq > ?"
                + " AND e.seq <= ? AND NOT EXISTS (SELECT 1 FROM audit_contact a WHERE a.contact_id = e.contact_id"
                + " AND a.seq = e.seq) ORDER BY e.seq LIMIT 10", purgedThrough, indexed);
        if (!missing.isEmpty()) {
            out.add("the by-contact index (audit_contact) lacks entries " + missing + (missing.size() == 10
                    ? " and more" : "") + ": the contact's audit listing and accounting of disclosures would omit"
                    + " them");
        }
        List<Long> foreign = seqs(c, "SELECT a.seq FROM audit_contact a WHERE a.seq <= ? OR NOT EXISTS (SELECT 1"
                + " FROM audit_entry e WHERE e.seq = a.seq AND e.contact_id = a.contact_id) ORDER BY a.seq LIMIT 10",
                purgedThrough);
        if (!foreign.isEmpty()) {
            out.add("the by-contact index (audit_contact) has rows for entries " + foreign + (foreign.size() == 10
                    ? " and more" : "") + " that do not name that contact (added or moved)");
        }
        return out;
    }

    private static List<Long> seqs(Connection c, String sql, long... args) throws SQLException {
        List<Long> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setLong(i + 1, args[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getLong(1));
                }
            }
        }
        return out;
    }
}
