package io.caravan.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

/**
 * HL7 ingest and PHI-free sends on 1, 2 and 3 hub processes of the {@code postgres,cluster} profiles (one private
 * PostgreSQL with fsync on, the event log on a KRaft broker process), each step beside the single-node embedded
 * default (H2) in the same run. Nodes are added one at a time to the same cluster (as an operator adds a node), the
 * baseline runs throughout; rounds alternate between baseline and cluster after a warm-up of each, so machine noise
 * hits both alike. Every hub JVM gets the same flags ({@code -Xmx256m -XX:ActiveProcessorCount=1} by default): on
 * one 2-core machine the figures show what several nodes cost, not a speed-up.
 *
 * <p>Per step: MLLP load from a fixed number of senders (each on its own connection, waiting for its ACK), spread
 * round-robin over the cluster's nodes; during the cluster's rounds the CPU of every process (hubs, PostgreSQL's
 * backends, the broker) and PostgreSQL's wait events are sampled, to name the first shared bottleneck. Then a
 * PHI-free email campaign to a segment of freshly registered contacts, sent over the relay adapter to an SMTP sink
 * that records each recipient. At the end: every ACKed message stored exactly once (from {@code GET /api/inbound}),
 * and every campaign recipient sent to exactly once.
 *
 * <pre>
 * java -cp bench/target/classes:target/classes:$(cat bench/target/hub.classpath) io.caravan.bench.ClusterBench \
 *   --hub-jar target/caravan-0.1.0-SNAPSHOT.jar --pg-admin-url JDBC --pg-data DIR --kafka HOST:PORT --broker-pid PID
 *   [--nodes 1,2,3] [--senders 6] [--rounds 3] [--round-seconds 20] [--warmup-seconds 20] [--campaign 1000]
 *   [--heap 256m] [--quick]
 * </pre>
 */
