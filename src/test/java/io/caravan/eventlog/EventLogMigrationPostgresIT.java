package io.caravan.eventlog;

import io.caravan.support.PostgresSupport;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/** The upgrade of a full workflow inbox into the engine's cursor (V20_1) on PostgreSQL. */
class EventLogMigrationPostgresIT {

    @Test
    void theWorkflowInboxBecomesTheEnginesCursor() {
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setURL(PostgresSupport.newDatabase());
        EventLogMigrationTest.upgradeWithAFullInbox(ds);
    }
}
