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
    private final PartitionOwnership ownership;
    /** Subscribers are Kafka consumer groups ({@link KafkaPartitions}): every node pumps its share of partitions. */
    private final boolean sharedByKafka;
    private volatile boolean running;
    private final List<Worker> threads = new java.util.ArrayList<>();
    private final List<PartitionOwnership.Lease> leases = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final Object idle = new Object();
    /**
     * In the {@code cluster} profile a subscriber's cursor is polled on one node at a time, by a clustered Quartz
     * trigger ({@code io.caravan.cluster.SubscriberRoutes}) instead of a thread here on every node: two nodes polling
     * one cursor would each run the effect and one would fail on the other's rows.
     */
    @Value("${caravan.cluster.enabled:false}")
    private boolean clustered;

    public EventPump(ObjectProvider<EventSubscriber> subscribers, Subscriptions subscriptions,
            @Value("${caravan.event-log.poll-interval:250ms}") java.time.Duration interval,
            ObjectProvider<PartitionOwnership> ownership) {
        this.subscribers = subscribers;
        this.subscriptions = subscriptions;
        this.intervalMillis = Math.max(10, interval.toMillis());
        PartitionOwnership kafka = ownership.getIfAvailable();
        this.sharedByKafka = kafka != null;
        this.ownership = kafka != null ? kafka : s -> new AllPartitions();
    }

    /** One node alone: every partition is its own, and it waits out the interval while idle. */
    private final class AllPartitions implements PartitionOwnership.Lease {

        @Override
        public java.util.function.IntPredicate owned() {
            return p -> true;
        }

        @Override
        public void next(int handled, long interval) {
            if (handled > 0) {
                return;
            }
            synchronized (idle) {
                try {
                    if (running) {
                        idle.wait(interval);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        @Override
        public void wake() {
            synchronized (idle) {
                idle.notifyAll();
            }
        }

        @Override
        public void close() {
        }
    }

    @Override
    public void start() {
        List<EventSubscriber> all = subscribers.orderedStream().toList();
        all.forEach(s -> subscriptions.cursor(s.subscriberName()));
        List<EventSubscriber> pumped = clustered && !sharedByKafka ? List.<EventSubscriber>of()
                : all.stream().filter(EventSubscriber::pumped).toList();
        running = true;
        for (EventSubscriber s : pumped) {
            threads.add(Worker.start("caravan-event-pump-" + s.subscriberName(), true, () -> loop(s)));
        }
    }

    private void loop(EventSubscriber s) {
        PartitionOwnership.Lease lease = ownership.lease(s);
        leases.add(lease);
        try {
            while (running && !Thread.currentThread().isInterrupted()) {
                int n = 0;
                try {
                    n = subscriptions.poll(s, () -> running, lease.owned());
                } catch (RuntimeException e) {
                    log.error("Polling event log subscriber {} failed ({})", s.subscriberName(),
                            e.getClass().getSimpleName());
                }
                if (running) {
                    lease.next(n, intervalMillis);
                }
            }
        } finally {
            leases.remove(lease);
            lease.close();
        }
    }

    @Override
    public void stop() {
        synchronized (idle) {
            running = false;
            // an idle thread is woken at once rather than after an interval
            idle.notifyAll();
        }
        leases.forEach(PartitionOwnership.Lease::wake);
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
