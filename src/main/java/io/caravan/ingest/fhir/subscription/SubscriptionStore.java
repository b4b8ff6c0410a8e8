package io.caravan.ingest.fhir.subscription;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Where each subscription's event numbers stand: every event up to {@code contiguous} applied, the ones above it that
 * arrived early, and the highest number the server said it sent. The difference is the gap to recover.
 */
@Component
class SubscriptionStore {

    /** One subscription's state. */
    record State(String adapter, String subscription, String status, long contiguous, long highest,
            Instant contiguousAt, Instant gapSince, Instant lastSeenAt, Instant handshakeAt, long heartbeats,
            long recovered, String recoveryError) {

        boolean gap() {
            return highest > contiguous;
        }
    }

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;

    SubscriptionStore(JdbcTemplate jdbc, TransactionTemplate tx) {
        this.jdbc = jdbc;
        this.tx = tx;
    }

    private static Timestamp ts(Instant i) {
        return i == null ? null : Timestamp.from(i);
    }

    private static Instant instant(ResultSet rs, String col) throws SQLException {
        Timestamp t = rs.getTimestamp(col);
        return t == null ? null : t.toInstant();
    }

    private static final String COLUMNS = "adapter, subscription, status, contiguous, highest, contiguous_at,"
            + " gap_since, last_seen_at, handshake_at, heartbeats, recovered, recovery_error";

    private static State state(ResultSet rs, int n) throws SQLException {
        return new State(rs.getString("adapter"), rs.getString("subscription"), rs.getString("status"),
                rs.getLong("contiguous"), rs.getLong("highest"), instant(rs, "contiguous_at"),
                instant(rs, "gap_since"), instant(rs, "last_seen_at"), instant(rs, "handshake_at"),
                rs.getLong("heartbeats"), rs.getLong("recovered"), rs.getString("recovery_error"));
    }

    Optional<State> find(String adapter, String subscription) {
        return jdbc.query("SELECT " + COLUMNS + " FROM fhir_subscription WHERE adapter = ? AND subscription = ?",
                SubscriptionStore::state, adapter, subscription).stream().findFirst();
    }

    List<State> all() {
        return jdbc.query("SELECT " + COLUMNS + " FROM fhir_subscription", SubscriptionStore::state);
    }

    List<State> of(String adapter) {
        return jdbc.query("SELECT " + COLUMNS + " FROM fhir_subscription WHERE adapter = ? ORDER BY subscription",
                SubscriptionStore::state, adapter);
    }

    /**
     * A notification of any type arrived: the subscription is known from now on, and {@code highest} rises to what it
     * says the server has sent. A subscription first seen by an event (its handshake lost or before the hub was set
     * up) starts below that event, so nothing before it counts as missing.
     */
    void seen(String adapter, String subscription, String status, String type, long eventsSinceStart,
            long firstEvent, Instant now) {
        try {
            long start = "handshake".equals(type) ? Math.max(0, eventsSinceStart)
                    : firstEvent > 0 ? firstEvent - 1 : Math.max(0, eventsSinceStart);
            jdbc.update("INSERT INTO fhir_subscription (adapter, subscription, status, contiguous, highest,"
                    + " last_seen_at, heartbeats, recovered) VALUES (?, ?, ?, ?, ?, ?, 0, 0)", adapter, subscription,
                    status, start, start, ts(now));
        } catch (DuplicateKeyException known) {
            // the usual case
        }
        jdbc.update("UPDATE fhir_subscription SET status = COALESCE(?, status), last_seen_at = ?,"
                + " highest = GREATEST(highest, ?), heartbeats = heartbeats + ?,"
                + " handshake_at = CASE WHEN ? THEN ? ELSE handshake_at END"
                + " WHERE adapter = ? AND subscription = ?", status, ts(now), eventsSinceStart,
                "heartbeat".equals(type) ? 1 : 0, "handshake".equals(type), ts(now), adapter, subscription);
    }

    /**
     * Records event numbers as applied and moves {@code contiguous} over every number now present, in one
     * transaction with the row locked (two notifications may arrive at once, on two nodes).
     */
    void applied(String adapter, String subscription, List<long[]> events, Instant now) {
        tx.executeWithoutResult(s -> {
            State st = jdbc.query("SELECT " + COLUMNS + " FROM fhir_subscription WHERE adapter = ? AND"
                    + " subscription = ? FOR UPDATE", SubscriptionStore::state, adapter, subscription).get(0);
            for (long[] e : events) {
                if (e[0] > st.contiguous()) {
                    if (jdbc.queryForObject("SELECT COUNT(*) FROM fhir_subscription_event WHERE adapter = ? AND"
                            + " subscription = ? AND event_number = ?", Integer.class, adapter, subscription,
                            e[0]) == 0) {
                        jdbc.update("INSERT INTO fhir_subscription_event (adapter, subscription, event_number,"
                                + " occurred_at) VALUES (?, ?, ?, ?)", adapter, subscription, e[0],
                                e[1] == 0 ? null : ts(Instant.ofEpochMilli(e[1])));
                    }
                }
            }
            advance(st, now, st.contiguous());
        });
    }

