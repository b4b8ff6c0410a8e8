package io.caravan.channel.email;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.channel.Channel;
import io.caravan.support.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class DomainConcurrencyTest {

    static final Instant T = Instant.parse("2026-12-01T09:00:00Z");

    @Test
    void aDestinationHasAtMostItsLimitOfBulkSendsUnderWayAndOthersAreNotHeld() {
        DomainConcurrency c = new DomainConcurrency(2, new MutableClock(T));
        Channel.Place one = c.enter("slow.example", false);
        Channel.Place two = c.enter("slow.example", false);
        assertThat(one.taken()).isTrue();
        assertThat(two.taken()).isTrue();
        Channel.Place third = c.enter("slow.example", false);
        assertThat(third.taken()).as("a third bulk send waits").isFalse();
        assertThat(third.waitUntil()).isEqualTo(T.plus(DomainConcurrency.FIRST_WAIT));
        assertThat(c.enter("other.example", false).taken()).as("another destination is not held").isTrue();

        Channel.Place prompt = c.enter("slow.example", true);
        assertThat(prompt.taken()).as("a prompt send never waits").isTrue();
        assertThat(c.underWay("slow.example")).isEqualTo(3);

        one.leave().run();
        one.leave().run();
        assertThat(c.underWay("slow.example")).as("a place is given back once").isEqualTo(2);
        assertThat(c.enter("slow.example", false).taken()).as("the prompt one still counts").isFalse();
        prompt.leave().run();
        assertThat(c.enter("slow.example", false).taken()).isTrue();
    }

    @Test
    void aBacklogWaitsInTurnsSpacedByTheRateSendsFinishAt() {
        MutableClock clock = new MutableClock(T);
        DomainConcurrency c = new DomainConcurrency(2, clock);
        // 20 sends finish within 10 s: the destination takes 2 a second
        for (int i = 0; i < 20; i++) {
            c.enter("slow.example", false).leave().run();
            clock.now = clock.now.plusMillis(500);
        }
        c.enter("slow.example", false);
        c.enter("slow.example", false);
        Instant now = clock.now;
        List<Instant> turns = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            turns.add(c.enter("slow.example", false).waitUntil());
        }
        assertThat(turns.get(0)).isEqualTo(now.plus(DomainConcurrency.FIRST_WAIT));
        assertThat(Duration.between(turns.get(0), turns.get(9))).as("10 turns, 0.5 s apart")
                .isEqualTo(Duration.ofMillis(4_500));

        // a backlog without end is put off 5 minutes at most
        Instant last = null;
        for (int i = 0; i < 10_000; i++) {
            last = c.enter("slow.example", false).waitUntil();
        }
        assertThat(last).isEqualTo(now.plus(DomainConcurrency.LONGEST_WAIT));
    }

    @Test
    void noLimitTakesNothing() {
        DomainConcurrency c = new DomainConcurrency(0, new MutableClock(T));
        for (int i = 0; i < 100; i++) {
            assertThat(c.enter("slow.example", false).taken()).isTrue();
        }
        assertThat(c.underWay("slow.example")).isZero();
    }
}
