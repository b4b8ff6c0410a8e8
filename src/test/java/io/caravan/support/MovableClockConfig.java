package io.caravan.support;

import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;

/**
 * For {@code @Import}: the hub's clock is the system's time until the test moves it on ({@link MutableClock#ahead}) -
 * to let a pickup expire or a journey's timer fall due without waiting days.
 */
@TestConfiguration
public class MovableClockConfig {

    @Bean
    @Primary
    MutableClock movableClock() {
        return MutableClock.following();
    }
}
