package io.caravan.eventlog;

import java.nio.file.Path;
import java.util.List;

/**
 * The event log's kill -9 test on the embedded store (H2 behind the inbound journal: a restart re-applies what the
 * journal holds beyond the database). The hub's H2 runs with AUTO_SERVER so the test can read the cursors meanwhile.
 */
class EventLogKillNineIT extends EventLogKillNineContract {

    @Override
    String jdbcUrl() {
        return null;
    }

    private static String h2(Path data) {
        return "jdbc:h2:file:" + data.resolve("db/caravan")
                + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;AUTO_SERVER=TRUE";
    }

    /** H2 refuses AUTO_SERVER with DB_CLOSE_ON_EXIT=FALSE; that only matters for a graceful stop, not for kill -9. */
    @Override
    List<String> hubArgs(Path data) {
        return List.of("--spring.datasource.url=" + h2(data) + ";QUERY_CACHE_SIZE=256");
    }

    @Override
    String readUrl(Path data) {
        return h2(data) + ";USER=caravan;PASSWORD=";
    }
}
