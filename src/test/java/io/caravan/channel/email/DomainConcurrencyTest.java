package io.caravan.channel.email;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DomainConcurrencyTest {

    @Test
    void aDomainHasAtMostItsLimitOfBulkSendsUnderWayAndOthersAreNotHeld() {
        DomainConcurrency c = new DomainConcurrency(2);
        Runnable one = c.enter("a@slow.example", false);
        Runnable two = c.enter("b@SLOW.example", false);
        assertThat(one).isNotNull();
        assertThat(two).isNotNull();
        assertThat(c.enter("c@slow.example", false)).as("a third bulk send waits").isNull();
        assertThat(c.enter("d@other.example", false)).as("another domain is not held").isNotNull();

        Runnable prompt = c.enter("e@slow.example", true);
        assertThat(prompt).as("a prompt send never waits").isNotNull();
        assertThat(c.underWay("slow.example")).isEqualTo(3);

        one.run();
        one.run();
        assertThat(c.underWay("slow.example")).as("a place is given back once").isEqualTo(2);
        assertThat(c.enter("f@slow.example", false)).as("the prompt one still counts").isNull();
        prompt.run();
        assertThat(c.enter("f@slow.example", false)).isNotNull();
    }

    @Test
    void noLimitTakesNothing() {
        DomainConcurrency c = new DomainConcurrency(0);
        for (int i = 0; i < 100; i++) {
            assertThat(c.enter(i + "@slow.example", false)).isNotNull();
        }
        assertThat(c.underWay("slow.example")).isZero();
    }
}
