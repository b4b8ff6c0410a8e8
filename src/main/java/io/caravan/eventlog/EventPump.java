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
 * nothing), then polls the subscribers that ask for it ({@link EventSubscriber#pumped()}) on a thread of its own,
 * every {@code caravan.event-log.poll-interval} while idle and again at once while there was work.
 */
@Component
public class EventPump implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(EventPump.class);

    private final ObjectProvider<EventSubscriber> subscribers;
    private final Subscriptions subscriptions;
    private final long intervalMillis;
    private volatile boolean running;
    private Worker thread;

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
        List<EventSubscriber> pumped = all.stream().filter(EventSubscriber::pumped).toList();
        running = true;
        if (pumped.isEmpty()) {
            return;
        }
        thread = Worker.start("caravan-event-pump", true, () -> loop(pumped));
    }

    private void loop(List<EventSubscriber> pumped) {
        while (running) {
            int n = 0;
            for (EventSubscriber s : pumped) {
                try {
                    n += subscriptions.poll(s);
                } catch (RuntimeException e) {
                    log.error("Polling event log subscriber {} failed ({})", s.subscriberName(),
                            e.getClass().getSimpleName());
                }
            }
            if (n == 0) {
                try {
                    Thread.sleep(intervalMillis);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    @Override
    public void stop() {
        running = false;
        if (thread != null) {
            // it sleeps between polls: woken at once rather than after an interval
            thread.stop(Duration.ofSeconds(10), true);
        }
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
