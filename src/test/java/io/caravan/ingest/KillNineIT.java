package io.caravan.ingest;

/** kill -9 on the embedded default store (H2 with WRITE_DELAY=0). */
class KillNineIT extends KillNineContract {

    @Override
    String jdbcUrl() {
        return null;
    }
}
