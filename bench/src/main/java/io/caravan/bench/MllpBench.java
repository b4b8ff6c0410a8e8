package io.caravan.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * MLLP load generator. N senders, each on its own connection, send a realistic ADT/SIU mix and wait for each ACK (as
 * interface engines do). Targets run as separate JVMs with the same fixed heap; rounds alternate between targets so
 * machine noise hits them alike. Reports per target the median of the rounds' throughput, p50 and p99 ACK latency,
 * and the ratio to the bare camel-mllp + HAPI listener measured in the same run.
 *
 * <pre>
 * java -jar bench/target/caravan-bench.jar --hub-jar target/caravan-0.1.0-SNAPSHOT.jar [--pg-url JDBC]
 *      [--senders 8,1] [--rounds 5] [--round-seconds 10] [--warmup-seconds 20] [--heap 1g]
 * </pre>
 */
public final class MllpBench {

    static final DateTimeFormatter TS = DateTimeFormatter.ofPattern("yyyyMMddHHmmss.SSSZ");
    static final AtomicLong SEQ = new AtomicLong();
    static final String RUN = Long.toString(System.currentTimeMillis(), 36);

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            opt.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        String hubJar = opt.getOrDefault("hub-jar", "target/caravan-0.1.0-SNAPSHOT.jar");
        String pgUrl = opt.get("pg-url");
        int rounds = Integer.parseInt(opt.getOrDefault("rounds", "5"));
        int roundSeconds = Integer.parseInt(opt.getOrDefault("round-seconds", "10"));
        int warmupSeconds = Integer.parseInt(opt.getOrDefault("warmup-seconds", "20"));
        String heap = opt.getOrDefault("heap", "1g");
        int[] senderCounts = Arrays.stream(opt.getOrDefault("senders", "8,1").split(","))
                .mapToInt(Integer::parseInt).toArray();
        Path benchJar = Path.of(MllpBench.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        if (opt.containsKey("port")) {
            // load only, against a listener started by hand (for profiling)
            Target t = new Target("listener", "as configured", List.of());
            t.mllpPort = Integer.parseInt(opt.get("port"));
            for (int senders : senderCounts) {
                Round r = runRound(t, senders, roundSeconds);
                System.out.printf("%d senders: %.0f msg/s p50 %.2f ms p99 %.2f ms errors %d%n", senders,
                        r.perSecond(), r.p50Millis(), r.p99Millis(), r.errors());
            }
            return;
        }

        java.util.Set<String> only = java.util.Set.of(opt.getOrDefault("targets", "bare,h2,h2fast,pg").split(","));
        List<Target> targets = new ArrayList<>();
        targets.add(Target.bare(benchJar, heap));
        if (only.contains("h2")) {
            targets.add(Target.hub("hub H2", "journal fsync'd per group before ACK (default: power loss)", hubJar,
                    heap, null));
        }
        if (only.contains("h2fast")) {
            Target t = Target.hub("hub H2 fast", "journal written, not fsync'd (process-crash mode)", hubJar, heap,
                    null);
            t.command.add("--caravan.store.journal.fsync=false");
            t.command.add("--caravan.audit.fsync=false");
            targets.add(t);
        }
        if (pgUrl != null && only.contains("pg")) {
            targets.add(Target.hub("hub PostgreSQL", "fsync'd (synchronous_commit=on) before ACK", hubJar, heap,
                    pgUrl));
        }
        try {
            for (Target t : targets) {
                t.start();
            }
            System.out.printf("MLLP benchmark: %d rounds x %d s per target, warm-up %d s, heap %s, %d cores%n",
                    rounds, roundSeconds, warmupSeconds, heap, Runtime.getRuntime().availableProcessors());
            for (int senders : senderCounts) {
                for (Target t : targets) {
                    runRound(t, senders, warmupSeconds);
                }
                Map<Target, List<Round>> results = new LinkedHashMap<>();
                for (int r = 0; r < rounds; r++) {
                    for (Target t : targets) {
                        results.computeIfAbsent(t, k -> new ArrayList<>()).add(runRound(t, senders, roundSeconds));
                    }
                }
                double base = median(results.get(targets.get(0)), Round::perSecond);
                System.out.printf("%n%d sender%s%n", senders, senders == 1 ? "" : "s");
                System.out.printf("  %-16s %10s %9s %9s %8s %7s  %s%n", "target", "msg/s", "p50 ms", "p99 ms",
                        "vs bare", "errors", "durability");
                for (Map.Entry<Target, List<Round>> e : results.entrySet()) {
                    List<Round> rs = e.getValue();
                    double tput = median(rs, Round::perSecond);
                    System.out.printf("  %-16s %10.0f %9.2f %9.2f %7.0f%% %7d  %s%n", e.getKey().name, tput,
                            median(rs, Round::p50Millis), median(rs, Round::p99Millis), 100 * tput / base,
                            rs.stream().mapToLong(Round::errors).sum(), e.getKey().durability);
                    System.out.printf("  %-16s rounds msg/s: %s%n", "", rs.stream()
                            .map(x -> String.format("%.0f", x.perSecond())).toList());
                }
            }
        } finally {
            for (Target t : targets) {
                t.stop();
            }
        }
    }

