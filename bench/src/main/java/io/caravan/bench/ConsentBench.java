package io.caravan.bench;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.caravan.audit.Actions;
import io.caravan.audit.AuditDraft;
import io.caravan.audit.AuditLog;
import io.caravan.audit.AuditProperties;
import io.caravan.audit.AuditTrail;
import io.caravan.consent.ConsentPolicy;
import io.caravan.consent.ConsentRecord;
import io.caravan.consent.Decision;
import io.caravan.consent.DecisionEngine;
import io.caravan.consent.DecisionRequest;
import io.caravan.contact.Contact;
import io.caravan.crypto.FieldCipher;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.Period;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import javax.crypto.KeyGenerator;
import org.flywaydb.core.Flyway;

/**
 * The HIPAA gate's two hot paths, each beside its baseline measured in the same JVM and the same run, in alternating
 * rounds after a warm-up; medians of the rounds.
 *
 * <ul>
 *   <li>Decisions per second: the engine over 10,000 contacts with 2–12 records each (authorizations valid, expired
 *       and revoked, SMS consents, opt-outs in force and lifted, feed restrictions), requests rotating over purposes
 *       and channels — against a decision for a contact with no records at all.</li>
 *   <li>Durable audit appends per second: the MAC chain with sealed details, group-committed — against a plain
 *       batched insert of the same rows without the chain, MAC or sealing, same group commit and same durability
 *       step. On H2 each group ends in a CHECKPOINT (in the file, not fsync'd); on PostgreSQL the commit is fsync'd
 *       (synchronous_commit=on). Appenders wait for each entry to be durable, as the API and the gate do.</li>
 * </ul>
 */
public final class ConsentBench {

    static final Instant NOW = Instant.parse("2026-11-28T12:00:00Z");

    record Round(double perSecond, double p50Micros, double p99Micros) {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new LinkedHashMap<>(Map.of("--policies", "config/policies", "--rounds", "5",
                "--round-seconds", "5", "--warmup-seconds", "15", "--threads", "2", "--appenders", "64"));
        for (int i = 0; i + 1 < args.length; i += 2) {
            a.put(args[i], args[i + 1]);
        }
        int rounds = Integer.parseInt(a.get("--rounds"));
        int seconds = Integer.parseInt(a.get("--round-seconds"));
        int warmup = Integer.parseInt(a.get("--warmup-seconds"));
        int threads = Integer.parseInt(a.get("--threads"));
        int appenders = Integer.parseInt(a.get("--appenders"));
        System.out.printf("cores %d, heap %d MiB, %d rounds of %d s after %d s warm-up%n",
                Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() >> 20, rounds, seconds,
                warmup);

        // ---- decisions ----
        if (!"audit".equals(a.get("--only"))) {
            decisionRounds(a, rounds, seconds, warmup, threads);
        }
        if ("decisions".equals(a.get("--only"))) {
            return;
        }
        auditRounds(a, rounds, seconds, warmup, appenders);
    }

    static void decisionRounds(Map<String, String> a, int rounds, int seconds, int warmup, int threads)
            throws Exception {
        DecisionEngine engine = new DecisionEngine(ConsentPolicy.load(Path.of(a.get("--policies"))),
                Map.of("analytics", "none", "partner", "signed"));
        Population realistic = Population.realistic(10_000, 42);
        Population empty = Population.empty(10_000);
        System.out.printf("decisions: %d threads; realistic population: %.1f records per contact%n", threads,
                realistic.meanRecords());
        decisions(engine, realistic, threads, warmup);
        decisions(engine, empty, threads, Math.max(3, warmup / 3));
        Map<String, List<Round>> dec = new LinkedHashMap<>();
        for (int r = 0; r < rounds; r++) {
            dec.computeIfAbsent("no records (baseline)", k -> new ArrayList<>())
                    .add(decisions(engine, empty, threads, seconds));
            dec.computeIfAbsent("realistic records", k -> new ArrayList<>())
                    .add(decisions(engine, realistic, threads, seconds));
        }
        report("Consent decisions (in memory, nothing written)", "decisions/s", dec);
    }

