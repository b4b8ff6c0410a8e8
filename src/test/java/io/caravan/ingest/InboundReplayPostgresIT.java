package io.caravan.ingest;

import io.caravan.support.TestHub;
import java.util.List;

/** The replay story on the production profile: a real PostgreSQL server, group commit without the journal. */
class InboundReplayPostgresIT extends InboundReplayIT {

    @Override
    TestHub hub() {
        return TestHub.namedPostgres("inbound-replay");
    }

    @Override
    List<String> profile() {
        return List.of("postgres");
    }
}
