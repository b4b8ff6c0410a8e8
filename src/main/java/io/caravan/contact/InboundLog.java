package io.caravan.contact;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Repository;

/**
 * The operator's view of the inbound messages (GET /api/inbound): metadata only, never the sealed payload. Rows are
 * written by {@link ContactWriter}; this class only reads them, opens one for a replay and links a failed message to
 * the message that resolved it.
 */
@Repository
public class InboundLog {

    private static final HexFormat HEX = HexFormat.of();
    /** Warnings are stored joined by "; " and each starts with its HL7 location (a warning's text may hold "; "). */
    private static final java.util.regex.Pattern WARNING_SEPARATOR =
            java.util.regex.Pattern.compile("; (?=[A-Z][A-Z0-9]{2}-\\d)");
    private static final String COLUMNS = "id, feed, control_id, message_type, status, error_code, error_location,"
            + " received_at, warnings, replay_of, replayed_by, source_kind";

    /**
     * How the API names a stored state: {@code failed} is a failure nobody has resolved yet; {@code replayed} a
     * failure a replay (or a later delivery found by the replay) has resolved - the failure record itself is kept.
     */
    public enum Status {
        ACCEPTED("status = 'processed'"),
        IGNORED("status = 'ignored'"),
        FAILED("status = 'failed' AND replayed_by IS NULL"),
        REPLAYED("status = 'failed' AND replayed_by IS NOT NULL");

        final String where;

        Status(String where) {
            this.where = where;
        }

        public String apiName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** One inbound message as operators see it: no patient data. {@code sourceKind}: hl7v2, fhir, ... */
    public record Entry(UUID id, String feed, String controlId, String type, String status, String errorCode,
            String errorLocation, Instant receivedAt, List<String> warnings, UUID replayOf, UUID replayedBy,
            String sourceKind) {
    }

    /** What to list; null fields do not filter. {@code before}: the id the previous page ended with. */
    public record Query(Status status, String feed, Instant from, Instant to, UUID before, int limit) {
    }

    private final JdbcTemplate jdbc;
    private final ContactWriter writer;

    public InboundLog(JdbcTemplate jdbc, ContactWriter writer) {
        this.jdbc = jdbc;
        this.writer = writer;
    }

    /**
     * Newest first. Ids are time-ordered (UUID v7, taken on receipt), so the primary key gives the order and the
     * paging cursor; no index on status, feed or time is paid on every group commit for a page an operator reads.
     */
    public List<Entry> list(Query q) {
        writer.awaitVisible();
        StringBuilder sql = new StringBuilder("SELECT " + COLUMNS + " FROM inbound_message WHERE 1 = 1");
        List<Object> args = new ArrayList<>();
        if (q.status() != null) {
            sql.append(" AND ").append(q.status().where);
        }
        if (q.feed() != null) {
            sql.append(" AND feed = ?");
            args.add(q.feed());
        }
        if (q.from() != null) {
            sql.append(" AND received_at >= ?");
            args.add(Timestamp.from(q.from()));
        }
        if (q.to() != null) {
            sql.append(" AND received_at < ?");
            args.add(Timestamp.from(q.to()));
        }
        if (q.before() != null) {
            sql.append(" AND id < ?");
            args.add(q.before());
        }
        sql.append(" ORDER BY id DESC LIMIT ").append(q.limit());
        return jdbc.query(sql.toString(), (rs, n) -> entry(rs), args.toArray());
    }

    public Optional<Entry> find(UUID id) {
        writer.awaitVisible();
        return jdbc.query("SELECT " + COLUMNS + " FROM inbound_message WHERE id = ?", (rs, n) -> entry(rs), id)
                .stream().findFirst();
    }

    /** The stored message with its sealed raw text, for a replay. */
    public Optional<InboundMessage> sealed(UUID id) {
        writer.awaitVisible();
        return jdbc.query("SELECT id, dedupe_key, feed, message_type, status, error_code, key_id, payload,"
                + " received_at, control_id, error_location, source_kind FROM inbound_message WHERE id = ?",
                (rs, n) -> {
                    byte[] dk = rs.getBytes(2);
                    return new InboundMessage(rs.getObject(1, UUID.class), rs.getString(12),
                            dk == null ? null : HEX.formatHex(dk), rs.getString(3), rs.getString(4),
                            InboundMessage.Status.of(rs.getString(5)), rs.getString(6), null, rs.getString(7),
                            rs.getBytes(8), null, null, rs.getTimestamp(9).toInstant(), rs.getString(10),
                            rs.getString(11), null);
                }, id).stream().findFirst();
    }

    /** The contact a committed message was applied to, if any. */
    public Optional<UUID> contactOf(UUID id) {
        writer.awaitVisible();
        return jdbc.queryForList("SELECT contact_id FROM inbound_message WHERE id = ? AND contact_id IS NOT NULL",
                UUID.class, id).stream().findFirst();
    }

    /**
     * Links a failed message to the message that resolved it: {@code replay}, or - when the replay was a duplicate -
     * the committed message holding the same dedupe key. Only an unresolved failure is linked (first one wins).
     * Returns the id linked to, if any.
     */
    public Optional<UUID> resolve(UUID failed, UUID replay, String dedupeKey) {
        writer.awaitVisible();
        UUID by = replay;
        if (by == null && dedupeKey != null) {
            by = jdbc.queryForList("SELECT id FROM inbound_message WHERE dedupe_key = ?", UUID.class,
                    (Object) HEX.parseHex(dedupeKey)).stream().findFirst().orElse(null);
        }
        if (by == null) {
            return Optional.empty();
        }
        jdbc.update("UPDATE inbound_message SET replayed_by = ? WHERE id = ? AND status = 'failed'"
                + " AND replayed_by IS NULL", by, failed);
        return Optional.of(by);
    }

    private static Entry entry(ResultSet rs) throws SQLException {
        String status = rs.getString(5);
        UUID replayedBy = rs.getObject(11, UUID.class);
        String api = switch (InboundMessage.Status.of(status)) {
            case PROCESSED -> Status.ACCEPTED.apiName();
            case IGNORED -> Status.IGNORED.apiName();
            case FAILED -> replayedBy != null ? Status.REPLAYED.apiName() : Status.FAILED.apiName();
        };
        String w = rs.getString(9);
        return new Entry(rs.getObject(1, UUID.class), rs.getString(2), rs.getString(3), rs.getString(4), api,
                rs.getString(6), rs.getString(7), rs.getTimestamp(8).toInstant(),
                w == null ? List.of() : Arrays.asList(WARNING_SEPARATOR.split(w)), rs.getObject(10, UUID.class), replayedBy,
                rs.getString(12));
    }
}
