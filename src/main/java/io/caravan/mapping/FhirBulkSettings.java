package io.caravan.mapping;

import java.util.List;

/**
 * {@code fhir.bulk} of a FHIR adapter: how the hub pulls the server's Bulk Data {@code $export} (io.caravan.ingest.fhir
 * .bulk). Durations are Spring Boot style ({@code 30s}, {@code 6h}) or ISO 8601 ({@code PT6H}).
 */
public final class FhirBulkSettings {

    /** {@code system} ({@code [base]/$export}), {@code patient} ({@code Patient/$export}) or {@code group}. */
    public String level = "patient";
    /** The Group's id, for {@code level: group} ({@code Group/{id}/$export}). */
    public String group;
    /** How often a scheduled {@code _since} export runs; empty: only on request. */
    public String every;
    /** {@code _type}; empty: the adapter's {@code resourceTypes}. */
    public List<String> types = List.of();
    /** The wait between status polls when the server sends no {@code Retry-After}. */
    public String pollInterval = "10s";
    /** Exports tried in all before one is given up (a failed export is started again whole). */
    public int maxAttempts = 3;
    /** The wait before a failed export is started again. */
    public String retryWait = "5m";
    /** How long the whole export may take, kick-off to the last file, before the attempt counts as failed. */
    public String timeout = "24h";
}
