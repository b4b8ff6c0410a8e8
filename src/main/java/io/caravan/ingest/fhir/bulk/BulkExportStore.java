package io.caravan.ingest.fhir.bulk;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The Bulk Data exports' state in the database: which export an adapter runs (at most one), who runs it (a lease a
 * live node renews), the manifest's files with a checkpoint each, and the {@code _since} of the next export. A hub
 * that dies leaves all of it for the next to resume.
 */
@Component
class BulkExportStore {

    static final String QUEUED = "queued";
    static final String RUNNING = "running";
    static final String COMPLETED = "completed";
    static final String FAILED = "failed";
    static final String CANCELLED = "cancelled";

    /** One export. Times are null until they happened. */
    record Export(UUID id, String adapter, String trigger, String state, String phase, Instant since,
            List<String> types, String statusUrl, Instant transactionTime, int attempt, Instant nextAt,
            String progress, String error, String owner, Instant requestedAt, Instant attemptStarted,
            Instant startedAt, Instant finishedAt) {

        boolean active() {
            return QUEUED.equals(state) || RUNNING.equals(state);
        }
    }

    /** One file of the manifest and how far it was read. */
    record ExportFile(int seq, String kind, String type, String url, long linesDone, long committed, long duplicates,
            long failed, long passedOver, String issues, boolean done) {

        boolean error() {
            return "error".equals(kind);
        }
    }

    /** The adapter's row: its running export and the {@code _since} of the next. */
    record AdapterState(String adapter, UUID activeExport, Instant since, Instant lastFinishedAt) {
    }

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;

