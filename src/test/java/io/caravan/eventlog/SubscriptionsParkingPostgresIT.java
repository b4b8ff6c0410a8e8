package io.caravan.eventlog;

import io.caravan.support.PostgresSupport;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;

/** A parked contact, its held events and the retries' backoff on PostgreSQL (the store of several nodes). */
class SubscriptionsParkingPostgresIT extends SubscriptionsParkingTest {

    @Override
    DataSource dataSource() {
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setURL(PostgresSupport.newDatabase());
        return ds;
    }
}
