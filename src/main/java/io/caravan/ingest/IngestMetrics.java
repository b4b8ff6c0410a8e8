package io.caravan.ingest;

import io.caravan.mapping.Hl7Warnings;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.stereotype.Component;

/**
 * Feed metrics. Labels are bounded and PHI-free: the feed is an adapter id from configuration (or {@code default}),
 * the outcome one of a fixed set. Never a sender-supplied value.
 */
@Component
public class IngestMetrics {

    /** What the hub answered. */
    public enum Outcome { ACCEPTED, DUPLICATE, IGNORED, ERROR, REJECTED }

    private final MeterRegistry registry;
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    private final Map<String, Timer> timers = new ConcurrentHashMap<>();
    /** Per feed, when it last had a message accepted (epoch millis): a silent feed is how an EHR interface fails. */
    private final Map<String, java.util.concurrent.atomic.AtomicLong> lastAccepted = new ConcurrentHashMap<>();

    public IngestMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    public void received(String feed) {
        counter("caravan.hl7.received", "feed", feed).increment();
    }

    public void answered(String feed, Outcome outcome, long nanos) {
        counter("caravan.hl7.messages", "feed", feed, "outcome", outcome.name().toLowerCase()).increment();
        timers.computeIfAbsent(feed, f -> Timer.builder("caravan.hl7.ack.latency")
                .description("Time from a complete frame to its ACK being ready (after commit)")
                .tag("feed", f)
                // buckets only: Prometheus computes quantiles; client-side percentiles cost every message
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofNanos(100_000))
                .maximumExpectedValue(Duration.ofSeconds(30))
                .register(registry)).record(Duration.ofNanos(nanos));
        if (outcome == Outcome.ACCEPTED) {
            lastAccepted.computeIfAbsent(feed, f -> {
                java.util.concurrent.atomic.AtomicLong at = new java.util.concurrent.atomic.AtomicLong();
                io.micrometer.core.instrument.Gauge.builder("caravan.hl7.last.accepted.timestamp", at,
                        a -> a.get() / 1000.0).baseUnit("seconds")
                        .description("When the feed last had a message accepted (stored and ACKed AA)")
                        .tag("feed", f).register(registry);
                return at;
            }).set(System.currentTimeMillis());
        }
    }

    /**
     * Data-quality warnings of an accepted message, by HL7 location (PID-7…): a location comes from the mapping rules,
     * a bounded set, never from the message's values.
     */
    public void fieldWarnings(String feed, java.util.List<String> warnings) {
        for (String w : warnings) {
            counter("caravan.hl7.field.warnings", "feed", feed, "location", Hl7Warnings.location(w)).increment();
        }
    }

    void connectionOpened() {
        counter("caravan.mllp.connections", "event", "opened").increment();
    }

    void connectionDropped(String reason) {
        counter("caravan.mllp.connections", "event", reason).increment();
    }

    /** A message refused because its connection does not fit the adapter it names; label: adapter id or unknown. */
    void senderRefused(String adapter) {
        counter("caravan.mllp.senders.refused", "adapter", adapter).increment();
    }

    /** Bytes the listener holds for frames across connections, against caravan.mllp.memory-budget. */
    void memoryBudget(MllpMemoryBudget budget) {
        io.micrometer.core.instrument.Gauge.builder("caravan.mllp.memory.used", budget, MllpMemoryBudget::used)
                .baseUnit("bytes").register(registry);
        io.micrometer.core.instrument.Gauge.builder("caravan.mllp.memory.budget", budget, MllpMemoryBudget::limit)
                .baseUnit("bytes").register(registry);
    }

    /** Connections being served now (against caravan.mllp.max-connections). */
    void openConnections(java.util.Collection<?> live) {
        io.micrometer.core.instrument.Gauge.builder("caravan.mllp.connections.open", live, java.util.Collection::size)
                .register(registry);
    }

    void truncatedFrames(long n) {
        counter("caravan.mllp.frames.truncated").increment(n);
    }

    void discardedBytes(long n) {
        counter("caravan.mllp.bytes.discarded").increment(n);
    }

    private Counter counter(String name, String... tags) {
        String key = name + String.join(",", tags);
        return counters.computeIfAbsent(key, k -> Counter.builder(name).tags(tags).register(registry));
    }
}
