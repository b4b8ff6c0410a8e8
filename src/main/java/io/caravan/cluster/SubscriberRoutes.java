package io.caravan.cluster;

import io.caravan.eventlog.EventSubscriber;
import io.caravan.eventlog.Subscriptions;
import java.time.Duration;
import org.apache.camel.builder.RouteBuilder;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.stereotype.Component;

/**
 * The {@code cluster} profile's event-log subscribers: one route per subscriber the pump would poll
 * ({@code event-pump-<subscriber>}), fired by a Quartz trigger in the hub's clustered JDBC job store with
 * {@code stateful=true}, so that a subscriber's cursor is polled by one node of the cluster at a time (Quartz blocks
 * the job's trigger in the shared database while a fire runs) and, when that node dies, by another after Quartz's
 * cluster check-in finds it gone. The same mechanism as the workflow and FHIR ticks: nothing of our own decides who
 * leads. Each fire drains the backlog for up to {@code caravan.cluster.subscriber-slice}, then hands the trigger back,
 * so a slow subscriber cannot starve the scheduler's threads. Nothing about a patient travels in the exchange.
 */
@Component
// with the event log on Kafka each subscriber is a consumer group instead, every node pumping its share (EventPump)
@ConditionalOnExpression("${caravan.cluster.enabled:false} and '${caravan.event-log.kafka.bootstrap-servers:}'.isBlank()")
class SubscriberRoutes extends RouteBuilder {

    private final ObjectProvider<EventSubscriber> subscribers;
    private final Subscriptions subscriptions;
    private final long everyMillis;
    private final long sliceMillis;

    SubscriberRoutes(ObjectProvider<EventSubscriber> subscribers, Subscriptions subscriptions,
            @Value("${caravan.event-log.poll-interval:250ms}") Duration every,
            @Value("${caravan.cluster.subscriber-slice:2s}") Duration slice) {
        this.subscribers = subscribers;
        this.subscriptions = subscriptions;
        this.everyMillis = Math.max(50, every.toMillis());
        this.sliceMillis = Math.max(0, slice.toMillis());
    }

    @Override
    public void configure() {
        for (EventSubscriber s : subscribers.orderedStream().filter(EventSubscriber::pumped).toList()) {
            String name = s.subscriberName();
            from("quartz://event-pump/" + name + "?trigger.repeatInterval=" + everyMillis
                    + "&trigger.repeatCount=-1&stateful=true")
                    .routeId("event-pump-" + name)
                    .routeConfigurationId("phi-safe")
                    .description("Polls the event log for the subscriber " + name + ", on one node at a time")
                    .process(e -> drain(s));
        }
    }

    /** Polls until the subscriber has caught up or its slice is used; how many events were handled. */
    int drain(EventSubscriber s) {
        long until = System.nanoTime() + sliceMillis * 1_000_000L;
        int total = 0;
        int n;
        do {
            n = subscriptions.poll(s);
            total += n;
        } while (n > 0 && System.nanoTime() < until);
        return total;
    }
}
