package io.caravan.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;

/** Per-feed health (issue 17): when each feed last had a message accepted, for an alert on a silent feed. */
class IngestMetricsTest {

    @Test
    void eachFeedsLastAcceptedMessageIsAGaugeThatRefusedMessagesDoNotMove() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        IngestMetrics metrics = new IngestMetrics(registry);
        long before = System.currentTimeMillis();
        metrics.answered("lab", IngestMetrics.Outcome.ACCEPTED, 1_000);
        metrics.answered("adt", IngestMetrics.Outcome.ERROR, 1_000);
        long after = System.currentTimeMillis();

        Gauge lab = registry.find("caravan.hl7.last.accepted.timestamp").tag("feed", "lab").gauge();
        assertThat(lab).isNotNull();
        assertThat(lab.value() * 1000).isBetween((double) before, (double) after);
        assertThat(registry.find("caravan.hl7.last.accepted.timestamp").tag("feed", "adt").gauge())
                .as("a feed with no accepted message has no time yet").isNull();
        assertThat(registry.scrape()).contains("caravan_hl7_last_accepted_timestamp_seconds{feed=\"lab\"}");
    }
}
