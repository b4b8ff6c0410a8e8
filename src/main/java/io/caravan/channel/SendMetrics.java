package io.caravan.channel;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.stereotype.Component;

/** Send-path figures an operator alerts on; no labels. */
@Component
class SendMetrics {

    SendMetrics(MeterRegistry registry, Deliveries deliveries, SendQueue queue) {
        // what waits in this node's queue of each lane; a bulk lane that stays full is a campaign outpacing its
        // senders (the rest waits in the store), a prompt lane that does is a problem for reminders
        for (boolean bulk : new boolean[] {false, true}) {
            Gauge.builder("caravan.send.queued", queue, q -> q.queued(bulk))
                    .description("Messages in this node's send queue of the lane, waiting for a sender")
                    .tag("lane", bulk ? "bulk" : "prompt").register(registry);
        }
        // non-zero while the database is out of reach: messages that went wait here for their disclosure and status;
        // a node stopped with some left would let them go a second time once their claims lapse
        Gauge.builder("caravan.send.unrecorded", deliveries, Deliveries::unrecorded)
                .description("Messages that went whose disclosure and status wait for the store on this node")
                .register(registry);
    }
}
