package io.caravan.ingest.fhir;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.mapping.FhirPollSettings;
import io.caravan.support.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How long the poller waits after failures, and how it reads a server's Retry-After. */
class FhirPollBackoffTest {

    @Test
    void failuresWithoutRetryAfterBackOffExponentiallyUpToTheCap() {
        FhirPollSettings s = new FhirPollSettings();
        s.maxBackoff = "1m";
        assertThat(List.of(1, 2, 3, 4, 5, 40).stream().map(n -> FhirPoller.backoff(n, s)).toList())
                .containsExactly(Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(20),
                        Duration.ofSeconds(40), Duration.ofMinutes(1), Duration.ofMinutes(1));
    }

    @Test
    void retryAfterIsReadAsSecondsOrAnHttpDate() {
        MutableClock clock = new MutableClock(Instant.parse("2026-03-01T10:00:00Z"));
        FhirClients c = new FhirClients(List.of(), n -> null, clock);
        assertThat(c.retryAfter("120")).isEqualTo(Duration.ofSeconds(120));
        assertThat(c.retryAfter("Sun, 01 Mar 2026 10:00:30 GMT")).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.retryAfter("Sun, 01 Mar 2026 09:00:00 GMT")).isEqualTo(Duration.ZERO);
        assertThat(c.retryAfter("soon")).isNull();
    }
}
