package io.caravan.workflow;

/** kill -9 with journeys due, on the embedded store (H2). */
class WorkflowKillNineIT extends WorkflowKillNineContract {

    @Override
    String jdbcUrl() {
        return null;
    }
}