    static void auditRounds(Map<String, String> a, int rounds, int seconds, int warmup, int appenders)
            throws Exception {
        FieldCipher cipher = cipher();
        Map<String, String> stores = new LinkedHashMap<>();
        Path h2dir = Scratch.dir("caravan-audit-bench");
        if (!"true".equals(a.get("--pg-only"))) {
            stores.put("H2", "jdbc:h2:file:" + h2dir.resolve("db") + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE");
        }
        if (a.get("--pg-url") != null && !"true".equals(a.get("--h2-only"))) {
            stores.put("PostgreSQL", a.get("--pg-url"));
        }
        for (Map.Entry<String, String> store : stores.entrySet()) {
            try (HikariDataSource ds = dataSource(store.getValue())) {
                Flyway.configure().dataSource(ds).locations("classpath:db/migration").load().migrate();
                try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
                    s.execute("CREATE TABLE IF NOT EXISTS audit_plain (seq BIGINT PRIMARY KEY, id UUID NOT NULL,"
                            + " at TIMESTAMP WITH TIME ZONE NOT NULL, actor VARCHAR(128) NOT NULL,"
                            + " action VARCHAR(48) NOT NULL, contact_id UUID, purpose VARCHAR(16),"
                            + " channel VARCHAR(64), outcome VARCHAR(32))");
                }
                boolean h2 = store.getKey().equals("H2");
                AuditLog chain = new AuditLog(ds, cipher, Clock.systemUTC(), new AuditProperties(Period.ofYears(6),
                        false, false));
                chain.start();
                PlainWriter plain = new PlainWriter(ds, h2);
                plain.start();
                System.out.printf("audit on %s: %d appenders, each waiting for durability%n", store.getKey(),
                        appenders);
                appends(chain::appendAndWait, appenders, warmup);
                appends(plain::appendAndWait, appenders, Math.max(3, warmup / 3));
                Map<String, List<Round>> res = new LinkedHashMap<>();
                for (int r = 0; r < rounds; r++) {
                    res.computeIfAbsent("plain batched insert (baseline)", k -> new ArrayList<>())
                            .add(appends(plain::appendAndWait, appenders, seconds));
                    res.computeIfAbsent("MAC chain, sealed details", k -> new ArrayList<>())
                            .add(appends(chain::appendAndWait, appenders, seconds));
                }
                chain.stop();
                plain.stop();
                AuditTrail.Verification v = new AuditTrail(ds, cipher).verify();
                report("Durable audit appends on " + store.getKey() + (h2 ? " (written to the file by CHECKPOINT, "
                        + "not fsync'd)" : " (commit fsync'd, synchronous_commit=on)") + "; chain after the run: "
                        + (v.valid() ? "valid, " + v.verifiedEntries() + " entries" : "INVALID " + v.problem()),
                        "appends/s", res);
                long t0 = System.nanoTime();
                new AuditTrail(ds, cipher).verify();
                System.out.printf("  verification of %d entries: %.0f ms%n", v.verifiedEntries(),
                        (System.nanoTime() - t0) / 1e6);
            }
        }
    }

    // ---- decisions ----------------------------------------------------------------------------------------------

    static final DecisionRequest[] REQUESTS = {DecisionRequest.of("treatment", "email"),
            DecisionRequest.of("marketing", "email"), DecisionRequest.of("marketing", "sms"),
            DecisionRequest.of("operations", "sms"), DecisionRequest.of("treatment", "sms"),
            new DecisionRequest("marketing", "email", Decision.PHI_FREE, true, List.of()),
            new DecisionRequest("treatment", "email", Decision.PHI, false, List.of("ICD-10-CM|E11.9")),
            DecisionRequest.of("operations", "queue:analytics")};