    BulkExportStore(JdbcTemplate jdbc, TransactionTemplate tx) {
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

    Optional<AdapterState> adapter(String adapter) {
        return jdbc.query("SELECT adapter, active_export, since_time, last_finished_at FROM fhir_export_adapter"
                + " WHERE adapter = ?", (rs, n) -> new AdapterState(rs.getString(1), rs.getObject(2, UUID.class),
                instant(rs, "since_time"), instant(rs, "last_finished_at")), adapter).stream().findFirst();
    }

    /**
     * Records a new export for {@code adapter} unless one is active: the adapter's row is the lock, so two nodes (or a
     * schedule and an operator) can never start two. {@code since} null with {@code full} false: the last complete
     * export's transactionTime.
     *
     * @return the export, or empty when another is active
     */
    Optional<Export> request(String adapter, String trigger, Instant since, boolean full, List<String> types,
            Instant now) {
        return request(adapter, trigger, since, full, types, now, null);
    }

    /** As above; {@code statusUrl} set for an import that needs no kick-off (a local folder: {@code folder:<uri>}). */
    Optional<Export> request(String adapter, String trigger, Instant since, boolean full, List<String> types,
            Instant now, String statusUrl) {
        try {
            jdbc.update("INSERT INTO fhir_export_adapter (adapter) VALUES (?)", adapter);
        } catch (DuplicateKeyException exists) {
            // the row is there already: the usual case
        }
        UUID id = UUID.randomUUID();
        return tx.execute(s -> {
            if (jdbc.update("UPDATE fhir_export_adapter SET active_export = ? WHERE adapter = ?"
                    + " AND active_export IS NULL", id, adapter) != 1) {
                return Optional.<Export>empty();
            }
            Instant from = full ? null : since != null ? since : adapter(adapter).map(AdapterState::since)
                    .orElse(null);
            jdbc.update("INSERT INTO fhir_export (id, adapter, trigger_kind, state, since_time, types, attempt,"
                    + " requested_at, status_url) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)", id, adapter, trigger, QUEUED,
                    ts(from), String.join(",", types), ts(now), statusUrl);
            return find(id);
        }).map(e -> {
            if (h2()) {
                // answered 202: on H2 (whose write delay loses the last commits on kill -9) the request is made
                // durable before the answer, as the intake's journal does for messages
                jdbc.execute("CHECKPOINT");
            }
            return e;
        });
    }

    private volatile Boolean h2;

    private boolean h2() {
        if (h2 == null) {
            h2 = jdbc.execute((org.springframework.jdbc.core.ConnectionCallback<Boolean>) c ->
                    c.getMetaData().getDatabaseProductName().startsWith("H2"));
        }
        return h2;
    }

    private static final String COLUMNS = "id, adapter, trigger_kind, state, phase, since_time, types, status_url,"
            + " transaction_time, attempt, next_at, progress, error, owner, requested_at, attempt_started,"
            + " started_at, finished_at";

    private static Export export(ResultSet rs, int n) throws SQLException {
        String types = rs.getString("types");
        return new Export(rs.getObject("id", UUID.class), rs.getString("adapter"), rs.getString("trigger_kind"),
                rs.getString("state"), rs.getString("phase"), instant(rs, "since_time"),
                types == null || types.isEmpty() ? List.of() : Arrays.asList(types.split(",")),
                rs.getString("status_url"), instant(rs, "transaction_time"), rs.getInt("attempt"),
                instant(rs, "next_at"), rs.getString("progress"), rs.getString("error"), rs.getString("owner"),
                instant(rs, "requested_at"), instant(rs, "attempt_started"), instant(rs, "started_at"),
                instant(rs, "finished_at"));
    }

    Optional<Export> find(UUID id) {
        return jdbc.query("SELECT " + COLUMNS + " FROM fhir_export WHERE id = ?", BulkExportStore::export, id)
                .stream().findFirst();
    }

    List<Export> recent(String adapter, int limit) {
        return jdbc.query("SELECT " + COLUMNS + " FROM fhir_export WHERE adapter = ? ORDER BY requested_at DESC"
                + " LIMIT " + limit, BulkExportStore::export, adapter);
    }

    List<Export> recent(int limit) {
        return jdbc.query("SELECT " + COLUMNS + " FROM fhir_export ORDER BY requested_at DESC LIMIT " + limit,
                BulkExportStore::export);
    }

    /** Exports that should run and that no live node holds. */
    List<UUID> unclaimed(Instant now) {
        return jdbc.queryForList("SELECT id FROM fhir_export WHERE state IN ('queued', 'running')"
                + " AND (lease_until IS NULL OR lease_until < ?)", UUID.class, ts(now));
    }

    /** Takes the lease of an export no live node holds; true when this node now runs it. */
    boolean claim(UUID id, String owner, Instant until, Instant now) {
        return jdbc.update("UPDATE fhir_export SET owner = ?, lease_until = ?, state = 'running',"
                + " started_at = COALESCE(started_at, ?), attempt_started = COALESCE(attempt_started, ?)"
                + " WHERE id = ? AND state IN ('queued', 'running') AND (lease_until IS NULL OR lease_until < ?)",
                owner, ts(until), ts(now), ts(now), id, ts(now)) == 1;
    }

    /** Extends the lease; false when this node no longer holds it (expired and taken, or the export ended). */
    boolean renew(UUID id, String owner, Instant until) {
        return jdbc.update("UPDATE fhir_export SET lease_until = ? WHERE id = ? AND owner = ? AND state = 'running'",
                ts(until), id, owner) == 1;
    }

    /** Gives back this node's leases at shutdown, so a restarted hub resumes at once rather than after expiry. */
    void release(String owner) {
        jdbc.update("UPDATE fhir_export SET lease_until = NULL, owner = NULL WHERE owner = ? AND state = 'running'",
                owner);
    }

    void kickedOff(UUID id, String statusUrl, Instant nextAt) {
        jdbc.update("UPDATE fhir_export SET status_url = ?, phase = 'waiting', next_at = ?, progress = NULL"
                + " WHERE id = ?", statusUrl, ts(nextAt), id);
    }

    void phase(UUID id, String phase, String progress, Instant nextAt) {
        jdbc.update("UPDATE fhir_export SET phase = ?, progress = ?, next_at = ? WHERE id = ?", phase, progress,
                ts(nextAt), id);
    }

    /** The manifest: its files in the order they are to be read, and the export's transactionTime. */
    void manifest(UUID id, Instant transactionTime, List<ExportFile> files) {
        tx.executeWithoutResult(s -> {
            jdbc.update("DELETE FROM fhir_export_file WHERE export_id = ?", id);
            for (ExportFile f : files) {
                jdbc.update("INSERT INTO fhir_export_file (export_id, seq, kind, resource_type, url, lines_done,"
                        + " committed, duplicates, failed, passed_over, done) VALUES (?, ?, ?, ?, ?, 0, 0, 0, 0, 0,"
                        + " FALSE)", id, f.seq(), f.kind(), f.type(), f.url());
            }
            jdbc.update("UPDATE fhir_export SET transaction_time = ?, phase = 'downloading', progress = NULL,"
                    + " next_at = NULL WHERE id = ?", ts(transactionTime), id);
        });
    }

    List<ExportFile> files(UUID id) {
        return jdbc.query("SELECT seq, kind, resource_type, url, lines_done, committed, duplicates, failed,"
                + " passed_over, issues, done FROM fhir_export_file WHERE export_id = ? ORDER BY seq",
                (rs, n) -> new ExportFile(rs.getInt(1), rs.getString(2), rs.getString(3), rs.getString(4),
                        rs.getLong(5), rs.getLong(6), rs.getLong(7), rs.getLong(8), rs.getLong(9), rs.getString(10),
                        rs.getBoolean(11)), id);
    }

    /** A batch of a file is committed: the checkpoint moves past it. */
    void checkpoint(UUID id, int seq, long linesDone, long committed, long duplicates, long failed,
            long passedOver) {
        jdbc.update("UPDATE fhir_export_file SET lines_done = ?, committed = committed + ?,"
                + " duplicates = duplicates + ?, failed = failed + ?, passed_over = passed_over + ?"
                + " WHERE export_id = ? AND seq = ?", linesDone, committed, duplicates, failed, passedOver, id, seq);
    }

    void fileDone(UUID id, int seq, String issues) {
        jdbc.update("UPDATE fhir_export_file SET done = TRUE, issues = ? WHERE export_id = ? AND seq = ?", issues, id,
                seq);
    }

    /**
     * Every file is committed: the export is complete and its transactionTime becomes the next export's
     * {@code _since} - in one transaction, so a crash can never leave a _since past resources not yet committed.
     */
    void complete(UUID id, Instant now, boolean fromServer) {
        tx.executeWithoutResult(s -> {
            jdbc.update("UPDATE fhir_export SET state = 'completed', phase = NULL, finished_at = ?, next_at = NULL,"
                    + " lease_until = NULL WHERE id = ?", ts(now), id);
            if (fromServer) {
                jdbc.update("UPDATE fhir_export_adapter SET since_time = (SELECT transaction_time FROM fhir_export"
                        + " WHERE id = ?), active_export = NULL, last_finished_at = ? WHERE active_export = ?", id,
                        ts(now), id);
            } else {
                // a folder's files are no server's transaction: the next export's _since and schedule stay
                jdbc.update("UPDATE fhir_export_adapter SET active_export = NULL WHERE active_export = ?", id);
            }
        });
    }

    /** The attempt failed: the next starts again whole (a new kick-off) at {@code nextAt}. */
    void retry(UUID id, int attempt, String error, Instant nextAt) {
        tx.executeWithoutResult(s -> {
            jdbc.update("DELETE FROM fhir_export_file WHERE export_id = ?", id);
            jdbc.update("UPDATE fhir_export SET attempt = ?, error = ?, next_at = ?, phase = 'retry-wait',"
                    + " status_url = NULL, transaction_time = NULL, progress = NULL, attempt_started = NULL"
                    + " WHERE id = ?", attempt, error, ts(nextAt), id);
        });
    }

    /** Ends an export without a new _since: given up after its attempts, or cancelled. */
    boolean end(UUID id, String state, String error, Instant now) {
        Boolean ended = tx.execute(s -> {
            int n = jdbc.update("UPDATE fhir_export SET state = ?, error = COALESCE(?, error), phase = NULL,"
                    + " finished_at = ?, next_at = NULL, lease_until = NULL WHERE id = ?"
                    + " AND state IN ('queued', 'running')", state, error, ts(now), id);
            jdbc.update("UPDATE fhir_export_adapter SET active_export = NULL, last_finished_at = ?"
                    + " WHERE active_export = ?", ts(now), id);
            return n == 1;
        });
        return Boolean.TRUE.equals(ended);
    }

    String state(UUID id) {
        return jdbc.query("SELECT state FROM fhir_export WHERE id = ?", (rs, n) -> rs.getString(1), id).stream()
                .findFirst().orElse(null);
    }
}