    private void advance(State st, Instant now, long from) {
        long contiguous = from;
        Instant at = st.contiguousAt();
        List<long[]> above = jdbc.query("SELECT event_number, occurred_at FROM fhir_subscription_event WHERE"
                + " adapter = ? AND subscription = ? AND event_number > ? ORDER BY event_number",
                (rs, n) -> new long[] {rs.getLong(1), rs.getTimestamp(2) == null ? 0
                        : rs.getTimestamp(2).getTime()}, st.adapter(), st.subscription(), from);
        for (long[] e : above) {
            if (e[0] != contiguous + 1) {
                break;
            }
            contiguous = e[0];
            at = e[1] == 0 ? at : Instant.ofEpochMilli(e[1]);
        }
        jdbc.update("DELETE FROM fhir_subscription_event WHERE adapter = ? AND subscription = ? AND"
                + " event_number <= ?", st.adapter(), st.subscription(), contiguous);
        long highest = Math.max(st.highest(), above.isEmpty() ? 0 : above.get(above.size() - 1)[0]);
        jdbc.update("UPDATE fhir_subscription SET contiguous = ?, contiguous_at = ?, highest = ?,"
                + " gap_since = CASE WHEN ? > ? THEN COALESCE(gap_since, ?) ELSE NULL END"
                + " WHERE adapter = ? AND subscription = ?", contiguous, ts(at), highest, highest, contiguous,
                ts(now), st.adapter(), st.subscription());
    }

    /** Re-evaluates the gap after {@code highest} moved (a heartbeat or a status). */
    void settle(String adapter, String subscription, Instant now) {
        applied(adapter, subscription, List.of(), now);
    }

    /** Whether event {@code number} was applied already. */
    boolean applied(String adapter, String subscription, long number) {
        return jdbc.queryForObject("SELECT COUNT(*) FROM fhir_subscription s WHERE s.adapter = ? AND s.subscription = ?"
                + " AND (s.contiguous >= ? OR EXISTS (SELECT 1 FROM fhir_subscription_event e WHERE e.adapter ="
                + " s.adapter AND e.subscription = s.subscription AND e.event_number = ?))", Integer.class, adapter,
                subscription, number, number) > 0;
    }

    /** The numbers between {@code contiguous} and {@code highest} not applied yet. */
    List<Long> missing(State st) {
        List<Long> have = jdbc.queryForList("SELECT event_number FROM fhir_subscription_event WHERE adapter = ? AND"
                + " subscription = ? AND event_number > ? ORDER BY event_number", Long.class, st.adapter(),
                st.subscription(), st.contiguous());
        List<Long> missing = new java.util.ArrayList<>();
        for (long n = st.contiguous() + 1; n <= st.highest() && missing.size() < 10_000; n++) {
            if (!have.contains(n)) {
                missing.add(n);
            }
        }
        return missing;
    }

    /** A gap closed by a search instead of the events themselves: everything up to {@code upTo} counts as applied. */
    void recoveredUpTo(String adapter, String subscription, long upTo, long count, Instant now) {
        tx.executeWithoutResult(s -> {
            State st = jdbc.query("SELECT " + COLUMNS + " FROM fhir_subscription WHERE adapter = ? AND"
                    + " subscription = ? FOR UPDATE", SubscriptionStore::state, adapter, subscription).get(0);
            jdbc.update("UPDATE fhir_subscription SET recovered = recovered + ?, recovery_error = NULL"
                    + " WHERE adapter = ? AND subscription = ?", count, adapter, subscription);
            advance(st, now, Math.max(st.contiguous(), upTo));
        });
    }

    void recovered(String adapter, String subscription, long count) {
        jdbc.update("UPDATE fhir_subscription SET recovered = recovered + ?, recovery_error = NULL"
                + " WHERE adapter = ? AND subscription = ?", count, adapter, subscription);
    }

    /** A recovery that did not work: tried again after another gapWait. */
    void recoveryFailed(String adapter, String subscription, String error, Instant now) {
        jdbc.update("UPDATE fhir_subscription SET recovery_error = ?, gap_since = ? WHERE adapter = ? AND"
                + " subscription = ?", error, ts(now), adapter, subscription);
    }

    /** A status check was made: counts as seen, so the next is a heartbeat period away. */
    void checked(String adapter, String subscription, Instant now) {
        jdbc.update("UPDATE fhir_subscription SET last_seen_at = ? WHERE adapter = ? AND subscription = ?", ts(now),
                adapter, subscription);
    }
}
