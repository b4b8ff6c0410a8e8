package io.caravan.stream;

import java.net.URI;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import org.apache.camel.Exchange;
import org.apache.camel.ExchangePattern;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.support.DefaultExchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.env.Environment;
import org.springframework.stereotype.Component;

/**
 * Drains each webhook destination's outbox in order (routes/stream-webhooks.yaml ticks it): the oldest entry first,
 * signed per Standard Webhooks, POSTed through Camel's HTTP component ({@code direct:stream-webhook-send}). A 2xx
 * marks it delivered and the next goes; anything else (a status, a refused connection, a timeout) keeps it at the
 * head - so a destination's events arrive in order - and it is tried again after an exponential backoff, for up to
 * {@code caravan.streams.webhook.give-up-after} (3 days) after it was written; then it is given up (counted, listed by
 * {@code GET /api/streams}, sent again by a replay) and the ones behind it go.
 *
 * <p>One drainer at a time, as {@link KafkaPublisher}: a lock within the process, and across nodes the tick
 * ({@code caravan.singletons.stream-webhooks}, a stateful clustered Quartz trigger with the {@code cluster} profile).
 */
@Component
public class WebhookPublisher {

    private static final Logger log = LoggerFactory.getLogger(WebhookPublisher.class);
    static final String ENDPOINT = "CaravanWebhookEndpoint";
    private static final int BATCH = 100;

    /** The last failure per destination, for the status API (status code or exception class, never a body). */
    public record Failure(String error, Instant at) {
    }

    private final StreamDestinations destinations;
    private final StreamOutbox outbox;
    private final StreamProperties.Webhook retry;
    private final ProducerTemplate camel;
    private final Clock clock;
    private final Map<String, WebhookSigner> signers = new LinkedHashMap<>();
    private final Map<String, Failure> failures = new ConcurrentHashMap<>();
    private final ReentrantLock running = new ReentrantLock();

    public WebhookPublisher(StreamDestinations destinations, StreamOutbox outbox, StreamProperties props,
            ProducerTemplate camel, Clock clock, Environment env) {
        this.destinations = destinations;
        this.outbox = outbox;
        this.retry = props.webhook();
        this.camel = camel;
        this.clock = clock;
        List<String> problems = new java.util.ArrayList<>();
        for (StreamDestination d : destinations.all()) {
            if (!StreamDestination.WEBHOOK.equals(d.kind())) {
                continue;
            }
            // an environment variable, or any Spring property of that name (a secrets file mounted as config)
            String secret = env.getProperty(d.webhook().secretEnv);
            try {
                signers.put(d.id(), new WebhookSigner(secret));
            } catch (IllegalArgumentException e) {
                problems.add("adapters/" + d.id() + ".yaml: webhook.secretEnv " + d.webhook().secretEnv + ": "
                        + e.getMessage());
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalStateException("Webhook destinations: " + String.join("; ", problems));
        }
    }

    public Failure lastFailure(String destination) {
        return failures.get(destination);
    }

    /** One tick: every webhook destination as far as it goes. Ticks do not overlap. */
    public void drainAll() {
        if (!running.tryLock()) {
            return;
        }
        try {
            for (StreamDestination d : destinations.all()) {
                if (signers.containsKey(d.id())) {
                    drain(d);
                }
            }
        } finally {
            running.unlock();
        }
    }

    private void drain(StreamDestination d) {
        List<StreamOutbox.Entry> batch;
        do {
            batch = outbox.pending(d.id(), BATCH);
            for (StreamOutbox.Entry e : batch) {
                Instant now = clock.instant();
                if (e.nextAttemptAt().isAfter(now)) {
                    return;
                }
                String error = send(d, e);
                if (error == null) {
                    outbox.delivered(e.seq());
                    continue;
                }
                failures.put(d.id(), new Failure(error, now));
                if (!e.createdAt().plus(retry.giveUpAfter()).isAfter(now)) {
                    log.error("Webhook {}: event {} given up after {} attempts ({})", d.id(), e.eventId(),
                            e.attempts() + 1, error);
                    outbox.giveUp(e.seq(), error);
                    continue;
                }
                outbox.failed(e.seq(), now.plus(retry.backoff(e.attempts() + 1)), error);
                return;
            }
        } while (batch.size() == BATCH);
    }

    /** Null when the destination took it (2xx), else why not (no PHI: a status code or an exception class). */
    private String send(StreamDestination d, StreamOutbox.Entry e) {
        long ts = clock.instant().getEpochSecond();
        String id = e.eventId().toString();
        Exchange ex = new DefaultExchange(camel.getCamelContext(), ExchangePattern.InOut);
        ex.setProperty(ENDPOINT, endpoint(d.webhook().url));
        ex.getMessage().setBody(e.body());
        ex.getMessage().setHeader("webhook-id", id);
        ex.getMessage().setHeader("webhook-timestamp", Long.toString(ts));
        ex.getMessage().setHeader("webhook-signature", signers.get(d.id()).sign(id, ts, e.body()));
        ex.getMessage().setHeader(Exchange.CONTENT_TYPE, "application/json");
        Exchange done = camel.send("direct:stream-webhook-send", ex);
        if (done.getException() != null) {
            return done.getException().getClass().getSimpleName();
        }
        Integer code = done.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE, Integer.class);
        if (code != null && code >= 200 && code < 300) {
            return null;
        }
        return "HTTP " + code;
    }

    /**
     * The camel-http endpoint for a URL: failures answered as a status rather than thrown, and the exchange's other
     * headers never forwarded (only the three webhook headers and the content type are set).
     */
    static String endpoint(String url) {
        URI u = URI.create(url);
        String sep = u.getRawQuery() == null ? "?" : "&";
        return url + sep + "throwExceptionOnFailure=false&httpMethod=POST&followRedirects=false";
    }
}
