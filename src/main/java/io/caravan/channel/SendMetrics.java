package io.caravan.channel;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.stereotype.Component;

/** Send-path figures an operator alerts on; no labels. */
@Component
class SendMetrics {

    SendMetrics(MeterRegistry registry, Deliveries deliveries) {
        // non-zero while the database is out of reach: messages that went wait here for their disclosure and status;
        // a node stopped with some left would let them go a second time once their claims lapse
        Gauge.builder("caravan.send.unrecorded", deliveries, Deliveries::unrecorded)
                .description("Messages that went whose disclosure and status wait for the store on this node")
                .register(registry);
    }
}
