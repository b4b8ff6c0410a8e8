package io.caravan.bench;

import io.caravan.CaravanApplication;
import io.caravan.contact.Contact;
import io.caravan.contact.ContactStore;
import io.caravan.contact.TriggerEvent;
import io.caravan.eventlog.EventPump;
import io.caravan.stream.SafeHarbor;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.kafka.test.EmbeddedKafkaKraftBroker;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Events per second through an outbound Kafka stream, durable end to end: trigger events already in the event log
 * are read by the destination's subscriber (the gate's decision and the disclosure audited and durable, the outbox
 * row committed with the cursor), drained from the outbox by camel-kafka (idempotent, {@code acks=all}) and marked
 * delivered once the broker acknowledged them. The clock runs from the moment the subscriber starts on a log holding
 * {@code --events} new events until the last of them is marked delivered. Beside it, in the same run and against the
 * same broker (an embedded KRaft broker, one node), a plain Kafka producer ({@code acks=all}, idempotent, default
 * batching) sends payloads of the same form and size and waits for every acknowledgement. The hub runs in-process on
 * its embedded store (H2). After each hub round it waits (untimed) until the log's other readers (segment index,
 * workflow engine) have caught up, so that no round or baseline pays for another's backlog; each round prints the
 * process's CPU per event (all threads in the JVM, the broker's too).
 */
public final class StreamBench {