    interface Metric {
        double of(Round r);
    }

    static double median(List<Round> rounds, Metric m) {
        double[] v = rounds.stream().mapToDouble(m::of).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    record Round(long messages, long errors, double seconds, long[] latencies) {
        double perSecond() {
            return messages / seconds;
        }

        double p50Millis() {
            return percentile(0.50);
        }

        double p99Millis() {
            return percentile(0.99);
        }

        double percentile(double p) {
            if (latencies.length == 0) {
                return Double.NaN;
            }
            return latencies[(int) Math.min(latencies.length - 1, Math.floor(p * latencies.length))] / 1e6;
        }
    }

    static Round runRound(Target t, int senders, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        List<long[]> lat = new ArrayList<>();
        long[] counts = new long[senders];
        long[] errors = new long[senders];
        List<Thread> threads = new ArrayList<>();
        long start = System.nanoTime();
        for (int s = 0; s < senders; s++) {
            final int id = s;
            long[][] holder = new long[1][];
            lat.add(null);
            Thread th = new Thread(() -> {
                long[] l = new long[1 << 16];
                int n = 0;
                SplittableRandom rnd = new SplittableRandom(id * 7919L + SEQ.get());
                try (Socket sock = new Socket("127.0.0.1", t.mllpPort)) {
                    sock.setTcpNoDelay(true);
                    OutputStream out = sock.getOutputStream();
                    InputStream in = sock.getInputStream();
                    byte[] buf = new byte[4096];
                    while (System.nanoTime() < deadline) {
                        byte[] frame = frame(nextMessage(rnd));
                        long t0 = System.nanoTime();
                        out.write(frame);
                        out.flush();
                        String ack = readAck(in, buf);
                        long dt = System.nanoTime() - t0;
                        if (ack == null) {
                            errors[id]++;
                            break;
                        }
                        if (!ack.contains("MSA|AA|") && !ack.contains("MSA|CA|")) {
                            errors[id]++;
                        }
                        if (n == l.length) {
                            l = Arrays.copyOf(l, n * 2);
                        }
                        l[n++] = dt;
                        counts[id]++;
                    }
                } catch (IOException e) {
                    errors[id]++;
                }
                holder[0] = Arrays.copyOf(l, n);
                synchronized (lat) {
                    lat.set(id, holder[0]);
                }
            });
            threads.add(th);
            th.start();
        }
        for (Thread th : threads) {
            th.join();
        }
        double secs = (System.nanoTime() - start) / 1e9;
        long[] all = lat.stream().filter(java.util.Objects::nonNull).flatMapToLong(Arrays::stream).sorted().toArray();
        return new Round(Arrays.stream(counts).sum(), Arrays.stream(errors).sum(), secs, all);
    }

    static byte[] frame(String msg) {
        ByteArrayOutputStream b = new ByteArrayOutputStream(msg.length() + 3);
        b.write(0x0b);
        b.writeBytes(msg.getBytes(StandardCharsets.UTF_8));
        b.write(0x1c);
        b.write(0x0d);
        return b.toByteArray();
    }

    static String readAck(InputStream in, byte[] buf) throws IOException {
        ByteArrayOutputStream acc = new ByteArrayOutputStream(256);
        while (true) {
            int n = in.read(buf);
            if (n < 0) {
                return null;
            }
            acc.write(buf, 0, n);
            byte[] a = acc.toByteArray();
            for (int i = 0; i < a.length; i++) {
                if (a[i] == 0x1c) {
                    return new String(a, 0, i, StandardCharsets.UTF_8);
                }
            }
        }
    }

    /** A realistic mix over 20,000 patients: registrations, updates, admits, discharges, bookings, changes, cancels. */
    static String nextMessage(SplittableRandom rnd) {
        int patient = rnd.nextInt(20_000);
        String mrn = "BENCH-" + patient;
        String ctl = RUN + "-" + SEQ.incrementAndGet();
        String now = OffsetDateTime.now(ZoneOffset.UTC).format(TS);
        int pick = rnd.nextInt(100);
        String pid = "PID|1||" + mrn + "^^^BENCH^MR~" + (100000000 + patient) + "^^^SSA^SS||Family" + patient
                + "^Given" + (patient % 97) + "^Q||19" + (40 + patient % 60) + "0" + (1 + patient % 9) + "15|"
                + (patient % 2 == 0 ? "F" : "M") + "|||" + (patient % 900 + 100) + " Main St^Apt " + patient % 30
                + "^Springfield^IL^62704^USA^H||^PRN^CP^^1^217^555" + String.format("%04d", patient % 10000)
                + "~^NET^Internet^patient" + patient + "@example.org||eng|M\r";
        if (pick < 65) {
            String trigger = pick < 15 ? "A04" : pick < 50 ? "A08" : pick < 58 ? "A01" : "A03";
            return "MSH|^~\\&|BENCHADT|BENCH|CARAVAN|HUB|" + now + "||ADT^" + trigger + "^ADT_A01|" + ctl
                    + "|P|2.5.1\rEVN|" + trigger + "|" + now + "\r" + pid
                    + "PD1||||||||||02|N\rPV1|1|O|CLINIC^101^1^BENCH||||1234^Welby^Marcus|||MED||||1|||1234^Welby^Marcus|"
                    + "OP|V" + patient + "|||||||||||||||||||||||||" + now + "\r";
        }
        String trigger = pick < 85 ? "S12" : pick < 95 ? "S14" : "S15";
        String start = OffsetDateTime.now(ZoneOffset.UTC).plusDays(2 + patient % 20).format(TS);
        return "MSH|^~\\&|BENCHSCH|BENCH|CARAVAN|HUB|" + now + "||SIU^" + trigger + "^SIU_S12|" + ctl
                + "|P|2.5.1\rSCH|P" + patient + "|F" + patient + "|||||ROUTINE^Routine^HL70276|FOLLOWUP^Follow up|30|min|"
                + "^^^" + start + "|||||||||||||||Booked\rTQ1|||||||" + start + "\r" + pid
                + "RGS|1\rAIS|1||99213^Office visit^CPT|" + start + "|||30|min\rAIL|1||CLINIC^101^1^BENCH|||" + start
                + "\rAIP|1||1234^Welby^Marcus|||" + start + "\r";
    }

    /** One system under test, as its own JVM. */
    static final class Target {
        final String name;
        final String durability;
        final List<String> command;
        final Map<String, String> env = new LinkedHashMap<>();
        int mllpPort;
        Process process;

        Target(String name, String durability, List<String> command) {
            this.name = name;
            this.durability = durability;
            this.command = command;
        }

        static String java() {
            return Path.of(System.getProperty("java.home"), "bin", "java").toString();
        }

        static Target bare(Path benchJar, String heap) throws IOException {
            Target t = new Target("bare mllp+HAPI", "nothing stored (baseline)", new ArrayList<>(List.of(java(),
                    "-Xms" + heap, "-Xmx" + heap, "-cp", benchJar.toString(), BareListener.class.getName())));
            t.mllpPort = freePort();
            t.command.add(Integer.toString(t.mllpPort));
            return t;
        }

        static Target hub(String name, String durability, String jar, String heap, String pgUrl) throws IOException {
            Path data = Scratch.dir("caravan-bench-");
            Target t = new Target(name, durability, new ArrayList<>(List.of(java(), "-Xms" + heap, "-Xmx" + heap,
                    "-jar", jar, "--caravan.data-dir=" + data, "--server.port=" + freePort(),
                    "--caravan.mllp.host=127.0.0.1")));
            t.mllpPort = freePort();
            t.command.add("--caravan.mllp.port=" + t.mllpPort);
            if (pgUrl != null) {
                t.command.add("--spring.profiles.active=postgres");
                t.command.add("--spring.datasource.url=" + pgUrl);
            }
            t.env.put("CARAVAN_ADMIN_PASSWORD", "bench");
            return t;
        }

        void start() throws Exception {
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(
                            Files.createTempFile("caravan-bench-" + name.replace(' ', '-'), ".log").toFile()));
            pb.environment().putAll(env);
            process = pb.start();
            long deadline = System.currentTimeMillis() + 180_000;
            while (System.currentTimeMillis() < deadline) {
                try (Socket s = new Socket("127.0.0.1", mllpPort)) {
                    s.getOutputStream().write(frame(nextMessage(new SplittableRandom(1))));
                    if (readAck(s.getInputStream(), new byte[4096]) != null) {
                        return;
                    }
                } catch (IOException notYet) {
                    Thread.sleep(500);
                }
            }
            throw new IllegalStateException(name + " did not start");
        }

        void stop() {
            if (process != null) {
                process.destroy();
            }
        }

        static int freePort() throws IOException {
            try (ServerSocket s = new ServerSocket(0)) {
                return s.getLocalPort();
            }
        }
    }
}