    record Population(Contact[] contacts, List<ConsentRecord>[] records) {

        double meanRecords() {
            return Arrays.stream(records).mapToInt(List::size).average().orElse(0);
        }

        @SuppressWarnings("unchecked")
        static Population empty(int n) {
            Contact[] cs = new Contact[n];
            List<ConsentRecord>[] rs = new List[n];
            for (int i = 0; i < n; i++) {
                cs[i] = new Contact(UUID.randomUUID());
                rs[i] = List.of();
            }
            return new Population(cs, rs);
        }

        @SuppressWarnings("unchecked")
        static Population realistic(int n, long seed) {
            SplittableRandom rnd = new SplittableRandom(seed);
            Contact[] cs = new Contact[n];
            List<ConsentRecord>[] rs = new List[n];
            String[] restrictions = {"protection-indicator", "opt-out:sms:marketing", "opt-out:any:marketing"};
            for (int i = 0; i < n; i++) {
                Contact c = new Contact(UUID.randomUUID());
                if (rnd.nextInt(10) == 0) {
                    c.restrictions.add(restrictions[rnd.nextInt(restrictions.length)]);
                }
                if (rnd.nextInt(20) == 0) {
                    c.attributes.put("publicityCode", "N");
                }
                c.attributes.put("portalStatus", "ACTIVE");
                int count = 2 + rnd.nextInt(11);
                List<ConsentRecord> list = new ArrayList<>(count);
                for (int k = 0; k < count; k++) {
                    int kind = rnd.nextInt(10);
                    Instant eff = NOW.minus(Duration.ofDays(1 + rnd.nextInt(2000)));
                    Instant exp = rnd.nextInt(3) == 0 ? NOW.minus(Duration.ofDays(rnd.nextInt(300)))
                            : NOW.plus(Duration.ofDays(1 + rnd.nextInt(900)));
                    Instant rev = rnd.nextInt(5) == 0 ? NOW.minus(Duration.ofDays(rnd.nextInt(100))) : null;
                    ConsentRecord r;
                    if (kind < 4) {
                        r = record(c, ConsentRecord.AUTHORIZATION, "marketing", "any", null, rnd.nextInt(4) == 0, eff,
                                exp, rev);
                    } else if (kind < 7) {
                        r = record(c, ConsentRecord.CONSENT, "marketing", rnd.nextBoolean() ? "sms" : "email",
                                rnd.nextInt(4) == 0 ? "verbal" : "written", false, eff, null, rev);
                    } else {
                        String[] chs = {"email", "sms", "any"};
                        String[] ps = {"marketing", "operations", "any"};
                        r = record(c, ConsentRecord.OPT_OUT, ps[rnd.nextInt(3)], chs[rnd.nextInt(3)], null, false,
                                eff, null, rnd.nextBoolean() ? NOW.minus(Duration.ofDays(rnd.nextInt(50))) : null);
                    }
                    list.add(r);
                }
                cs[i] = c;
                rs[i] = List.copyOf(list);
            }
            return new Population(cs, rs);
        }

        static ConsentRecord record(Contact c, String kind, String purpose, String channel, String form,
                boolean remuneration, Instant eff, Instant exp, Instant rev) {
            return new ConsentRecord(UUID.randomUUID(), c.id, kind, purpose, channel, form, remuneration, "api",
                    "bench", eff, exp, rev, eff, null);
        }
    }

