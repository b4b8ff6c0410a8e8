package io.caravan.ingest;

import io.caravan.support.PostgresSupport;

/** kill -9 on the production store (PostgreSQL). */
class KillNinePostgresIT extends KillNineContract {

    @Override
    String jdbcUrl() {
        return PostgresSupport.newDatabase();
    }
}
