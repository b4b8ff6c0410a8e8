package io.caravan.mapping;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.springframework.boot.convert.DurationStyle;

/**
 * {@code fhir.poll} of a FHIR adapter: the hub searches the server for what changed since its watermark, type by
 * type ({@code fhir.resourceTypes}), every {@code interval}. Present means on.
 */
public final class FhirPollSettings {

    /** Time between two polls ({@code 30s}, {@code 5m}, ISO-8601 too). */
    public String interval = "5m";
    /**
     * How far before the watermark each search starts: the server's clock and commit order are not the hub's, and a
     * resource committed late with an earlier {@code lastUpdated} would otherwise be missed. What is read twice is
     * dropped by id and version.
     */
    public String overlap = "2m";
    /** Resources per page ({@code _count}). */
    public Integer pageSize = 100;
    /** Where the first poll starts (ISO-8601 instant) when there is no watermark yet; empty: everything there is. */
    public String since;
    /** Longest wait after repeated failures (doubling from {@code interval}'s first retry of 5 s). */
    public String maxBackoff = "30m";

    public Duration interval() {
        return DurationStyle.detectAndParse(interval);
    }

    public Duration overlap() {
        return DurationStyle.detectAndParse(overlap);
    }

    public Duration maxBackoff() {
        return DurationStyle.detectAndParse(maxBackoff);
    }

    public Instant since() {
        return since == null ? null : Instant.parse(since);
    }

    /** Checks a FHIR adapter's auth and polling sections. */
    static void checkAdapter(Path f, AdapterProfile.Fhir fhir, List<String> problems) {
        if (fhir.auth == null) {
            problems.add(f + ": fhir.auth must not be empty (type: none for no authentication)");
        } else {
            fhir.auth.check(f, problems);
        }
        if (fhir.poll != null) {
            if (fhir.baseUrl == null) {
                problems.add(f + ": fhir.poll needs fhir.baseUrl");
            }
            fhir.poll.check(f, problems);
        }
    }

    void check(Path f, List<String> problems) {
        try {
            if (interval().isNegative() || interval().isZero()) {
                problems.add(f + ": fhir.poll.interval must be positive");
            }
            if (overlap().isNegative()) {
                problems.add(f + ": fhir.poll.overlap must not be negative");
            }
            maxBackoff();
        } catch (RuntimeException e) {
            problems.add(f + ": fhir.poll durations are like 30s, 5m, 1h");
        }
        if (pageSize == null || pageSize < 1 || pageSize > 1000) {
            problems.add(f + ": fhir.poll.pageSize must be 1-1000");
        }
        try {
            since();
        } catch (RuntimeException e) {
            problems.add(f + ": fhir.poll.since must be an ISO-8601 instant (2026-01-01T00:00:00Z)");
        }
    }
}
