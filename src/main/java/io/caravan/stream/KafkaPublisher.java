package io.caravan.stream;

import io.caravan.mapping.AdapterProfile;
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
import org.apache.camel.component.kafka.KafkaConstants;
import org.apache.camel.support.DefaultExchange;
import org.springframework.core.env.Environment;
import org.springframework.stereotype.Component;

/**
 * Drains each Kafka destination's outbox in order (routes/stream-kafka.yaml ticks it) through camel-kafka: an
 * idempotent producer with {@code acks=all}, each record keyed by the contact's surrogate (so one contact's events
 * stay in one partition, in order) and carrying the event's id in its payload (a consumer drops the rare resend after
 * a crash by it). An entry is marked delivered only once the broker acknowledged it; a failure holds the head and is
 * retried after the webhook backoff, without end - an outage loses nothing and the backlog drains when it is over.
 * No record header is set: the key (the surrogate) is the only thing outside the payload.
 *
 * <p>One drainer at a time: within a process a lock, across nodes the tick itself - with the {@code cluster} profile
 * a stateful clustered Quartz trigger ({@code caravan.singletons.stream-kafka}), fired on one node at a time. Two
 * drainers would send each record twice and interleave a contact's events.
 */
@Component
public class KafkaPublisher {

    static final String ENDPOINT = "CaravanKafkaEndpoint";
    private static final int BATCH = 1000;

    private final StreamDestinations destinations;
    private final StreamOutbox outbox;
    private final StreamProperties.Webhook retry;
    private final ProducerTemplate camel;
    private final Clock clock;
    private final Map<String, String> endpoints = new LinkedHashMap<>();
    private final Map<String, WebhookPublisher.Failure> failures = new ConcurrentHashMap<>();
    private final ReentrantLock running = new ReentrantLock();

    public KafkaPublisher(StreamDestinations destinations, StreamOutbox outbox, StreamProperties props,
            ProducerTemplate camel, Clock clock, Environment env) {
        this.destinations = destinations;
        this.outbox = outbox;
        this.retry = props.webhook();
        this.camel = camel;
        this.clock = clock;
        for (StreamDestination d : destinations.all()) {
            if (StreamDestination.KAFKA.equals(d.kind())) {
                endpoints.put(d.id(), endpoint(d.kafka(), env));
            }
        }
    }

    public WebhookPublisher.Failure lastFailure(String destination) {
        return failures.get(destination);
    }

    /** One tick: every Kafka destination as far as it goes. Ticks do not overlap. */
    public void drainAll() {
        if (!running.tryLock()) {
            return;
        }
        try {
            for (Map.Entry<String, String> d : endpoints.entrySet()) {
                drain(d.getKey(), d.getValue());
            }
        } finally {
            running.unlock();
        }
    }

    /**
     * The due entries of the destination's outbox, oldest first, as batches: each batch goes to the broker as one
     * camel-kafka exchange (a list of records, each keyed by its surrogate), sent together and awaited once - the
     * producer batches them per partition - then marked delivered in one statement. A failure holds the whole batch
     * at the head, tried again after the backoff: records the broker had already taken are resent with the same
     * event id, which is how a consumer tells a resend (and idempotence drops it within one producer session).
     */
    private void drain(String destination, String endpoint) {
        List<StreamOutbox.Entry> batch;
        do {
            batch = outbox.pending(destination, BATCH);
            Instant now = clock.instant();
            List<StreamOutbox.Entry> due = new java.util.ArrayList<>();
            for (StreamOutbox.Entry e : batch) {
                if (e.nextAttemptAt().isAfter(now)) {
                    break;
                }
                due.add(e);
            }
            if (due.isEmpty()) {
                return;
            }
            List<org.apache.camel.Message> records = new java.util.ArrayList<>(due.size());
            for (StreamOutbox.Entry e : due) {
                org.apache.camel.Message m = new org.apache.camel.support.DefaultMessage(camel.getCamelContext());
                m.setBody(e.body());
                m.setHeader(KafkaConstants.KEY, e.surrogate().toString());
                records.add(m);
            }
            Exchange ex = new DefaultExchange(camel.getCamelContext(), ExchangePattern.InOnly);
            ex.setProperty(ENDPOINT, endpoint);
            ex.getMessage().setBody(records);
            Exchange done = camel.send("direct:stream-kafka-send", ex);
            if (done.getException() != null) {
                String error = done.getException().getClass().getSimpleName();
                failures.put(destination, new WebhookPublisher.Failure(error, now));
                outbox.failed(due.get(0).seq(), now.plus(retry.backoff(due.get(0).attempts() + 1)), error);
                return;
            }
            // due is a run of consecutive pending entries in seq order: its bounds name it
            outbox.deliveredRun(destination, due.get(0).seq(), due.get(due.size() - 1).seq(), now);
            if (due.size() < batch.size()) {
                return;
            }
        } while (batch.size() == BATCH);
    }

    /**
     * The camel-kafka endpoint of a destination: idempotence and {@code acks=all} always (they are what makes a
     * resend harmless and an acknowledged record durable), short blocking so an absent broker fails the attempt
     * instead of holding the tick, credentials from environment variables (Camel masks them in its logs).
     */
    static String endpoint(AdapterProfile.Kafka k, Environment env) {
        StringBuilder u = new StringBuilder("kafka:").append(k.topic).append("?brokers=").append(k.bootstrapServers)
                .append("&requestRequiredAcks=all&enableIdempotence=true&maxInFlightRequest=5")
                .append("&maxBlockMs=5000&requestTimeoutMs=5000&deliveryTimeoutMs=15000&lingerMs=0")
                .append("&securityProtocol=").append(k.securityProtocol == null ? "PLAINTEXT" : k.securityProtocol);
        if (k.saslMechanism != null) {
            u.append("&saslMechanism=").append(k.saslMechanism);
            String user = k.usernameEnv == null ? null : env.getProperty(k.usernameEnv);
            String pass = k.passwordEnv == null ? null : env.getProperty(k.passwordEnv);
            if (user != null && pass != null) {
                String module = k.saslMechanism.startsWith("SCRAM")
                        ? "org.apache.kafka.common.security.scram.ScramLoginModule"
                        : "org.apache.kafka.common.security.plain.PlainLoginModule";
                u.append("&saslJaasConfig=RAW(").append(module).append(" required username=\"").append(user)
                        .append("\" password=\"").append(pass).append("\";)");
            }
        }
        if (k.truststore != null) {
            u.append("&sslTruststoreLocation=").append(k.truststore);
            String tp = k.truststorePasswordEnv == null ? null : env.getProperty(k.truststorePasswordEnv);
            if (tp != null) {
                u.append("&sslTruststorePassword=RAW(").append(tp).append(")");
            }
        }
        if (k.producer != null) {
            k.producer.forEach((name, value) -> u.append("&additionalProperties.").append(name).append("=RAW(")
                    .append(value).append(")"));
        }
        return u.toString();
    }
}
