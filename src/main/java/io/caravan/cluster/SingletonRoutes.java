package io.caravan.cluster;

import io.caravan.audit.AuditLog;
import io.caravan.campaign.CampaignProperties;
import io.caravan.campaign.Campaigns;
import java.time.Duration;
import org.apache.camel.builder.RouteBuilder;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.stereotype.Component;

/**
 * The {@code cluster} profile's periodic singletons that live in Java rather than in a route file: the campaign
 * runner ({@code singleton-campaigns}) and the move of the audit outbox into the chain ({@code singleton-audit-outbox}).
 * Each is a trigger of the hub's clustered Quartz job store with {@code stateful=true}, the mechanism of
 * {@link SubscriberRoutes}: one node of the cluster runs a fire at a time, and a dead node's trigger fires on the
 * others after Quartz's check-in finds it gone. Without the profile each node keeps its own runner thread and its
 * audit writer moves the outbox itself, as before. The route files' periodic drains (the stream outboxes) take their
 * trigger from {@code caravan.singletons.*}, which the profile sets to such triggers too.
 */
@Component
@ConditionalOnProperty(name = "caravan.cluster.enabled", havingValue = "true")
class SingletonRoutes extends RouteBuilder {

    private final Campaigns campaigns;
    private final AuditLog audit;
    private final long campaignMillis;
    private final long auditMillis;
    private final Duration slice;

    SingletonRoutes(Campaigns campaigns, CampaignProperties props, AuditLog audit,
            @Value("${caravan.cluster.audit-outbox-interval:500ms}") Duration auditEvery,
            @Value("${caravan.cluster.subscriber-slice:2s}") Duration slice) {
        this.campaigns = campaigns;
        this.audit = audit;
        this.campaignMillis = Math.max(50, props.pollInterval().toMillis());
        this.auditMillis = Math.max(50, auditEvery.toMillis());
        this.slice = slice;
        // before their start (a bean is made before any lifecycle starts): neither runs on its own thread here
        campaigns.runOnCall();
        audit.drainOutboxOnCall();
    }

    @Override
    public void configure() {
        from("quartz://singleton/campaigns?trigger.repeatInterval=" + campaignMillis
                + "&trigger.repeatCount=-1&stateful=true")
                .routeId("singleton-campaigns")
                .routeConfigurationId("phi-safe")
                .description("Plans the running campaigns' recipients, on one node at a time")
                .process(e -> campaigns.runSlice(slice));
        from("quartz://singleton/audit-outbox?trigger.repeatInterval=" + auditMillis
                + "&trigger.repeatCount=-1&stateful=true")
                .routeId("singleton-audit-outbox")
                .routeConfigurationId("phi-safe")
                .description("Moves the audit outbox into the chain, on one node at a time")
                .process(e -> audit.drainOutboxNow());
    }
}
