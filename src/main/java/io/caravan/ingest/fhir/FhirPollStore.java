package io.caravan.ingest.fhir;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/** The FHIR pollers' watermarks and state (tables fhir_poll_watermark, fhir_poll_state). */
@Component
public class FhirPollStore {

    /** One adapter's polling, as the status API shows it. */
    public record State(String adapter, Instant nextPollAt, Instant lastPollAt, Instant lastSuccessAt, int failures,
            String lastError, Instant lastErrorAt, long resourcesRead) {
    }

    private final JdbcTemplate jdbc;

    public FhirPollStore(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    /** The watermark of one adapter and type, null when it never polled that type. */
    public Instant watermark(String adapter, String type) {
        List<Instant> w = jdbc.query("SELECT watermark FROM fhir_poll_watermark WHERE adapter_id = ? AND"
                + " resource_type = ?", (rs, i) -> instant(rs.getObject(1, OffsetDateTime.class)), adapter, type);
        return w.isEmpty() ? null : w.get(0);
    }

    /** Every watermark of an adapter, by type. */
    public Map<String, Instant> watermarks(String adapter) {
        Map<String, Instant> m = new LinkedHashMap<>();
        jdbc.query("SELECT resource_type, watermark FROM fhir_poll_watermark WHERE adapter_id = ? ORDER BY"
                + " resource_type", rs -> {
                    m.put(rs.getString(1), instant(rs.getObject(2, OffsetDateTime.class)));
                }, adapter);
        return m;
    }

    /** Moves the watermark forward (never back). Call only once what it covers is committed. */
    public void advance(String adapter, String type, Instant to, Instant now) {
        int n = jdbc.update("UPDATE fhir_poll_watermark SET watermark = ?, updated_at = ? WHERE adapter_id = ? AND"
                + " resource_type = ? AND watermark < ?", ts(to), ts(now), adapter, type, ts(to));
        if (n == 0 && watermark(adapter, type) == null) {
            jdbc.update("INSERT INTO fhir_poll_watermark (adapter_id, resource_type, watermark, updated_at) VALUES"
                    + " (?, ?, ?, ?)", adapter, type, ts(to), ts(now));
        }
    }

    public State state(String adapter) {
        List<State> s = jdbc.query("SELECT next_poll_at, last_poll_at, last_success_at, failures, last_error,"
                + " last_error_at, resources_read FROM fhir_poll_state WHERE adapter_id = ?",
                (rs, i) -> new State(adapter, instant(rs.getObject(1, OffsetDateTime.class)),
                        instant(rs.getObject(2, OffsetDateTime.class)), instant(rs.getObject(3, OffsetDateTime.class)),
                        rs.getInt(4), rs.getString(5), instant(rs.getObject(6, OffsetDateTime.class)), rs.getLong(7)),
                adapter);
        return s.isEmpty() ? null : s.get(0);
    }

    /** A poll that read everything there was. */
    public void succeeded(String adapter, Instant at, Instant next, long read) {
        ensure(adapter, at);
        jdbc.update("UPDATE fhir_poll_state SET next_poll_at = ?, last_poll_at = ?, last_success_at = ?, failures = 0,"
                + " resources_read = resources_read + ? WHERE adapter_id = ?", ts(next), ts(at), ts(at), read, adapter);
    }

    /** A poll that stopped: {@code error} is the hub's own words (no server text); {@code read} what it committed. */
    public void failed(String adapter, Instant at, Instant next, String error, long read) {
        ensure(adapter, at);
        jdbc.update("UPDATE fhir_poll_state SET next_poll_at = ?, last_poll_at = ?, failures = failures + 1,"
                + " last_error = ?, last_error_at = ?, resources_read = resources_read + ? WHERE adapter_id = ?",
                ts(next), ts(at), error.length() > 200 ? error.substring(0, 200) : error, ts(at), read, adapter);
    }

    private void ensure(String adapter, Instant at) {
        if (state(adapter) == null) {
            jdbc.update("INSERT INTO fhir_poll_state (adapter_id, next_poll_at, failures, resources_read) VALUES"
                    + " (?, ?, 0, 0)", adapter, ts(at));
        }
    }

    private static OffsetDateTime ts(Instant i) {
        return i.atOffset(ZoneOffset.UTC);
    }

    private static Instant instant(OffsetDateTime t) {
        return t == null ? null : t.toInstant();
    }
}
