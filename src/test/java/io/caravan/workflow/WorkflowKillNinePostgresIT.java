package io.caravan.workflow;

import io.caravan.support.PostgresSupport;

/** kill -9 with journeys due, on the production store (PostgreSQL; Quartz's PostgreSQL delegate). */
class WorkflowKillNinePostgresIT extends WorkflowKillNineContract {

    @Override
    String jdbcUrl() {
        return PostgresSupport.newDatabase();
    }
}