    static final String TOPIC = "caravan-bench-stream";

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new LinkedHashMap<>(Map.of("--rounds", "3", "--events", "20000", "--contacts", "400",
                "--warmup", "5000"));
        for (int i = 0; i + 1 < args.length; i += 2) {
            a.put(args[i], args[i + 1]);
        }
        int rounds = Integer.parseInt(a.get("--rounds"));
        int events = Integer.parseInt(a.get("--events"));
        EmbeddedKafkaKraftBroker broker = new EmbeddedKafkaKraftBroker(1, 16, TOPIC);
        broker.afterPropertiesSet();
        Path data = Scratch.dir("caravan-stream-bench");
        Path adapters = Scratch.dir("caravan-stream-bench-adapters");
        Path workflows = Scratch.dir("caravan-stream-bench-workflows");
        Files.writeString(adapters.resolve("bench-kafka.yaml"), String.join("\n", "id: bench-kafka", "kind: kafka",
                "baa: { status: none }", "kafka:", "  bootstrapServers: " + broker.getBrokersAsString(),
                "  topic: " + TOPIC, "stream:", "  events: [patient.registered]", ""));
        int mllp;
        try (ServerSocket s = new ServerSocket(0)) {
            mllp = s.getLocalPort();
        }
        ConfigurableApplicationContext ctx = org.springframework.boot.SpringApplication.run(CaravanApplication.class,
                "--caravan.data-dir=" + data, "--server.port=0", "--caravan.mllp.host=127.0.0.1",
                "--caravan.mllp.port=" + mllp, "--logging.level.root=WARN", "--logging.level.io.caravan=WARN",
                "--caravan.mapping.adapters-dir=" + adapters,
                // no workflow reads these events: the stream alone is measured
                "--caravan.workflow.dir=" + workflows,
                "--caravan.event-log.poll-interval=10ms", "--caravan.streams.kafka.poll-interval=10");
        try {
            List<UUID> ids = register(ctx, Integer.parseInt(a.get("--contacts")), mllp);
            System.out.printf("cores %d, heap %d MiB, %d contacts, %d events a round, broker %s%n",
                    Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() >> 20, ids.size(),
                    events, broker.getBrokersAsString());
            List<byte[]> payloads = payloads(ctx, ids, events);
            int warmup = Integer.parseInt(a.get("--warmup"));
            hub(ctx, ids, warmup);
            plain(broker.getBrokersAsString(), payloads.subList(0, Math.min(warmup, payloads.size())));
            CPU_HUB.clear();
            CPU_PLAIN.clear();
            CPU_INDEX.clear();
            List<Double> base = new ArrayList<>();
            List<Double> hub = new ArrayList<>();
            for (int r = 0; r < rounds; r++) {
                base.add(plain(broker.getBrokersAsString(), payloads));
                hub.add(hub(ctx, ids, events));
            }
            double b = median(base);
            double h = median(hub);
            System.out.println();
            System.out.printf("  %-66s %10s %8s%n", "target", "events/s", "vs plain");
            System.out.printf("  %-66s %,10.0f %7.0f %%   rounds: %s%n",
                    "plain Kafka producer, acks=all, idempotent (baseline)", b, 100.0, rates(base));
            System.out.printf("  %-66s %,10.0f %7.0f %%   rounds: %s%n",
                    "hub: log -> gate + audit -> outbox -> camel-kafka acks=all -> delivered", h, 100 * h / b,
                    rates(hub));
            double cb = median(CPU_PLAIN);
            double ch = median(CPU_HUB);
            System.out.printf("  CPU per event (whole process, median): plain %.0f us, hub %.0f us; plain/hub %.0f %%%n",
                    cb, ch, 100 * cb / ch);
            System.out.printf("  of which the segment index's reader (median): %.0f us per event%n", median(CPU_INDEX));
        } finally {
            ctx.close();
            broker.destroy();
        }
    }

    /** Appends {@code count} trigger events while the subscriber is stopped, then times it through to delivered. */
    static double hub(ConfigurableApplicationContext ctx, List<UUID> ids, int count) throws Exception {
        JdbcTemplate jdbc = ctx.getBean(JdbcTemplate.class);
        ContactStore store = ctx.getBean(ContactStore.class);
        TransactionTemplate tx = ctx.getBean(TransactionTemplate.class);
        EventPump pump = ctx.getBean(EventPump.class);
        pump.stop();
        OffsetDateTime at = OffsetDateTime.parse("2026-03-01T09:00:00-05:00");
        for (int from = 0; from < count; from += 1000) {
            int start = from;
            tx.executeWithoutResult(st -> {
                for (int i = start; i < Math.min(count, start + 1000); i++) {
                    TriggerEvent e = new TriggerEvent(UUID.randomUUID(), "patient.registered", at,
                            new TriggerEvent.Source("bench", "B" + i, null), Map.of("location", "CLINIC"));
                    store.appendToLog(ids.get(i % ids.size()), e, java.time.Instant.now());
                }
            });
        }
        long last = lastSeq(jdbc);
        long c0 = cpuNanos();
        long t0 = System.nanoTime();
        pump.start();
        double outboxed = 0;
        // cheap probes (the primary key, the pending index), seldom: the machine has two cores to share
        while (outboxed == 0 || pending(jdbc) > 0) {
            if (outboxed == 0 && lastSeq(jdbc) >= last + count) {
                outboxed = (System.nanoTime() - t0) / 1e9;
            }
            Thread.sleep(50);
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        double cpu = (cpuNanos() - c0) / 1e3 / count;
        // the hub's other readers of the log (segment index, workflow engine) go at their own pace: the next round
        // (or the plain producer) starts only once they are done, so none of their work lands in another's figure
        long t1 = System.nanoTime();
        while (behind(ctx) > 0) {
            Thread.sleep(50);
        }
        double index = threadCpuNanos("caravan-event-pump-segment-index") / 1e3 / count;
        double stream = threadCpuNanos("caravan-event-pump-stream:") / 1e3 / count;
        System.out.printf("    hub round: %,d events in the outbox after %.2f s (%,.0f/s), delivered after %.2f s,"
                + " CPU %.0f us/event (the stream's reader %.0f, the segment index's %.0f); the log's other readers"
                + " caught up %.2f s later%n", count, outboxed, count / outboxed, secs, cpu, stream, index,
                (System.nanoTime() - t1) / 1e9);
        CPU_HUB.add(cpu);
        CPU_INDEX.add(index);
        return count / secs;
    }

    /** The process's CPU per event (all threads: hub, broker, producer) of each timed round. */
    static final List<Double> CPU_HUB = new ArrayList<>();
    static final List<Double> CPU_PLAIN = new ArrayList<>();
    /** The segment index's reader thread's CPU per event of each timed round (it reads every event beside the stream). */
    static final List<Double> CPU_INDEX = new ArrayList<>();

    /** CPU of the live threads whose name starts with {@code prefix}: the pump's readers live for one round. */
    static long threadCpuNanos(String prefix) {
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        long n = 0;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith(prefix)) {
                n += Math.max(0, mx.getThreadCpuTime(t.getId()));
            }
        }
        return n;
    }

    static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** Events in the log some subscriber (any of them) has not read yet. */
    static long behind(ConfigurableApplicationContext ctx) {
        io.caravan.eventlog.Subscriptions subs = ctx.getBean(io.caravan.eventlog.Subscriptions.class);
        long n = 0;
        for (String s : ctx.getBean(JdbcTemplate.class).queryForList("SELECT DISTINCT subscriber FROM event_cursor",
                String.class)) {
            n += subs.lag(s);
        }
        return n;
    }

    static long lastSeq(JdbcTemplate jdbc) {
        Long seq = jdbc.queryForObject("SELECT MAX(seq) FROM stream_outbox", Long.class);
        return seq == null ? 0 : seq;
    }

    static long pending(JdbcTemplate jdbc) {
        return jdbc.queryForObject("SELECT COUNT(*) FROM stream_outbox WHERE destination = 'bench-kafka'"
                + " AND delivered_at IS NULL", Long.class);
    }

    /** The de-identified payloads the hub sends for these contacts, serialised as it does, for the plain producer. */
    static List<byte[]> payloads(ConfigurableApplicationContext ctx, List<UUID> ids, int count) throws Exception {
        ContactStore store = ctx.getBean(ContactStore.class);
        SafeHarbor harbor = ctx.getBean(SafeHarbor.class);
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        List<byte[]> out = new ArrayList<>(count);
        OffsetDateTime at = OffsetDateTime.parse("2026-03-01T09:00:00-05:00");
        for (int i = 0; i < count; i++) {
            Contact c = store.findById(ids.get(i % ids.size())).orElseThrow();
            out.add(json.writeValueAsBytes(harbor.deidentify(UUID.randomUUID(), "patient.registered", at, c,
                    UUID.randomUUID())));
        }
        return out;
    }

    /** The same payloads through a plain producer, keyed by a random surrogate each, until all are acknowledged. */
    static double plain(String brokers, List<byte[]> payloads) throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            keys.add(UUID.randomUUID().toString());
        }
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p)) {
            producer.partitionsFor(TOPIC);
            long c0 = cpuNanos();
            long t0 = System.nanoTime();
            List<Future<RecordMetadata>> acks = new ArrayList<>(payloads.size());
            for (int i = 0; i < payloads.size(); i++) {
                acks.add(producer.send(new ProducerRecord<>(TOPIC, keys.get(i % keys.size()), payloads.get(i))));
            }
            for (Future<RecordMetadata> f : acks) {
                f.get();
            }
            double rate = payloads.size() / ((System.nanoTime() - t0) / 1e9);
            double cpu = (cpuNanos() - c0) / 1e3 / payloads.size();
            System.out.printf("    plain round: %,.0f events/s, CPU %.0f us/event%n", rate, cpu);
            CPU_PLAIN.add(cpu);
            return rate;
        }
    }

    /** The same registrations over MLLP as the SMS benchmark's: contacts with a mobile, one ACK at a time. */
    static List<UUID> register(ConfigurableApplicationContext ctx, int n, int port) throws Exception {
        return SmsBench.register(ctx, n, port);
    }

    static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        s.sort(null);
        return s.get(s.size() / 2);
    }

    static String rates(List<Double> xs) {
        return xs.stream().map(x -> String.format("%,.0f", x)).toList().toString();
    }
}
