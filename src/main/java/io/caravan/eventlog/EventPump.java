package io.caravan.eventlog;

import io.caravan.system.Worker;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * Registers every subscriber's cursor before any feed is open (so a subscriber present from the first start misses
 * nothing), then polls each subscriber that asks for it ({@link EventSubscriber#pumped()}) on a thread of its own,
 * every {@code caravan.event-log.poll-interval} while idle and again at once while there was work. One thread per
 * subscriber, as each Kafka consumer group reads at its own pace: a subscriber that is slow per event (the segment
 * index) must not hold up one that is fast per run (a stream destination) - on one thread each poll of the one waited
 * for a poll of the other.
 */
@Component
public class EventPump implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(EventPump.class);

    private final ObjectProvider<EventSubscriber> subscribers;
    private final Subscriptions subscriptions;
    private final long intervalMillis;
    private volatile boolean running;
    private final List<Worker> threads = new java.util.ArrayList<>();
    private final Object idle = new Object();
    /**
     * In the {@code cluster} profile a subscriber's cursor is polled on one node at a time, by a clustered Quartz
     * trigger ({@code io.caravan.cluster.SubscriberRoutes}) instead of a thread here on every node: two nodes polling
     * one cursor would each run the effect and one would fail on the other's rows.
     */
    @Value("${caravan.cluster.enabled:false}")
    private boolean clustered;

    public EventPump(ObjectProvider<EventSubscriber> subscribers, Subscriptions subscriptions,
            @Value("${caravan.event-log.poll-interval:250ms}") java.time.Duration interval) {
        this.subscribers = subscribers;
        this.subscriptions = subscriptions;
        this.intervalMillis = Math.max(10, interval.toMillis());
    }

    @Override
    public void start() {
        List<EventSubscriber> all = subscribers.orderedStream().toList();
        all.forEach(s -> subscriptions.cursor(s.subscriberName()));
        List<EventSubscriber> pumped = clustered ? List.of() : all.stream().filter(EventSubscriber::pumped).toList();
        running = true;
        for (EventSubscriber s : pumped) {
            threads.add(Worker.start("caravan-event-pump-" + s.subscriberName(), true, () -> loop(s)));
        }
    }

    private void loop(EventSubscriber s) {
        while (running) {
            int n = 0;
            try {
                n = subscriptions.poll(s, () -> running);
            } catch (RuntimeException e) {
                log.error("Polling event log subscriber {} failed ({})", s.subscriberName(),
                        e.getClass().getSimpleName());
            }
            if (n == 0) {
                synchronized (idle) {
                    try {
                        if (running) {
                            idle.wait(intervalMillis);
                        }
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }
        }
    }

    @Override
    public void stop() {
        synchronized (idle) {
            running = false;
            // an idle thread is woken at once rather than after an interval
            idle.notifyAll();
        }
        for (Worker thread : threads) {
            // never interrupted: a thread interrupted inside H2 closes the embedded store's file under every other
            // thread (a subscriber behind the others is inside a poll when the hub stops); its poll ends after the
            // event or run at hand
            thread.awaitExit(Duration.ofSeconds(30));
        }
        threads.clear();
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /** After the contact writer (which commits what the log holds), before the Camel routes that feed it. */
    @Override
    public int getPhase() {
        return Integer.MIN_VALUE + 1100;
    }
}
