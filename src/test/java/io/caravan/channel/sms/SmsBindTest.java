package io.caravan.channel.sms;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class SmsBindTest {

    @Test
    void theWaitBeforeABindTryDoublesPerFailedTryUpToTheCap() {
        Duration first = Duration.ofSeconds(1);
        Duration max = Duration.ofSeconds(60);
        assertThat(SmsBind.backoff(first, max, 0)).isEqualTo(Duration.ofSeconds(1));
        assertThat(SmsBind.backoff(first, max, 1)).isEqualTo(Duration.ofSeconds(2));
        assertThat(SmsBind.backoff(first, max, 3)).isEqualTo(Duration.ofSeconds(8));
        assertThat(SmsBind.backoff(first, max, 6)).isEqualTo(Duration.ofSeconds(60));
        assertThat(SmsBind.backoff(first, max, 1_000)).as("no overflow after a long outage")
                .isEqualTo(Duration.ofSeconds(60));
    }
}
