package io.caravan.channel;

import io.caravan.audit.AuditLog;
import io.caravan.crypto.FieldCipher;
import io.caravan.system.JsonMaps;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Repository;

/** Outbound messages and the sealed data each is rendered with. */
@Repository
public class MessageStore {

    private static final String COLUMNS = "id, contact_id, channel, purpose, template, status, protection, reasons,"
            + " created_at, updated_at";

    private final JdbcTemplate jdbc;
    private final FieldCipher cipher;
    /** Null: statuses are not logged (unit tests of the queries alone). */
    private final MessageEvents events;

    public MessageStore(JdbcTemplate jdbc, FieldCipher cipher) {
        this(jdbc, cipher, null);
    }

    @org.springframework.beans.factory.annotation.Autowired
    public MessageStore(JdbcTemplate jdbc, FieldCipher cipher, MessageEvents events) {
        this.jdbc = jdbc;
        this.cipher = cipher;
        this.events = events;
    }

    /** The status change, with its {@code message.<status>} event in the log when a stream wants it. */
    private boolean logged(UUID id, MessageStatus status, Instant at, java.util.function.BooleanSupplier change) {
        return events == null ? change.getAsBoolean() : events.logged(id, status.value(), at, change);
    }

    /**
     * Whether a change to {@code status} appends a {@code message.<status>} event (a stream lists it): such a change
     * commits with its event through {@link #finish}, not as statements of another writer's transaction.
     */
    public boolean logsEvent(MessageStatus status) {
        return events != null && events.wanted(status.value());
    }

    public void insert(OutboundMessage m, Map<String, Object> data, String createdBy) {
        byte[] sealed = cipher.seal(JsonMaps.write(data), "message:" + m.id());
        jdbc.update("INSERT INTO outbound_message (id, contact_id, channel, purpose, template, status, protection,"
                + " reasons, created_by, key_id, payload, created_at, updated_at)"
                + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", m.id(), m.contactId(), m.channel(), m.purpose(),
                m.template(), m.status().value(), m.protection(), join(m.reasons()), createdBy, cipher.activeKeyId(), sealed,
                Timestamp.from(m.createdAt()), Timestamp.from(m.updatedAt()));
    }