public final class ClusterBench {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String PASSWORD = "cluster-bench";
    static final String RUN = Long.toString(System.currentTimeMillis(), 36);
    static final String TEMPLATE = "appointment-reminder-notice";
    static String hubJar = "target/caravan-0.1.0-SNAPSHOT.jar";
    // the campaign contacts' state, one per step (the load's patients all live in IL): the segment selects by it
    static final String[] STATES = {"VT", "WY", "ND", "SD", "MT", "AK"};

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new LinkedHashMap<>(Map.of("nodes", "1,2,3", "senders", "6", "rounds", "3",
                "round-seconds", "20", "warmup-seconds", "20", "campaign", "1000", "heap", "256m"));
        List<String> hubExtra = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--quick")) {
                // a smoke run on a loaded machine: the numbers are rough, the checks are the same
                opt.putAll(Map.of("rounds", "3", "round-seconds", "8", "warmup-seconds", "8", "campaign", "200"));
            } else if (args[i].startsWith("--caravan.") || args[i].startsWith("--spring.")) {
                hubExtra.add(args[i]);
            } else if (i + 1 < args.length) {
                opt.put(args[i].replaceFirst("^--", ""), args[++i]);
            }
        }
        int[] steps = Arrays.stream(opt.get("nodes").split(",")).mapToInt(Integer::parseInt).toArray();
        int senders = Integer.parseInt(opt.get("senders"));
        int rounds = Integer.parseInt(opt.get("rounds"));
        int roundSeconds = Integer.parseInt(opt.get("round-seconds"));
        int warmupSeconds = Integer.parseInt(opt.get("warmup-seconds"));
        int campaignSize = Integer.parseInt(opt.get("campaign"));
        String heap = opt.get("heap");
        String pgAdmin = opt.get("pg-admin-url");
        hubJar = opt.getOrDefault("hub-jar", hubJar);
        Path work = Scratch.dir("caravan-cluster-bench-");

        String db = "cluster_bench_" + RUN;
        try (Connection c = DriverManager.getConnection(pgAdmin); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + db);
        }
        String pgUrl = pgAdmin.replaceFirst("/[^/?]+\\?", "/" + db + "?");
        String masterKey = "cluster-bench-master-key-" + RUN;
        long postmaster = Long.parseLong(Files.readAllLines(Path.of(opt.get("pg-data"), "postmaster.pid")).get(0)
                .trim());
        long brokerPid = Long.parseLong(opt.getOrDefault("broker-pid", "-1"));

        System.out.printf("cluster benchmark: steps %s nodes, %d senders, %d rounds x %d s after %d s warm-up, hub"
                + " JVMs -Xmx%s -XX:ActiveProcessorCount=1, campaign of %d a step, %d cores; logs under %s%n",
                opt.get("nodes"), senders, rounds, roundSeconds, warmupSeconds, heap, campaignSize,
                Runtime.getRuntime().availableProcessors(), work);

        List<Hub> nodes = new ArrayList<>();
        Sink clusterSink = new Sink();
        Sink baseSink = new Sink();
        Path clusterAdapters = adapters(work.resolve("adapters-cluster"), clusterSink.port());
        Path baseAdapters = adapters(work.resolve("adapters-baseline"), baseSink.port());
        Hub base = new Hub("baseline", work, heap, baseAdapters, null, null, null, hubExtra);
        Target baseline = new Target("embedded default (H2)", List.of(base));
        Target cluster = new Target("cluster", nodes);
        List<String[]> table = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        // the hubs go with the driver, also when it is interrupted
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            nodes.forEach(Hub::stop);
            base.stop();
        }));
        boolean failed;
        try {
            base.start();
            for (int step = 0; step < steps.length; step++) {
                int n = steps[step];
                while (nodes.size() < n) {
                    // one after the other: several starts at once on a loaded 2-core machine take minutes
                    Hub h = new Hub("node" + (nodes.size() + 1), work, heap, clusterAdapters, pgUrl, opt.get("kafka"),
                            masterKey, hubExtra);
                    h.start();
                    nodes.add(h);
                }
                String load0 = loadAverage();
                System.out.printf("%n== %d node%s (load average %s) ==%n", n, n == 1 ? "" : "s", load0);
                for (Target t : List.of(baseline, cluster)) {
                    Round w = t.round(senders, warmupSeconds);
                    System.out.printf("  warm-up %-22s %,8.0f msg/s errors %d%n", t.name, w.perSecond(), w.errors);
                }
                List<Round> br = new ArrayList<>();
                List<Round> cr = new ArrayList<>();
                Usage usage = new Usage();
                for (int r = 0; r < rounds; r++) {
                    double b0 = Cpu.ticks(base.process.pid());
                    Round b = baseline.round(senders, roundSeconds);
                    usage.baseline(Cpu.ticks(base.process.pid()) - b0, b.messages);
                    br.add(b);
                    Sampler sampler = new Sampler(pgUrl);
                    Cpu before = Cpu.read(postmaster, brokerPid, nodes);
                    Round c = cluster.round(senders, roundSeconds);
                    usage.add(Cpu.read(postmaster, brokerPid, nodes).minus(before), c.messages, c.seconds);
                    sampler.stop();
                    usage.waits(sampler);
                    cr.add(c);
                    System.out.printf("  round %d: baseline %,.0f msg/s, cluster %,.0f msg/s (%.0f %%)%n", r + 1,
                            br.get(r).perSecond(), c.perSecond(), 100 * c.perSecond() / br.get(r).perSecond());
                }
                double bm = median(br, Round::perSecond);
                double cm = median(cr, Round::perSecond);
                String state = STATES[step % STATES.length];
                double bs = campaign(baseline, baseSink, "b" + n, state, campaignSize, notes, null);
                double cs = campaign(cluster, clusterSink, "c" + n, state, campaignSize, notes, pgUrl);
                String load1 = loadAverage();
                table.add(new String[] {String.valueOf(n), baseline.name, fmt(bm), ms(median(br, Round::p50)),
                        ms(median(br, Round::p99)), "100 %", fmt(bs), "100 %", sum(br), load0 + " / " + load1,
                        "H2 journal fsync'd per group before ACK (the default)"});
                table.add(new String[] {String.valueOf(n), "cluster, " + n + " node" + (n == 1 ? "" : "s"), fmt(cm),
                        ms(median(cr, Round::p50)), ms(median(cr, Round::p99)), pct(cm, bm), fmt(cs), pct(cs, bs),
                        sum(cr), load0 + " / " + load1, "PostgreSQL commit fsync'd (synchronous_commit=on) before ACK"});
                System.out.printf("  rounds msg/s: baseline %s, cluster %s%n", rates(br), rates(cr));
                usage.print(n);
            }

            System.out.printf("%n== correctness ==%n");
            boolean ok = baseline.checkStored(notes) & cluster.checkStored(notes);
            ok &= baseSink.checkOnce("baseline", notes) & clusterSink.checkOnce("cluster", notes);
            for (Hub h : nodes) {
                ok &= h.checkLog(notes);
            }
            ok &= base.checkLog(notes);

            System.out.printf("%n== summary (medians of %d rounds of %d s; sends: a campaign of %d a step) ==%n",
                    rounds, roundSeconds, campaignSize);
            System.out.printf("%-5s %-22s %9s %8s %8s %8s %8s %8s %6s %-13s %s%n", "nodes", "target", "msg/s",
                    "p50 ms", "p99 ms", "vs base", "sends/s", "vs base", "errors", "load", "durability");
            for (String[] row : table) {
                System.out.printf("%-5s %-22s %9s %8s %8s %8s %8s %8s %6s %-13s %s%n", (Object[]) row);
            }
            for (String note : notes) {
                System.out.println("  " + note);
            }
            System.out.println(ok ? "correctness: every ACKed message stored once, every recipient sent to once"
                    : "correctness: FAILED (see above)");
            failed = !ok;
        } finally {
            for (Hub h : nodes) {
                h.stop();
            }
            base.stop();
            clusterSink.close();
            baseSink.close();
            // the hubs' data directories are large (every message of the run); their logs stay for reading
            for (Hub h : nodes) {
                h.deleteData();
            }
            base.deleteData();
        }
        if (failed) {
            System.exit(1);
        }
    }

    static Path adapters(Path dir, int sinkPort) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("bench-sink.yaml"), String.join("\n", "id: bench-sink", "kind: smtp", "baa:",
                "  status: signed", "smtp:", "  host: 127.0.0.1", "  port: " + sinkPort, "  tls: starttls",
                "  connections: 8", ""));
        return dir;
    }

    // ---------------------------------------------------------------------------------------------------- the load

    /** One system under test: one hub, or the nodes of the cluster (the list grows between steps). */
    static final class Target {
        final String name;
        final List<Hub> hubs;
        // every control id answered AA, to be found stored exactly once at the end
        final Set<String> acked = ConcurrentHashMap.newKeySet();
        final AtomicLong seq = new AtomicLong();

        Target(String name, List<Hub> hubs) {
            this.name = name;
            this.hubs = hubs;
        }

        String controlId() {
            return RUN + "-" + (name.startsWith("cluster") ? "c" : "b") + seq.incrementAndGet();
        }

        /** {@code senders} connections spread round-robin over the hubs, each waiting for its ACK. */
        Round round(int senders, int seconds) throws InterruptedException {
            long deadline = System.nanoTime() + seconds * 1_000_000_000L;
            long[][] lat = new long[senders][];
            long[] counts = new long[senders];
            long[] errors = new long[senders];
            List<Thread> threads = new ArrayList<>();
            long start = System.nanoTime();
            for (int s = 0; s < senders; s++) {
                final int id = s;
                final Hub hub = hubs.get(s % hubs.size());
                Thread th = new Thread(() -> {
                    long[] l = new long[1 << 14];
                    int k = 0;
                    SplittableRandom rnd = new SplittableRandom(id * 7919L + seq.get());
                    try (Socket sock = new Socket("127.0.0.1", hub.mllpPort)) {
                        sock.setTcpNoDelay(true);
                        sock.setSoTimeout(60_000);
                        OutputStream out = sock.getOutputStream();
                        InputStream in = sock.getInputStream();
                        byte[] buf = new byte[4096];
                        while (System.nanoTime() < deadline) {
                            String ctl = controlId();
                            String msg = MllpBench.nextMessage(rnd).replaceFirst(
                                    "\\|" + MllpBench.RUN + "-\\d+\\|", "|" + ctl + "|");
                            long t0 = System.nanoTime();
                            out.write(MllpBench.frame(msg));
                            out.flush();
                            String ack = MllpBench.readAck(in, buf);
                            long dt = System.nanoTime() - t0;
                            if (ack == null) {
                                errors[id]++;
                                break;
                            }
                            if (ack.contains("MSA|AA|")) {
                                acked.add(ctl);
                            } else {
                                errors[id]++;
                            }
                            if (k == l.length) {
                                l = Arrays.copyOf(l, k * 2);
                            }
                            l[k++] = dt;
                            counts[id]++;
                        }
                    } catch (IOException e) {
                        errors[id]++;
                    }
                    lat[id] = Arrays.copyOf(l, k);
                }, "sender-" + s);
                threads.add(th);
                th.start();
            }
            for (Thread th : threads) {
                th.join();
            }
            double secs = (System.nanoTime() - start) / 1e9;
            long[] all = Arrays.stream(lat).filter(java.util.Objects::nonNull).flatMapToLong(Arrays::stream).sorted()
                    .toArray();
            return new Round(Arrays.stream(counts).sum(), Arrays.stream(errors).sum(), secs, all);
        }

        /** Registers {@code n} contacts living in {@code state}, spread over the hubs; their addresses in order. */
        List<String> register(String tag, String state, int n) throws Exception {
            List<String> emails = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                emails.add("cb" + tag + "x" + i + "@example.org");
            }
            AtomicInteger next = new AtomicInteger();
            List<Exception> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            List<Thread> ts = new ArrayList<>();
            for (int s = 0; s < Math.max(2, hubs.size()); s++) {
                Hub hub = hubs.get(s % hubs.size());
                Thread th = new Thread(() -> {
                    try (Socket sock = new Socket("127.0.0.1", hub.mllpPort)) {
                        sock.setSoTimeout(60_000);
                        byte[] buf = new byte[4096];
                        int i;
                        while ((i = next.getAndIncrement()) < n) {
                            String ctl = controlId();
                            String msg = "MSH|^~\\&|REG|MERCY|CARAVAN|HUB|20260301090000||ADT^A04^ADT_A01|" + ctl
                                    + "|P|2.5.1\rEVN|A04|20260301090000\rPID|1||CB" + tag.toUpperCase(Locale.ROOT)
                                    + "-" + i + "^^^MERCY^MR||Doe^Jane||19700615|F|||1 Main St^^Springfield^" + state
                                    + "^05401||^NET^Internet^" + emails.get(i) + "||eng\r";
                            sock.getOutputStream().write(MllpBench.frame(msg));
                            sock.getOutputStream().flush();
                            String ack = MllpBench.readAck(sock.getInputStream(), buf);
                            if (ack == null || !ack.contains("MSA|AA|")) {
                                throw new IllegalStateException("registration not accepted: "
                                        + (ack == null ? "closed" : ack.replaceAll(".*MSA\\|", "MSA|")));
                            }
                            acked.add(ctl);
                        }
                    } catch (Exception e) {
                        failures.add(e);
                    }
                });
                ts.add(th);
                th.start();
            }
            for (Thread th : ts) {
                th.join();
            }
            if (!failures.isEmpty()) {
                throw failures.get(0);
            }
            return emails;
        }

        /** Every ACKed control id stored exactly once: the hub's own inbound listing, read through node 1. */
        boolean checkStored(List<String> notes) throws Exception {
            Map<String, Integer> stored = new java.util.HashMap<>();
            String cursor = null;
            do {
                JsonNode page = JSON.readTree(hubs.get(0).get("/api/inbound?limit=500"
                        + (cursor == null ? "" : "&cursor=" + URLEncoder.encode(cursor, StandardCharsets.UTF_8))));
                for (JsonNode item : page.get("items")) {
                    String ctl = item.path("controlId").asText("");
                    if (ctl.startsWith(RUN + "-")) {
                        stored.merge(ctl, 1, Integer::sum);
                    }
                }
                cursor = page.hasNonNull("nextCursor") ? page.get("nextCursor").asText() : null;
            } while (cursor != null);
            long missing = acked.stream().filter(c -> !stored.containsKey(c)).count();
            long twice = stored.values().stream().filter(v -> v > 1).count();
            String line = String.format("%s: %,d ACKed (AA), %,d stored, %,d ACKed but not stored, %,d stored twice",
                    name, acked.size(), stored.size(), missing, twice);
            System.out.println("  " + line);
            boolean ok = missing == 0 && twice == 0;
            if (!ok) {
                notes.add("DEFECT " + line);
            }
            return ok;
        }
    }

    /**
     * A PHI-free email campaign to the contacts just registered: recipients per second from the campaign's creation
     * until the sink has a message for each of them.
     */
    static double campaign(Target t, Sink sink, String tag, String state, int size, List<String> notes,
            String sampleUrl) throws Exception {
        List<String> emails = t.register(tag, state, size);
        Hub first = t.hubs.get(0);
        String when = "state == '" + state + "'";
        // the node the campaign is created on snapshots from its own index: wait until it holds every new contact,
        // or until its count has stood still for 30 s (a node whose index misses contacts: reported, not waited out)
        long until = System.nanoTime() + 180_000_000_000L;
        long count = -1;
        long still = System.nanoTime();
        while (System.nanoTime() < until && System.nanoTime() - still < 30_000_000_000L) {
            long now = JSON.readTree(first.post("/api/segments/preview", JSON.writeValueAsString(Map.of("when",
                    when, "purpose", "treatment"))).body()).path("count").asLong(-1);
            if (now != count) {
                still = System.nanoTime();
            }
            count = now;
            if (count >= size) {
                break;
            }
            Thread.sleep(500);
        }
        if (count < size) {
            notes.add(String.format("%s %s: the segment on %s (where the campaign is created) counted %d of the %d"
                    + " contacts registered across the nodes", t.name, tag, first.name, count, size));
        }
        String segment = "cb-" + tag + "-" + RUN;
        HttpResponse<String> r = first.post("/api/segments", JSON.writeValueAsString(Map.of("id", segment,
                "description", "cluster benchmark", "purpose", "treatment", "when", when)));
        if (r.statusCode() / 100 != 2) {
            throw new IllegalStateException("segment: " + r.statusCode() + " " + r.body());
        }
        Set<String> want = new HashSet<>(emails);
        long t0 = System.nanoTime();
        r = first.post("/api/campaigns", JSON.writeValueAsString(Map.of("name", "bench " + tag, "segment", segment,
                "channel", "email", "template", TEMPLATE, "data", Map.of("clinicPhone", "+1 217 555 0100"),
                "rate", 5000)));
        if (r.statusCode() / 100 != 2) {
            throw new IllegalStateException("campaign: " + r.statusCode() + " " + r.body());
        }
        String id = JSON.readTree(r.body()).path("id").asText();
        Sampler sampler = sampleUrl == null ? null : new Sampler(sampleUrl);
        long deadline = System.nanoTime() + Math.max(180, size / 5) * 1_000_000_000L;
        long got = 0;
        long last = System.nanoTime();
        long checked = 0;
        while (sink.received(want) < size && System.nanoTime() < deadline) {
            Thread.sleep(20);
            long now = sink.received(want);
            if (now != got) {
                got = now;
                last = System.nanoTime();
            }
            // a campaign that completed short of the segment (its node's snapshot missed contacts) ends the wait
            // once nothing has arrived for 10 s
            if (System.nanoTime() - last > 10_000_000_000L && System.nanoTime() - checked > 2_000_000_000L) {
                checked = System.nanoTime();
                if ("completed".equals(JSON.readTree(first.get("/api/campaigns/" + id)).path("status").asText())) {
                    break;
                }
            }
        }
        // until the last message arrived
        double secs = (last - t0) / 1e9;
        if (sampler != null) {
            sampler.stop();
        }
        got = sink.received(want);
        sink.expect(want);
        System.out.printf("  campaign %s on %s: %,d of %,d recipients reached the sink in %.1f s%n", tag, t.name, got,
                size, secs);
        if (sampler != null) {
            System.out.printf("  PostgreSQL during the campaign, %d samples (average sessions: what they wait on):%n",
                    sampler.samples.get());
            printWaits(sampler.waits, sampler.samples.get(), 6);
        }
        if (got < size) {
            notes.add(String.format("%s %s: the campaign reached %d of %d recipients (%s)", t.name, tag, got, size,
                    System.nanoTime() < deadline ? "it completed short of the registered contacts" : "timed out"));
        }
        return got == 0 ? 0 : got / secs;
    }

    record Round(long messages, long errors, double seconds, long[] latencies) {
        double perSecond() {
            return messages / seconds;
        }

        double p50() {
            return pct(0.50);
        }

        double p99() {
            return pct(0.99);
        }

        double pct(double p) {
            return latencies.length == 0 ? Double.NaN
                    : latencies[(int) Math.min(latencies.length - 1, Math.floor(p * latencies.length))] / 1e6;
        }
    }

    interface Metric {
        double of(Round r);
    }

    static double median(List<Round> rs, Metric m) {
        double[] v = rs.stream().mapToDouble(m::of).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    static String rates(List<Round> rs) {
        return rs.stream().map(r -> String.format("%.0f", r.perSecond())).collect(Collectors.joining(", ", "[", "]"));
    }

    static String fmt(double v) {
        return String.format("%,.0f", v);
    }

    static String ms(double v) {
        return String.format("%.2f", v);
    }

    static String pct(double v, double base) {
        return String.format("%.0f %%", 100 * v / base);
    }

    static String sum(List<Round> rs) {
        return String.valueOf(rs.stream().mapToLong(Round::errors).sum());
    }

    static String loadAverage() throws IOException {
        String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
        return f[0];
    }

    // --------------------------------------------------------------------------------------- where the time goes

    /** CPU seconds so far of PostgreSQL (postmaster and every backend), the broker and each hub. */
    record Cpu(double postgres, double broker, double[] hubs, double self) {
        static Cpu read(long postmaster, long broker, List<Hub> hubs) {
            double pg = ticks(postmaster);
            ProcessHandle pm = ProcessHandle.of(postmaster).orElse(null);
            if (pm != null) {
                pg += pm.descendants().mapToDouble(p -> ticks(p.pid())).sum();
            }
            double[] h = hubs.stream().mapToDouble(x -> ticks(x.process.pid())).toArray();
            return new Cpu(pg, broker > 0 ? ticks(broker) : 0, h, ticks(ProcessHandle.current().pid()));
        }

        Cpu minus(Cpu o) {
            double[] h = new double[hubs.length];
            for (int i = 0; i < h.length; i++) {
                h[i] = hubs[i] - (i < o.hubs.length ? o.hubs[i] : 0);
            }
            return new Cpu(postgres - o.postgres, broker - o.broker, h, self - o.self);
        }

        /** utime + stime from /proc/<pid>/stat, in seconds (USER_HZ is 100 on Linux). */
        static double ticks(long pid) {
            try {
                String s = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
                String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
                return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0;
            } catch (IOException | RuntimeException gone) {
                return 0;
            }
        }
    }

    /** PostgreSQL's sessions of the cluster's database sampled every 100 ms: what each is waiting on. */
    static final class Sampler {
        final Map<String, Integer> waits = new ConcurrentHashMap<>();
        final AtomicInteger samples = new AtomicInteger();
        final Thread thread;
        volatile boolean stop;

        Sampler(String url) {
            thread = new Thread(() -> {
                try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
                    while (!stop) {
                        // the statement text, not parameters: the hub binds every value, so no PHI reaches it
                        try (ResultSet rs = s.executeQuery("SELECT state, wait_event_type, wait_event,"
                                + " left(regexp_replace(query, '\\s+', ' ', 'g'), 70) FROM pg_stat_activity"
                                + " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                                + " AND state <> 'idle' AND backend_type = 'client backend'")) {
                            while (rs.next()) {
                                String type = rs.getString(2);
                                String key = (type == null ? "CPU" : type + ":" + rs.getString(3)) + " ("
                                        + rs.getString(1) + ")";
                                // for a session idle in a transaction its last statement: whose transaction is
                                // held open while the hub works (a row lock held across JVM work serialises nodes)
                                if (type != null && !"Client".equals(type) || !"active".equals(rs.getString(1))) {
                                    key += "  <" + rs.getString(4) + ">";
                                }
                                waits.merge(key, 1, Integer::sum);
                            }
                        }
                        samples.incrementAndGet();
                        Thread.sleep(100);
                    }
                } catch (Exception e) {
                    waits.merge("sampler failed: " + e.getClass().getSimpleName(), 1, Integer::sum);
                }
            }, "pg-sampler");
            thread.setDaemon(true);
            thread.start();
        }

        void stop() throws InterruptedException {
            stop = true;
            thread.join(5_000);
        }
    }

    /** The cluster's rounds of one step added up. */
    static final class Usage {
        double pg;
        double broker;
        double hubs;
        double self;
        long messages;
        double seconds;
        int samples;
        final Map<String, Integer> waits = new TreeMap<>();

        double baseCpu;
        long baseMessages;

        void baseline(double cpu, long msgs) {
            baseCpu += cpu;
            baseMessages += msgs;
        }

        void add(Cpu d, long msgs, double secs) {
            pg += d.postgres;
            broker += d.broker;
            hubs += Arrays.stream(d.hubs).sum();
            self += d.self;
            messages += msgs;
            seconds += secs;
        }

        void waits(Sampler s) {
            samples += s.samples.get();
            s.waits.forEach((k, v) -> waits.merge(k, v, Integer::sum));
        }

        void print(int n) {
            double cores = seconds * Runtime.getRuntime().availableProcessors();
            System.out.printf("  CPU during the cluster's rounds (%,d messages, %.0f s; %% of the machine's %d"
                    + " cores): hubs %.0f %% (%.2f ms/msg), PostgreSQL %.0f %% (%.2f ms/msg), broker %.0f %% (%.2f"
                    + " ms/msg), load generator %.0f %%%n", messages, seconds,
                    Runtime.getRuntime().availableProcessors(), 100 * hubs / cores, 1000 * hubs / messages,
                    100 * pg / cores, 1000 * pg / messages, 100 * broker / cores, 1000 * broker / messages,
                    100 * self / cores);
            double hub = 1000 * hubs / messages;
            double db = 1000 * pg / messages;
            double kafka = 1000 * broker / messages;
            double h2 = 1000 * baseCpu / Math.max(1, baseMessages);
            System.out.printf("  CPU per message, everything the cluster runs (nodes + PostgreSQL + broker): %.2f ms,"
                    + " %.1f x the embedded default's %.2f ms%n", hub + db + kafka, (hub + db + kafka) / h2, h2);
            // CPU per message, not wall time: on a shared machine the rates move with the neighbours, the cost less
            System.out.printf("  per core (CPU ms per message): embedded default %.2f ms -> %,.0f msg/s per core;"
                    + " cluster node %.2f ms -> %,.0f msg/s per node core; PostgreSQL %.2f ms -> %,.0f msg/s per"
                    + " core of the primary; broker %.2f ms -> %,.0f msg/s per core. Nodes on cores of their own"
                    + " fill one core of the primary at about %.1f nodes (%d measured)%n", h2, 1000 / h2, hub,
                    1000 / hub, db, 1000 / db, kafka, 1000 / Math.max(kafka, 1e-9), hub / db, n);
            System.out.printf("  PostgreSQL sessions not idle, %d samples at 100 ms (average sessions: what they"
                    + " wait on):%n", samples);
            printWaits(waits, samples, 10);
        }
    }

    static void printWaits(Map<String, Integer> waits, int samples, int top) {
        List<Map.Entry<String, Integer>> all = waits.entrySet().stream()
                .sorted(Map.Entry.<String, Integer>comparingByValue().reversed()).toList();
        for (int i = 0; i < all.size(); i++) {
            // lock waits always: a lock that serialises the nodes is what the benchmark looks for, however rare
            if (i < top || all.get(i).getKey().startsWith("Lock:")) {
                System.out.printf("    %6.2f  %s%n", all.get(i).getValue() / (double) Math.max(1, samples),
                        all.get(i).getKey());
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ processes

    /** One hub JVM: the fat jar of this checkout, its own data directory, ports and log. */
    static final class Hub {
        final String name;
        final Path data;
        final Path log;
        final List<String> command = new ArrayList<>();
        final Map<String, String> env = new LinkedHashMap<>();
        final int httpPort;
        final int mllpPort;
        final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        Process process;

        Hub(String name, Path work, String heap, Path adapters, String pgUrl, String kafka, String masterKey,
                List<String> extra) throws IOException {
            this.name = name;
            this.data = Files.createDirectories(work.resolve(name));
            this.log = work.resolve(name + ".log");
            this.httpPort = freePort();
            this.mllpPort = freePort();
            command.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xms" + heap, "-Xmx" + heap, "-XX:ActiveProcessorCount=1", "-jar",
                    hubJar,
                    "--caravan.data-dir=" + data, "--server.port=" + httpPort, "--caravan.mllp.host=127.0.0.1",
                    "--caravan.mllp.port=" + mllpPort, "--caravan.mapping.adapters-dir=" + adapters,
                    "--caravan.email.relay=bench-sink", "--caravan.email.dkim.enabled=false",
                    "--caravan.campaigns.poll-interval=200ms"));
            if (pgUrl != null) {
                command.addAll(List.of("--spring.profiles.active=postgres,cluster", "--spring.datasource.url=" + pgUrl,
                        "--spring.datasource.username=postgres", "--spring.datasource.password=",
                        "--caravan.event-log.kafka.bootstrap-servers=" + kafka,
                        "--caravan.event-log.kafka.topic=caravan-bench-" + RUN));
                env.put("CARAVAN_MASTER_KEY", masterKey);
            }
            command.addAll(extra);
            env.put("CARAVAN_ADMIN_PASSWORD", PASSWORD);
        }

        void start() throws Exception {
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
            pb.environment().putAll(env);
            long t0 = System.nanoTime();
            process = pb.start();
            long deadline = System.currentTimeMillis() + 300_000;
            while (System.currentTimeMillis() < deadline) {
                if (!process.isAlive()) {
                    throw new IllegalStateException(name + " exited with " + process.exitValue() + "; see " + log);
                }
                try {
                    if (http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort
                            + "/actuator/health")).build(), HttpResponse.BodyHandlers.discarding())
                            .statusCode() == 200) {
                        System.out.printf("  %s started in %.0f s (pid %d)%n", name, (System.nanoTime() - t0) / 1e9,
                                process.pid());
                        return;
                    }
                } catch (IOException notYet) {
                    // still starting
                }
                Thread.sleep(500);
            }
            throw new IllegalStateException(name + " did not become healthy; see " + log);
        }

        String get(String path) throws Exception {
            HttpResponse<String> r = http.send(auth(path).timeout(Duration.ofSeconds(120)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IllegalStateException(path + " -> " + r.statusCode());
            }
            return r.body();
        }

        HttpResponse<String> post(String path, String json) throws Exception {
            return http.send(auth(path).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(json)).timeout(Duration.ofSeconds(120)).build(),
                    HttpResponse.BodyHandlers.ofString());
        }

        HttpRequest.Builder auth(String path) {
            return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path)).header("Authorization",
                    "Basic " + Base64.getEncoder().encodeToString(("admin:" + PASSWORD)
                            .getBytes(StandardCharsets.UTF_8)));
        }

        /** ERROR lines and stack traces in the hub's log: each is something an operator would be paged for. */
        boolean checkLog(List<String> notes) throws IOException {
            List<String> bad = Files.readAllLines(log).stream().filter(l -> l.contains(" ERROR ")
                    || l.contains("OutOfMemoryError")).toList();
            if (!bad.isEmpty()) {
                notes.add(String.format("%s: %d ERROR lines in %s, the first: %s", name, bad.size(), log,
                        bad.get(0).length() > 200 ? bad.get(0).substring(0, 200) : bad.get(0)));
            }
            return true;
        }

        void stop() {
            if (process != null && process.isAlive()) {
                process.destroy();
                try {
                    if (!process.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
                        process.destroyForcibly();
                    }
                } catch (InterruptedException e) {
                    process.destroyForcibly();
                    Thread.currentThread().interrupt();
                }
            }
        }

        void deleteData() {
            try (var files = Files.walk(data)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            } catch (IOException | RuntimeException e) {
                System.out.println("  could not remove " + data + ": " + e.getClass().getSimpleName());
            }
        }

        static int freePort() throws IOException {
            try (ServerSocket s = new ServerSocket(0)) {
                return s.getLocalPort();
            }
        }
    }

    /** An SMTP sink that keeps how many messages each recipient received (addresses only, synthetic). */
    static final class Sink implements AutoCloseable {
        final Map<String, AtomicInteger> perRecipient = new ConcurrentHashMap<>();
        final Set<String> expected = ConcurrentHashMap.newKeySet();
        private final ServerSocket server = new ServerSocket(0, 100, java.net.InetAddress.getLoopbackAddress());

        Sink() throws IOException {
            Thread t = new Thread(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket c = server.accept();
                        Thread h = new Thread(() -> session(c), "smtp-sink");
                        h.setDaemon(true);
                        h.start();
                    } catch (IOException e) {
                        return;
                    }
                }
            }, "smtp-sink-accept");
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return server.getLocalPort();
        }

        long received(Set<String> of) {
            return of.stream().filter(perRecipient::containsKey).count();
        }

        void expect(Set<String> recipients) {
            expected.addAll(recipients);
        }

        /** Every campaign recipient got exactly one message (after a pause for late duplicates). */
        boolean checkOnce(String name, List<String> notes) throws InterruptedException {
            Thread.sleep(5_000);
            long missing = expected.stream().filter(e -> !perRecipient.containsKey(e)).count();
            long twice = expected.stream().filter(e -> perRecipient.containsKey(e) && perRecipient.get(e).get() > 1)
                    .count();
            String line = String.format("%s: %,d campaign recipients, %,d not reached, %,d reached more than once",
                    name, expected.size(), missing, twice);
            System.out.println("  " + line);
            if (missing > 0 || twice > 0) {
                notes.add("DEFECT " + line);
                return false;
            }
            return true;
        }

        private void session(Socket c) {
            try (c; BufferedReader in = new BufferedReader(new InputStreamReader(c.getInputStream(),
                    StandardCharsets.ISO_8859_1), 65536); OutputStream out = c.getOutputStream()) {
                reply(out, "220 sink ESMTP");
                List<String> rcpt = new ArrayList<>();
                String line;
                while ((line = in.readLine()) != null) {
                    String cmd = line.length() >= 4 ? line.substring(0, 4).toUpperCase(Locale.ROOT) : line;
                    switch (cmd) {
                        case "EHLO" -> reply(out, "250-sink\r\n250-8BITMIME\r\n250 SIZE 52428800");
                        case "MAIL" -> {
                            rcpt.clear();
                            reply(out, "250 ok");
                        }
                        case "RCPT" -> {
                            rcpt.add(line.replaceAll("(?i)^RCPT TO:\\s*<?([^>]*)>?.*$", "$1").toLowerCase(Locale.ROOT));
                            reply(out, "250 ok");
                        }
                        case "DATA" -> {
                            reply(out, "354 go ahead");
                            while ((line = in.readLine()) != null && !line.equals(".")) {
                                // dropped
                            }
                            for (String r : rcpt) {
                                perRecipient.computeIfAbsent(r, k -> new AtomicInteger()).incrementAndGet();
                            }
                            reply(out, "250 2.0.0 accepted");
                        }
                        case "QUIT" -> {
                            reply(out, "221 bye");
                            return;
                        }
                        default -> reply(out, "250 ok");
                    }
                }
            } catch (IOException e) {
                // client went away
            }
        }

        private static void reply(OutputStream out, String s) throws IOException {
            out.write((s + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
