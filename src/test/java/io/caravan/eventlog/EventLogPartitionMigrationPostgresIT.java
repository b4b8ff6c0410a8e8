package io.caravan.eventlog;

import io.caravan.support.PostgresSupport;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/** The upgrade of an event log with events into the partitioned log (V22_3) on PostgreSQL. */
class EventLogPartitionMigrationPostgresIT {

    @Test
    void eventsFromBeforeThePartitionsStayInPartitionZeroAndASubscriberCarriesOn() throws Exception {
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setURL(PostgresSupport.newDatabase());
        EventLogPartitionMigrationTest.upgradeWithEventsInTheLog(ds);
    }
}
