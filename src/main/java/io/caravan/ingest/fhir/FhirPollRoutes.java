package io.caravan.ingest.fhir;

import io.caravan.mapping.AdapterProfile;
import java.time.Duration;
import org.apache.camel.builder.RouteBuilder;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;

/**
 * One route per polled FHIR adapter ({@code fhir-poll-<id>}): a Quartz trigger in the hub's clustered JDBC job store,
 * stateful, so one node at a time polls an adapter and a poll never overlaps the previous one. The trigger fires
 * every {@code caravan.fhir.poll-tick} (or the adapter's interval when shorter); the poller decides from the database
 * whether the adapter is due (its interval, a Retry-After, a backoff). Nothing about a patient is in the exchange.
 */
@Component
class FhirPollRoutes extends RouteBuilder {

    private final FhirPoller poller;
    private final Duration tick;

    FhirPollRoutes(FhirPoller poller, @Value("${caravan.fhir.poll-tick:1s}") Duration tick) {
        this.poller = poller;
        this.tick = tick;
    }

    @Override
    public void configure() {
        for (AdapterProfile a : poller.polled()) {
            Duration interval = a.fhir.poll.interval();
            long every = Math.max(100, Math.min(tick.toMillis(), interval.toMillis()));
            String id = a.id;
            from("quartz://fhir-poll/" + id + "?trigger.repeatInterval=" + every + "&trigger.repeatCount=-1"
                    + "&stateful=true")
                    .routeId("fhir-poll-" + id)
                    .routeConfigurationId("phi-safe")
                    .description("Polls the FHIR adapter " + id + " for changed resources")
                    .process(e -> poller.tick(id));
        }
    }
}