    /**
     * The same insert as statements for the audit trail's transaction (the planning decision's entry commits with
     * it): the message is sealed here, on the caller's thread. A message already stored under this id (a workflow
     * step run again after a crash) is left as it is and {@code existed} set; the audit writer runs one transaction
     * at a time, so the look-up and the insert cannot race another plan of the same id.
     */
    public AuditLog.TxWork insertWork(OutboundMessage m, Map<String, Object> data, String createdBy, boolean bulk,
            java.util.concurrent.atomic.AtomicBoolean existed) {
        byte[] sealed = cipher.seal(JsonMaps.write(data), "message:" + m.id());
        String keyId = cipher.activeKeyId();
        return c -> {
            // one statement: the insert happens only when no message has the id, and says which by its count
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO outbound_message (id, contact_id, channel,"
                    + " purpose, template, status, protection, reasons, created_by, key_id, payload, created_at,"
                    + " updated_at, bulk) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1"
                    + " FROM outbound_message WHERE id = ?)")) {
                ps.setObject(1, m.id());
                ps.setObject(2, m.contactId());
                ps.setString(3, m.channel());
                ps.setString(4, m.purpose());
                ps.setString(5, m.template());
                ps.setString(6, m.status().value());
                ps.setString(7, m.protection());
                ps.setString(8, join(m.reasons()));
                ps.setString(9, createdBy);
                ps.setString(10, keyId);
                ps.setBytes(11, sealed);
                ps.setTimestamp(12, Timestamp.from(m.createdAt()));
                ps.setTimestamp(13, Timestamp.from(m.updatedAt()));
                ps.setBoolean(14, bulk);
                ps.setObject(15, m.id());
                existed.set(ps.executeUpdate() == 0);
            }
        };
    }

    /**
     * A finished attempt's claim goes with it: the index on {@code claim_until} then holds only the claims of attempts
     * under way, which the sweep for stopped nodes reads every few seconds.
     */
    private static final String CLAIM_GOES = "claimed_by = NULL, claim_node = NULL, claim_until = NULL";

    /**
     * {@link #finish} as statements for the audit trail's transaction (the disclosure's entry commits with it): the
     * message is marked sent in the same commit that records what went to whom.
     */
    public AuditLog.TxWork finishWork(UUID id, MessageStatus status, String protection, List<String> reasons,
            Instant at) {
        return c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE outbound_message SET status = ?, protection = ?,"
                    + " reasons = ?, updated_at = ?, next_attempt_at = NULL, " + CLAIM_GOES
                    + " WHERE id = ? AND status IN (?, ?)")) {
                ps.setString(1, status.value());
                ps.setString(2, protection);
                ps.setString(3, join(reasons));
                ps.setTimestamp(4, Timestamp.from(at));
                ps.setObject(5, id);
                ps.setString(6, MessageStatus.PLANNED.value());
                ps.setString(7, MessageStatus.DEFERRED.value());
                ps.executeUpdate();
            }
        };
    }

    /**
     * Moves a planned or deferred message on; false if it was neither any more (already sent by another attempt).
     */
    public boolean finish(UUID id, MessageStatus status, String protection, List<String> reasons, Instant at) {
        return logged(id, status, at, () -> jdbc.update("UPDATE outbound_message SET status = ?, protection = ?,"
                + " reasons = ?, updated_at = ?, next_attempt_at = NULL, " + CLAIM_GOES
                + " WHERE id = ? AND status IN (?, ?)",
                status.value(), protection, join(reasons), Timestamp.from(at), id, MessageStatus.PLANNED.value(),
                MessageStatus.DEFERRED.value()) == 1);
    }

    /**
     * Claims a planned or deferred message for one send attempt until {@code until} (a cluster node's gate, before it
     * decides): false when another attempt holds an unexpired claim - it is sending the message, on this node or
     * another.
     */
    public boolean claim(UUID id, String attempt, Instant now, Instant until) {
        return claim(id, attempt, null, now, until);
    }

    /** {@link #claim(UUID, String, Instant, Instant)} by an attempt on {@code node}, so that its death frees it. */
    public boolean claim(UUID id, String attempt, String node, Instant now, Instant until) {
        return jdbc.update("UPDATE outbound_message SET claimed_by = ?, claim_node = ?, claim_until = ? WHERE id = ?"
                + " AND status IN (?, ?) AND (claim_until IS NULL OR claim_until <= ?)", attempt, node,
                Timestamp.from(until), id, MessageStatus.PLANNED.value(), MessageStatus.DEFERRED.value(),
                Timestamp.from(now)) == 1;
    }

    /** An unexpired claim on a planned or deferred message: its attempt, its node (null: not recorded), until when. */
    public record Claim(String attempt, String node, Instant until) {
    }

    public Optional<Claim> claimOf(UUID id, Instant now) {
        return jdbc.query("SELECT claimed_by, claim_node, claim_until FROM outbound_message WHERE id = ?"
                + " AND status IN (?, ?) AND claim_until > ?", (rs, i) -> new Claim(rs.getString(1), rs.getString(2),
                        rs.getTimestamp(3).toInstant()), id, MessageStatus.PLANNED.value(),
                MessageStatus.DEFERRED.value(), Timestamp.from(now)).stream().findFirst();
    }

    /**
     * Takes over the claim of attempt {@code from} (its node stopped) for {@code attempt} on {@code node}: false when
     * that claim is gone already - finished, or taken over by another node first.
     */
    public boolean takeOver(UUID id, String from, String attempt, String node, Instant until) {
        return jdbc.update("UPDATE outbound_message SET claimed_by = ?, claim_node = ?, claim_until = ? WHERE id = ?"
                + " AND claimed_by = ? AND status IN (?, ?)", attempt, node, Timestamp.from(until), id, from,
                MessageStatus.PLANNED.value(), MessageStatus.DEFERRED.value()) == 1;
    }

    /**
     * The nodes holding unexpired claims on planned or deferred messages, each with the time its oldest such claim
     * runs out.
     */
    public Map<String, Instant> claimingNodes(Instant now) {
        Map<String, Instant> out = new java.util.LinkedHashMap<>();
        jdbc.query("SELECT claim_node, MIN(claim_until) FROM outbound_message WHERE claim_until > ?"
                + " AND status IN (?, ?) AND claim_node IS NOT NULL GROUP BY claim_node", rs -> {
                    out.put(rs.getString(1), rs.getTimestamp(2).toInstant());
                }, Timestamp.from(now), MessageStatus.PLANNED.value(), MessageStatus.DEFERRED.value());
        return out;
    }

    /** The unexpired claims {@code node} holds on planned or deferred messages, by message. */
    public Map<UUID, Claim> claimsOf(String node, Instant now) {
        Map<UUID, Claim> out = new java.util.LinkedHashMap<>();
        jdbc.query("SELECT id, claimed_by, claim_until FROM outbound_message WHERE claim_node = ? AND claim_until > ?"
                + " AND status IN (?, ?)", rs -> {
                    out.put(rs.getObject(1, UUID.class), new Claim(rs.getString(2), node,
                            rs.getTimestamp(3).toInstant()));
                }, node, Timestamp.from(now), MessageStatus.PLANNED.value(), MessageStatus.DEFERRED.value());
        return out;
    }

    /** A claimed message falls due now, for another gate to take over the claim of attempt {@code attempt}. */
    public boolean dueIfClaimedBy(UUID id, String attempt, Instant now) {
        return jdbc.update("UPDATE outbound_message SET next_attempt_at = ? WHERE id = ? AND claimed_by = ?"
                + " AND status IN (?, ?)", Timestamp.from(now), id, attempt, MessageStatus.PLANNED.value(),
                MessageStatus.DEFERRED.value()) == 1;
    }

    /**
     * After a lost {@link #claim}: the message falls due when the other attempt's claim runs out, so that it still
     * goes if the claiming node died before finishing it (a finished message is no longer taken).
     */
    public void dueAfterClaim(UUID id, Instant now) {
        jdbc.update("UPDATE outbound_message SET next_attempt_at = claim_until WHERE id = ? AND status IN (?, ?)"
                + " AND claim_until > ? AND (next_attempt_at IS NULL OR next_attempt_at < claim_until)", id,
                MessageStatus.PLANNED.value(), MessageStatus.DEFERRED.value(), Timestamp.from(now));
    }

    /**
     * Planned messages handed to a send queue before {@code before} and neither sent nor stopped since: on several
     * nodes, those a killed node held in its memory. Made due, so message-retry hands them over (the gate's claim
     * keeps a message that is merely slow on a live node from going twice); how many.
     */
    public int dueIfStranded(Instant before, Instant now) {
        return jdbc.update("UPDATE outbound_message SET next_attempt_at = ? WHERE status = ?"
                + " AND next_attempt_at IS NULL AND updated_at < ? AND (claim_until IS NULL OR claim_until <= ?)",
                Timestamp.from(now), MessageStatus.PLANNED.value(), Timestamp.from(before), Timestamp.from(now));
    }

    /** A temporary failure: the message waits until {@code next}; {@code counts} adds one to its attempts. */
    public boolean defer(UUID id, List<String> reasons, boolean counts, Instant next, Instant at) {
        // the attempt is over: its claim goes, so the retry may run on any node
        return jdbc.update("UPDATE outbound_message SET status = ?, reasons = ?, attempts = attempts + ?,"
                + " next_attempt_at = ?, updated_at = ?, " + CLAIM_GOES + " WHERE id = ?"
                + " AND status IN (?, ?)",
                MessageStatus.DEFERRED.value(), join(reasons), counts ? 1 : 0, Timestamp.from(next), Timestamp.from(at),
                id, MessageStatus.PLANNED.value(), MessageStatus.DEFERRED.value()) == 1;
    }

    /**
     * Messages of {@code channel} deferred for {@code reason} alone (a channel's connection that is back): due now
     * instead of at the end of their wait; how many.
     */
    public int dueNow(String channel, String reason, Instant now) {
        return jdbc.update("UPDATE outbound_message SET next_attempt_at = ? WHERE status = ? AND next_attempt_at > ?"
                + " AND channel = ? AND reasons = ?", Timestamp.from(now), MessageStatus.DEFERRED.value(),
                Timestamp.from(now), channel, reason);
    }

    public int attempts(UUID id) {
        List<Integer> a = jdbc.queryForList("SELECT attempts FROM outbound_message WHERE id = ?", Integer.class, id);
        return a.isEmpty() ? 0 : a.get(0);
    }

    /**
     * The prompt lane's deferred messages whose time has come, and planned ones parked while its send queue was full,
     * leased for {@code lease} so the next poll does not hand them over again while they wait in the send queue.
     */
    public List<UUID> takeDue(Instant now, java.time.Duration lease) {
        return takeDue(now, lease, List.of(), false, TAKE);
    }

    /**
     * {@link #takeDue(Instant, java.time.Duration)} for one lane ({@code bulk}: batches and marketing), at most
     * {@code max} of them, without the messages of {@code skipChannels}.
     */
    public List<UUID> takeDue(Instant now, java.time.Duration lease, List<String> skipChannels, boolean bulk,
            int max) {
        // one ordered read of the (status, bulk, next_attempt_at) index per status, merged: an IN list on status
        // would make the database sort every due row of the lane (half a million parked ones: half a second)
        String skip = skipChannels.isEmpty() ? ""
                : " AND channel NOT IN (" + "?,".repeat(skipChannels.size() - 1) + "?)";
        String one = "(SELECT id, next_attempt_at FROM outbound_message WHERE status = ? AND bulk = ?"
                + " AND next_attempt_at <= ?" + skip + " ORDER BY next_attempt_at LIMIT " + max + ")";
        List<Object> args = new java.util.ArrayList<>();
        for (MessageStatus status : List.of(MessageStatus.DEFERRED, MessageStatus.PLANNED)) {
            args.addAll(List.of(status.value(), bulk, Timestamp.from(now)));
            args.addAll(skipChannels);
        }
        List<UUID> due = jdbc.queryForList("SELECT id FROM (" + one + " UNION ALL " + one + ") d"
                + " ORDER BY next_attempt_at LIMIT " + max, UUID.class, args.toArray());
        List<UUID> taken = new java.util.ArrayList<>();
        for (UUID id : due) {
            if (jdbc.update("UPDATE outbound_message SET next_attempt_at = ? WHERE id = ? AND status IN (?, ?)"
                    + " AND next_attempt_at <= ?", Timestamp.from(now.plus(lease)), id,
                    MessageStatus.DEFERRED.value(), MessageStatus.PLANNED.value(), Timestamp.from(now)) == 1) {
                taken.add(id);
            }
        }
        return taken;
    }

    /** How many {@link #takeDue} takes at most. */
    public static final int TAKE = 1000;

    /**
     * A planned message the send queue had no room for: it waits in the store, due now, and {@link #takeDue} hands
     * it over when there is room (a lease that could not be handed over is given back the same way).
     */
    public void park(UUID id, Instant now) {
        jdbc.update("UPDATE outbound_message SET next_attempt_at = ? WHERE id = ? AND status IN (?, ?)",
                Timestamp.from(now), id, MessageStatus.PLANNED.value(), MessageStatus.DEFERRED.value());
    }

    /** A later report about a sent message (a DSN): {@code sent} becomes {@code status}. */
    public boolean report(UUID id, MessageStatus status, String reason, Instant at) {
        // a report without a reason (delivered) keeps the reasons the send recorded
        return logged(id, status, at, () -> jdbc.update("UPDATE outbound_message SET status = ?,"
                + " reasons = COALESCE(?, reasons), updated_at = ? WHERE id = ?"
                + " AND status IN (?, ?)", status.value(), reason, Timestamp.from(at), id,
                MessageStatus.SENT.value(), MessageStatus.DELIVERED.value()) == 1);
    }

    /** See {@link Messages#createdSince}. */
    List<Instant> createdSince(UUID contactId, String purpose, Instant since) {
        return jdbc.queryForList("SELECT created_at FROM outbound_message WHERE contact_id = ? AND purpose = ?"
                + " AND status <> ? AND created_at > ? ORDER BY created_at", Timestamp.class, contactId, purpose,
                MessageStatus.BLOCKED.value(), Timestamp.from(since)).stream().map(Timestamp::toInstant).toList();
    }

    public Optional<OutboundMessage> find(UUID id) {
        return jdbc.query("SELECT " + COLUMNS + " FROM outbound_message WHERE id = ?", (rs, n) -> row(rs), id)
                .stream().findFirst();
    }

    /** {@link #find} for several ids in one read (a campaign's batch, planned before a crash?): those stored. */
    public Map<UUID, OutboundMessage> findAll(java.util.Collection<UUID> ids) {
        Map<UUID, OutboundMessage> out = new java.util.HashMap<>();
        List<UUID> all = List.copyOf(ids);
        for (int from = 0; from < all.size(); from += 500) {
            List<UUID> part = all.subList(from, Math.min(all.size(), from + 500));
            jdbc.query("SELECT " + COLUMNS + " FROM outbound_message WHERE id IN ("
                    + String.join(", ", java.util.Collections.nCopies(part.size(), "?")) + ")", rs -> {
                        OutboundMessage m = row(rs);
                        out.put(m.id(), m);
                    }, part.toArray());
        }
        return out;
    }

    public List<OutboundMessage> forContact(UUID contactId) {
        return jdbc.query("SELECT " + COLUMNS + " FROM outbound_message WHERE contact_id = ? ORDER BY created_at, id",
                (rs, n) -> row(rs), contactId);
    }

    /** Messages accepted but not yet sent (after a restart they are sent again). */
    /**
     * After a start, every planned message is due now (none is in this node's send queues yet): those that were
     * queued when the hub stopped, and those leased or claimed by an attempt of the last run. How many.
     */
    public int plannedDueNow(Instant now) {
        return jdbc.update("UPDATE outbound_message SET next_attempt_at = ? WHERE status = ?"
                + " AND (next_attempt_at IS NULL OR next_attempt_at > ?)", Timestamp.from(now),
                MessageStatus.PLANNED.value(), Timestamp.from(now));
    }

    public Map<String, Object> data(UUID id) {
        return jdbc.query("SELECT key_id, payload FROM outbound_message WHERE id = ?", rs -> {
            if (!rs.next()) {
                return Map.<String, Object>of();
            }
            return JsonMaps.read(cipher.open(rs.getString(1), rs.getBytes(2), "message:" + id));
        }, id);
    }

    /**
     * The messages one actor planned, counted by status and, for blocked ones, by their reasons (a campaign variant's
     * report: {@code campaign:<id>:<variant>}). Keys: the status word, and {@code blocked:<reasons>}.
     */
    public Map<String, Long> countsBy(String actor) {
        Map<String, Long> out = new java.util.TreeMap<>();
        // grouped by reasons too (few distinct lists); only a blocked message's reasons are counted apart
        jdbc.query("SELECT status, reasons, COUNT(*) FROM outbound_message WHERE created_by = ?"
                + " GROUP BY status, reasons", rs -> {
                    out.merge(rs.getString(1), rs.getLong(3), Long::sum);
                    if (MessageStatus.BLOCKED.value().equals(rs.getString(1)) && rs.getString(2) != null) {
                        out.merge(rs.getString(1) + ":" + rs.getString(2), rs.getLong(3), Long::sum);
                    }
                }, actor);
        return out;
    }

    /** Contacts with a message in this status (a segment's {@code bounced()}). */
    public java.util.Set<UUID> contactsWithStatus(MessageStatus status) {
        return new java.util.HashSet<>(jdbc.queryForList("SELECT DISTINCT contact_id FROM outbound_message"
                + " WHERE status = ?", UUID.class, status.value()));
    }

    private static OutboundMessage row(ResultSet rs) throws SQLException {
        String reasons = rs.getString(8);
        return new OutboundMessage(rs.getObject(1, UUID.class), rs.getObject(2, UUID.class), rs.getString(3),
                rs.getString(4), rs.getString(5), MessageStatus.of(rs.getString(6)), rs.getString(7),
                reasons == null || reasons.isEmpty() ? List.of() : Arrays.asList(reasons.split(",")),
                rs.getTimestamp(9).toInstant(), rs.getTimestamp(10).toInstant());
    }

    private static String join(List<String> reasons) {
        return reasons == null || reasons.isEmpty() ? null : String.join(",", reasons);
    }
}
