package io.caravan.channel.email;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.channel.Channel.Turn;
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
            turns.add(rates.admit("p" + i + "@slow.EXAMPLE", Turn.BULK, T));
        }
        // 200 ms apart: the first two go now (the second's slot is near enough), the rest wait for theirs
        assertThat(turns.subList(0, 2)).allMatch(Optional::isEmpty);
        assertThat(turns.subList(2, 6)).extracting(Optional::get).containsExactly(T.plusMillis(400),
                T.plusMillis(600), T.plusMillis(800), T.plusMillis(1000));
        assertThat(rates.admit("someone@other.example", Turn.BULK, T)).as("other domains are not limited").isEmpty();
        // each comes back at its slot and goes
        for (int i = 2; i < 6; i++) {
            assertThat(rates.admit("p" + i + "@slow.example", Turn.RETURNING, turns.get(i).get())).isEmpty();
        }
    }

    @Test
    void aPromptMessageGoesAtOnceAndTheBulkOnesAfterIt() {
        DomainRates rates = new DomainRates(Map.of("slow.example", 1.0));
        assertThat(rates.admit("a@slow.example", Turn.BULK, T)).isEmpty();
        assertThat(rates.admit("b@slow.example", Turn.PROMPT, T)).as("prompt: never told to wait").isEmpty();
        assertThat(rates.admit("c@slow.example", Turn.BULK, T)).contains(T.plusSeconds(2));
    }

    @Test
    void messagesBackLateTogetherGoAtTheRateNotInABurst() {
        // a held lane started again: 30 messages whose slots passed long ago come back at once
        DomainRates rates = new DomainRates(Map.of("slow.example", 2.0));
        List<Optional<Instant>> turns = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            turns.add(rates.admit("p" + i + "@slow.example", Turn.RETURNING, T));
        }
        // the bucket's 5 s of sends go, the rest take slots 500 ms apart from when the bucket has the next one
        assertThat(turns.stream().filter(Optional::isEmpty).count()).isEqualTo(10);
        List<Instant> later = turns.stream().filter(Optional::isPresent).map(Optional::get).toList();
        assertThat(later).hasSize(20).doesNotHaveDuplicates().isSorted();
        assertThat(later.get(0)).isEqualTo(T.plusMillis(500));
        assertThat(Duration.between(later.get(0), later.get(19))).isEqualTo(Duration.ofMillis(500 * 19));
        assertThat(rates.admit("late@slow.example", Turn.RETURNING, later.get(0))).as("back at its slot").isEmpty();
    }

    @Test
    void slotsDoNotPileUpWhileTheDomainIsQuiet() {
        DomainRates rates = new DomainRates(Map.of("slow.example", 2.0));
        assertThat(rates.admit("a@slow.example", Turn.BULK, T)).isEmpty();
        Instant later = T.plus(Duration.ofMinutes(5));
        assertThat(rates.admit("b@slow.example", Turn.BULK, later)).isEmpty();
        assertThat(rates.admit("c@slow.example", Turn.BULK, later)).contains(later.plusMillis(500));
        assertThat(rates.admit("d@slow.example", Turn.BULK, later)).contains(later.plusSeconds(1));
    }
}