    static Round decisions(DecisionEngine engine, Population pop, int threads, int seconds) {
        LongAdder ops = new LongAdder();
        AtomicBoolean stop = new AtomicBoolean();
        long[][] samples = new long[threads][];
        int[] sampleCounts = new int[threads];
        AtomicLong sink = new AtomicLong();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            samples[t] = new long[1 << 20];
            ts.add(new Thread(() -> {
                int i = id * 7919;
                long n = 0;
                long allowed = 0;
                int s = 0;
                Contact[] cs = pop.contacts();
                while (!stop.get()) {
                    int idx = i % cs.length;
                    DecisionRequest q = REQUESTS[i % REQUESTS.length];
                    if ((n & 31) == 0 && s < samples[id].length) {
                        long t0 = System.nanoTime();
                        Decision d = engine.decide(cs[idx], pop.records()[idx], q, NOW);
                        samples[id][s++] = System.nanoTime() - t0;
                        allowed += d.allowed() ? 1 : 0;
                    } else {
                        allowed += engine.decide(cs[idx], pop.records()[idx], q, NOW).allowed() ? 1 : 0;
                    }
                    i++;
                    n++;
                    if ((n & 1023) == 0) {
                        ops.add(1024);
                    }
                }
                sampleCounts[id] = s;
                sink.addAndGet(allowed);
            }));
        }
        long t0 = System.nanoTime();
        ts.forEach(Thread::start);
        sleep(seconds * 1000L);
        stop.set(true);
        ts.forEach(ConsentBench::join);
        double elapsed = (System.nanoTime() - t0) / 1e9;
        long[] all = merge(samples, sampleCounts);
        if (sink.get() < 0) {
            System.out.println("impossible");
        }
        return new Round(ops.sum() / elapsed, pct(all, 0.50) / 1e3, pct(all, 0.99) / 1e3);
    }

    // ---- audit appends ------------------------------------------------------------------------------------------

    interface Appender {
        long append(AuditDraft d);
    }

    static Round appends(Appender appender, int threads, int seconds) {
        LongAdder ops = new LongAdder();
        AtomicBoolean stop = new AtomicBoolean();
        long[][] samples = new long[threads][];
        int[] counts = new int[threads];
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            samples[t] = new long[1 << 18];
            ts.add(new Thread(() -> {
                UUID contact = UUID.randomUUID();
                int s = 0;
                while (!stop.get()) {
                    long t0 = System.nanoTime();
                    appender.append(AuditDraft.of("bench", Actions.DISCLOSURE).contact(contact).purpose("treatment")
                            .channel("email").outcome("tls").detail("recipient", "patient@example.org")
                            .detail("description", "Appointment reminder").detail("messageId", "m-" + s));
                    if (s < samples[id].length) {
                        samples[id][s] = System.nanoTime() - t0;
                    }
                    s++;
                    ops.increment();
                }
                counts[id] = Math.min(s, samples[id].length);
            }));
        }
        long t0 = System.nanoTime();
        ts.forEach(Thread::start);
        sleep(seconds * 1000L);
        stop.set(true);
        ts.forEach(ConsentBench::join);
        double elapsed = (System.nanoTime() - t0) / 1e9;
        long[] all = merge(samples, counts);
        return new Round(ops.sum() / elapsed, pct(all, 0.50) / 1e3, pct(all, 0.99) / 1e3);
    }

    /** The baseline: the same group commit and durability step, rows without MAC, chain or sealed details. */
    static final class PlainWriter {
        record Pending(AuditDraft d, CompletableFuture<Long> done) {
        }

        final HikariDataSource ds;
        final boolean h2;
        final BlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
        volatile boolean running = true;
        long seq;
        Thread thread;

        PlainWriter(HikariDataSource ds, boolean h2) {
            this.ds = ds;
            this.h2 = h2;
        }

        long appendAndWait(AuditDraft d) {
            CompletableFuture<Long> f = new CompletableFuture<>();
            queue.add(new Pending(d, f));
            return f.join();
        }

        void start() throws Exception {
            try (Connection c = ds.getConnection(); Statement s = c.createStatement();
                    var rs = s.executeQuery("SELECT COALESCE(MAX(seq), 0) FROM audit_plain")) {
                rs.next();
                seq = rs.getLong(1);
            }
            thread = new Thread(() -> {
                List<Pending> group = new ArrayList<>();
                while (running) {
                    try {
                        Pending p = queue.poll(100, TimeUnit.MILLISECONDS);
                        if (p == null) {
                            continue;
                        }
                        group.add(p);
                        queue.drainTo(group, 2047);
                        try (Connection c = ds.getConnection()) {
                            c.setAutoCommit(false);
                            try (PreparedStatement ps = c.prepareStatement("INSERT INTO audit_plain (seq, id, at, actor,"
                                    + " action, contact_id, purpose, channel, outcome) VALUES (?,?,?,?,?,?,?,?,?)")) {
                                long s = seq;
                                for (Pending g : group) {
                                    ps.setLong(1, ++s);
                                    ps.setObject(2, g.d().id());
                                    ps.setTimestamp(3, Timestamp.from(Instant.now()));
                                    ps.setString(4, "bench");
                                    ps.setString(5, g.d().action());
                                    ps.setObject(6, null);
                                    ps.setString(7, "treatment");
                                    ps.setString(8, "email");
                                    ps.setString(9, "tls");
                                    ps.addBatch();
                                }
                                ps.executeBatch();
                                c.commit();
                                if (h2) {
                                    try (Statement st = c.createStatement()) {
                                        st.execute("CHECKPOINT");
                                    }
                                }
                                long first = seq + 1;
                                seq = s;
                                for (int i = 0; i < group.size(); i++) {
                                    group.get(i).done().complete(first + i);
                                }
                            }
                        }
                    } catch (Exception e) {
                        group.forEach(g -> g.done().completeExceptionally(e));
                    }
                    group.clear();
                }
            }, "plain-writer");
            thread.start();
        }

        void stop() {
            running = false;
            join(thread);
        }
    }

    // ---- plumbing -----------------------------------------------------------------------------------------------

    static HikariDataSource dataSource(String url) {
        HikariConfig c = new HikariConfig();
        c.setJdbcUrl(url);
        if (url.startsWith("jdbc:h2:")) {
            c.setUsername("caravan");
            c.setPassword("");
        }
        c.setMaximumPoolSize(8);
        return new HikariDataSource(c);
    }

    static FieldCipher cipher() throws Exception {
        KeyGenerator aes = KeyGenerator.getInstance("AES");
        aes.init(256);
        return new FieldCipher(Map.of("dek-1", aes.generateKey()), "dek-1",
                KeyGenerator.getInstance("HmacSHA256").generateKey());
    }

    static void report(String title, String unit, Map<String, List<Round>> results) {
        System.out.println();
        System.out.println(title);
        System.out.printf("  %-34s %14s %10s %10s %8s%n", "target", unit, "p50 µs", "p99 µs", "vs base");
        double base = -1;
        for (Map.Entry<String, List<Round>> e : results.entrySet()) {
            double tput = median(e.getValue().stream().mapToDouble(Round::perSecond).toArray());
            if (base < 0) {
                base = tput;
            }
            System.out.printf("  %-34s %,14.0f %10.2f %10.2f %7.0f %%   rounds: %s%n", e.getKey(), tput,
                    median(e.getValue().stream().mapToDouble(Round::p50Micros).toArray()),
                    median(e.getValue().stream().mapToDouble(Round::p99Micros).toArray()), 100 * tput / base,
                    e.getValue().stream().map(r -> String.format("%,.0f", r.perSecond())).toList());
        }
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static long[] merge(long[][] samples, int[] counts) {
        int total = 0;
        for (int c : counts) {
            total += c;
        }
        long[] all = new long[total];
        int pos = 0;
        for (int t = 0; t < samples.length; t++) {
            System.arraycopy(samples[t], 0, all, pos, counts[t]);
            pos += counts[t];
        }
        Arrays.sort(all);
        return all;
    }

    static double pct(long[] sorted, double p) {
        return sorted.length == 0 ? 0 : sorted[Math.min(sorted.length - 1, (int) (p * sorted.length))];
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static void join(Thread t) {
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
