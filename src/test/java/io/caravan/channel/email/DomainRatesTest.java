package io.caravan.channel.email;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class DomainRatesTest {

    static final Instant T = Instant.parse("2026-11-30T09:00:00Z");

    @Test
    void aBurstOfBulkMessagesToALimitedDomainGetsOneSlotEachAtTheRate() {
        DomainRates rates = new DomainRates(Map.of("Slow.Example", 5.0));
        List<Optional<Instant>> turns = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            turns.add(rates.admit("p" + i + "@slow.EXAMPLE", true, T));
        }
        // 200 ms apart: the first two go now (the second's slot is near enough), the rest wait for theirs
        assertThat(turns.subList(0, 2)).allMatch(Optional::isEmpty);
        assertThat(turns.subList(2, 6)).extracting(Optional::get).containsExactly(T.plusMillis(400),
                T.plusMillis(600), T.plusMillis(800), T.plusMillis(1000));
        assertThat(rates.admit("someone@other.example", true, T)).as("other domains are not limited").isEmpty();
    }

    @Test
    void aPromptMessageGoesAtOnceAndTheBulkOnesAfterIt() {
        DomainRates rates = new DomainRates(Map.of("slow.example", 1.0));
        assertThat(rates.admit("a@slow.example", true, T)).isEmpty();
        assertThat(rates.admit("b@slow.example", false, T)).as("prompt: never told to wait").isEmpty();
        assertThat(rates.admit("c@slow.example", true, T)).contains(T.plusSeconds(2));
    }

    @Test
    void slotsDoNotPileUpWhileTheDomainIsQuiet() {
        DomainRates rates = new DomainRates(Map.of("slow.example", 2.0));
        assertThat(rates.admit("a@slow.example", true, T)).isEmpty();
        Instant later = T.plus(Duration.ofMinutes(5));
        assertThat(rates.admit("b@slow.example", true, later)).isEmpty();
        assertThat(rates.admit("c@slow.example", true, later)).contains(later.plusMillis(500));
        assertThat(rates.admit("d@slow.example", true, later)).contains(later.plusSeconds(1));
    }
}
