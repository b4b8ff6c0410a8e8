package io.caravan.eventlog;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.contact.ContactStore.LoggedEvent;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.support.DefaultListableBeanFactory;

/**
 * The pump drives each subscriber at its own pace: one busy in a long poll (the segment index on a backlog) does not
 * hold up another, and stopping the hub lets a poll finish rather than interrupting it (an interrupt inside H2 closes
 * the embedded store's file under every thread).
 */
class EventPumpTest {

    /** A subscriber that does nothing itself: the polls below stand for its work. */
    record Named(String subscriberName) implements EventSubscriber {
        @Override
        public void onEvent(LoggedEvent event) {
        }
    }

    /** Polls as Subscriptions would, without a database: "slow" sits in its poll until released. */
    static final class Polls extends Subscriptions {
        final CountDownLatch slowInPoll = new CountDownLatch(1);
        final CountDownLatch releaseSlow = new CountDownLatch(1);
        final AtomicInteger fastPolls = new AtomicInteger();
        final AtomicBoolean slowInterrupted = new AtomicBoolean();
        final AtomicBoolean slowFinished = new AtomicBoolean();

        Polls() {
            super(null, null, null, null, null);
        }

        @Override
        public List<Long> cursor(String subscriber) {
            return List.of();
        }

        @Override
        public int poll(EventSubscriber s) {
            return poll(s, () -> true, p -> true);
        }

        @Override
        public int poll(EventSubscriber s, java.util.function.BooleanSupplier going,
                java.util.function.IntPredicate owned) {
            if (s.subscriberName().equals("fast")) {
                fastPolls.incrementAndGet();
                return 0;
            }
            if (slowInPoll.getCount() == 0) {
                return 0;
            }
            slowInPoll.countDown();
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (releaseSlow.getCount() > 0 && going.getAsBoolean() && System.nanoTime() < until) {
                if (Thread.currentThread().isInterrupted()) {
                    slowInterrupted.set(true);
                }
                Thread.onSpinWait();
            }
            slowFinished.set(true);
            return 1;
        }
    }

    private static EventPump pump(Polls polls) {
        DefaultListableBeanFactory beans = new DefaultListableBeanFactory();
        beans.registerSingleton("slow", new Named("slow"));
        beans.registerSingleton("fast", new Named("fast"));
        return new EventPump(beans.getBeanProvider(EventSubscriber.class), polls, Duration.ofMillis(10),
                beans.getBeanProvider(PartitionOwnership.class));
    }

    @Test
    void aSubscriberInALongPollDoesNotHoldUpAnother() throws Exception {
        Polls polls = new Polls();
        EventPump pump = pump(polls);
        pump.start();
        try {
            assertThat(polls.slowInPoll.await(10, TimeUnit.SECONDS)).isTrue();
            int before = polls.fastPolls.get();
            Thread.sleep(500);
            // idle every 10 ms: dozens of polls while the other one is still busy
            assertThat(polls.fastPolls.get() - before).isGreaterThan(5);
        } finally {
            polls.releaseSlow.countDown();
            pump.stop();
        }
    }

    @Test
    void stopEndsARunningPollWithoutAnInterrupt() throws Exception {
        Polls polls = new Polls();
        EventPump pump = pump(polls);
        pump.start();
        assertThat(polls.slowInPoll.await(10, TimeUnit.SECONDS)).isTrue();
        long t0 = System.nanoTime();
        pump.stop();
        // the poll was told to end (after the event at hand) and did, long before its 20 s were up
        assertThat(polls.slowFinished).isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
        assertThat(polls.slowInterrupted).isFalse();
    }
}
