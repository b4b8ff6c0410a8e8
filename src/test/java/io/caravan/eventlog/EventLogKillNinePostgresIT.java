package io.caravan.eventlog;

import io.caravan.support.PostgresSupport;
import java.nio.file.Path;
import java.util.List;

/** The event log's kill -9 test on the production store: several writers commit concurrently (PostgreSQL). */
class EventLogKillNinePostgresIT extends EventLogKillNineContract {

    private final String url = PostgresSupport.newDatabase();

    @Override
    String jdbcUrl() {
        return url;
    }

    @Override
    List<String> hubArgs(Path data) {
        return List.of();
    }

    @Override
    String readUrl(Path data) {
        return url;
    }
}
