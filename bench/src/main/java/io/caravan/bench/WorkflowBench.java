package io.caravan.bench;

import io.caravan.CaravanApplication;
import io.caravan.channel.Messages;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Journeys whose timers fall due at once: N contacts enter a 3-step journey (wait until T, branch, send a PHI-free
 * notice to the outbox, DKIM-signed), and at T every journey's steps are due together. Reported: steps executed per
 * second from T, the lateness of the first step after the timer (p50 / p99), and the sends per second - beside a
 * baseline in the same run that plans the same number of the same messages directly, without the workflow engine.
 * The hub runs in-process on its embedded store (H2, audit entries written to the file, not fsync'd).
 */
public final class WorkflowBench {

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new LinkedHashMap<>(Map.of("--contacts", "20000", "--lead-seconds", "0", "--rate",
                "0"));
        // --caravan.* and --spring.* settings go to the hub as they are (e.g. --caravan.workflow.workers=32)
        List<String> hubArgs = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].startsWith("--caravan.") || args[i].startsWith("--spring.")) {
                hubArgs.add(args[i]);
            } else if (i + 1 < args.length) {
                a.put(args[i], args[++i]);
            }
        }
        int n = Integer.parseInt(a.get("--contacts"));
        // 0: every timer falls due at T; otherwise timers fall due at this many per second from T
        double rate = Double.parseDouble(a.get("--rate"));
        Path data = Scratch.dir("caravan-workflow-bench");
        Path workflows = Files.createDirectories(data.resolve("workflows"));
        // registration takes a while; T leaves room for it (and the JVM's warm-up) before the timers fall due
        long lead = Long.parseLong(a.get("--lead-seconds"));
        Instant due = Instant.now().plusSeconds(lead > 0 ? lead : 40 + n / 250);
        Files.writeString(workflows.resolve("bench-journey.yaml"), String.join("\n",
                "id: bench-journey", "purpose: treatment", "trigger: { event: patient.registered }", "steps:",
                // each registration's event time (EVN-2) is its contact's due time
                "  - id: at-t", "    wait: { until: \"journey.occurredAt\" }",
                "  - id: check", "    branch:", "      cases:", "        - { if: \"contact.email != null\", then: notify }",
                "      otherwise: notify",
                "  - id: notify",
                "    send: { template: appointment-reminder-notice, data: { clinicPhone: \"'+1 217 555 0100'\" } }",
                ""));
        int mllp;
        try (ServerSocket s = new ServerSocket(0)) {
            mllp = s.getLocalPort();
        }
        List<String> run = new ArrayList<>(List.of("--caravan.data-dir=" + data, "--server.port=0",
                "--caravan.mllp.host=127.0.0.1", "--caravan.mllp.port=" + mllp, "--caravan.workflow.dir=" + workflows, "--logging.level.root=WARN",
                "--logging.level.io.caravan=WARN",
                // no per-message cryptography: PHI-free notices, no DKIM signature (the relay would sign)
                "--caravan.email.dkim.enabled=false"));
        run.addAll(hubArgs);
        if (!hubArgs.isEmpty()) {
            System.out.println("hub settings: " + hubArgs);
        }
        ConfigurableApplicationContext ctx = org.springframework.boot.SpringApplication.run(CaravanApplication.class,
                run.toArray(String[]::new));
        try {
            JdbcTemplate jdbc = ctx.getBean(JdbcTemplate.class);
            long t0 = System.nanoTime();
            register(n, mllp, due, rate);
            // every journey has run its first step and waits at its timer
            while (count(jdbc, "SELECT COUNT(*) FROM journey_step WHERE workflow_id = 'bench-journey'"
                    + " AND step = 'at-t'") < n) {
                Thread.sleep(200);
            }
            System.out.printf("cores %d, heap %d MiB; %,d contacts registered and in the journey in %.1f s;"
                    + " timers due at %s%n", Runtime.getRuntime().availableProcessors(),
                    Runtime.getRuntime().maxMemory() >> 20, n, (System.nanoTime() - t0) / 1e9, due);
            if (Instant.now().isAfter(due)) {
                System.out.println("registration overran T: use --lead-seconds");
            }
            Map<UUID, Instant> dueAt = new java.util.HashMap<>();
            jdbc.query("SELECT id, next_at FROM journey WHERE next_at IS NOT NULL", rs -> {
                dueAt.put(rs.getObject(1, UUID.class), rs.getTimestamp(2).toInstant());
            });
            Instant last = dueAt.values().stream().max(Instant::compareTo).orElse(due);
            while (Instant.now().isBefore(due)) {
                Thread.sleep(50);
            }
            // completion is polled once a second (a COUNT over the tables costs the hub too); the figures come from
            // the times the hub recorded: each step's row, each message's last change
            awaitCount(jdbc, "SELECT COUNT(*) FROM journey_step WHERE workflow_id = 'bench-journey' AND step = 'notify'",
                    n);
            awaitCount(jdbc, "SELECT COUNT(*) FROM outbound_message WHERE status = 'sent'", n);
            double stepSecs = secondsAfter(due, jdbc.queryForObject("SELECT MAX(at) FROM journey_step", Timestamp.class));
            double sendSecs = secondsAfter(due, jdbc.queryForObject("SELECT MAX(updated_at) FROM outbound_message",
                    Timestamp.class));
            long[] late = jdbc.query("SELECT journey_id, at FROM journey_step WHERE step = 'check'",
                    (rs, i) -> dueAt.containsKey(rs.getObject(1, UUID.class)) ? Duration.between(
                            dueAt.get(rs.getObject(1, UUID.class)), rs.getTimestamp(2).toInstant()).toMillis() : null)
                    .stream().filter(java.util.Objects::nonNull).mapToLong(Long::longValue).sorted().toArray();
            String protection = jdbc.queryForList("SELECT protection || ' ' || COUNT(*) FROM outbound_message"
                    + " GROUP BY protection", String.class).toString();

            // baseline: the same messages planned directly, no engine
            Messages messages = ctx.getBean(Messages.class);
            List<UUID> ids = jdbc.queryForList("SELECT id FROM contact", UUID.class);
            long sentBefore = count(jdbc, "SELECT COUNT(*) FROM outbound_message WHERE status = 'sent'");
            Instant b0 = Instant.now();
            ExecutorService pool = Executors.newFixedThreadPool(8);
            for (int t = 0; t < 8; t++) {
                int off = t;
                pool.submit(() -> {
                    for (int i = off; i < ids.size(); i += 8) {
                        messages.plan(new Messages.Request(ids.get(i), "appointment-reminder-notice", "email",
                                "treatment", Map.of("clinicPhone", "+1 217 555 0100")), "bench");
                    }
                });
            }
            pool.shutdown();
            pool.awaitTermination(1, TimeUnit.HOURS);
            awaitCount(jdbc, "SELECT COUNT(*) FROM outbound_message WHERE status = 'sent'", sentBefore + n);
            double baseSecs = secondsAfter(b0, jdbc.queryForObject("SELECT MAX(updated_at) FROM outbound_message",
                    Timestamp.class));

            System.out.println();
            System.out.printf("  %-58s %12s %10s%n", "measured", "per second", "vs base");
            System.out.printf("  %-58s %,12.0f %9.0f %%%n", "direct sends, 8 planners, no engine (baseline)",
                    n / baseSecs, 100.0);
            if (rate > 0) {
                System.out.printf("  %-58s %,12.0f %10s%n", "journeys: sends, from T until all sent", n / sendSecs,
                        "(paced)");
            } else {
                System.out.printf("  %-58s %,12.0f %9.0f %%%n", "journeys: sends, from T until all sent",
                        n / sendSecs, 100 * (n / sendSecs) / (n / baseSecs));
            }
            System.out.printf("  %-58s %,12.0f%n", "journeys: due steps (timer, branch, send), from T", 3 * n / stepSecs);
            if (rate > 0) {
                System.out.printf("  timers fell due at %,.0f/s (%,.0f steps/s) for %.1f s%n", rate, 3 * rate,
                        Duration.between(due, last).toMillis() / 1e3);
            }
            System.out.printf("  lateness of the first step after the timer: p50 %,d ms, p99 %,d ms, max %,d ms%n",
                    pct(late, 0.5), pct(late, 0.99), late.length == 0 ? 0 : late[late.length - 1]);
            System.out.println("  protection of the journeys' messages: " + protection);
            System.out.println("  durability: journeys, steps and audit entries written to the H2 file, not fsync'd;"
                    + " messages to the outbox files (PHI-free notices, no DKIM)");
        } finally {
            ctx.close();
        }
    }

    static long count(JdbcTemplate jdbc, String sql) {
        Long v = jdbc.queryForObject(sql, Long.class);
        return v == null ? 0 : v;
    }

    static void awaitCount(JdbcTemplate jdbc, String sql, long n) throws InterruptedException {
        while (count(jdbc, sql) < n) {
            Thread.sleep(1000);
        }
    }

    static double secondsAfter(Instant from, Timestamp to) {
        return Duration.between(from, to.toInstant()).toNanos() / 1e9;
    }

    static long pct(long[] sorted, double p) {
        return sorted.length == 0 ? 0 : sorted[Math.min(sorted.length - 1, (int) (p * sorted.length))];
    }

    static void register(int n, int port, Instant due, double rate) throws Exception {
        java.time.format.DateTimeFormatter hl7 = java.time.format.DateTimeFormatter.ofPattern("yyyyMMddHHmmss.SSSZ")
                .withZone(java.time.ZoneOffset.UTC);
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(30_000);
            byte[] buf = new byte[4096];
            for (int i = 0; i < n; i++) {
                Instant at = rate > 0 ? due.plusNanos((long) (i * 1e9 / rate)) : due;
                String msg = "MSH|^~\\&|REG|MERCY|CARAVAN|HUB|20260301090000||ADT^A04^ADT_A01|W" + i + "|P|2.5.1\r"
                        + "EVN|A04|" + hl7.format(at) + "\rPID|1||WF" + i + "^^^MERCY^MR||Doe^Jane||19800101|F|||||"
                        + "^NET^Internet^wf" + i + "@example.org\r";
                s.getOutputStream().write(("\u000b" + msg + "\u001c\r").getBytes(StandardCharsets.UTF_8));
                s.getOutputStream().flush();
                int got = 0;
                while (got < 2 || buf[got - 1] != '\r' || buf[got - 2] != 0x1c) {
                    int k = s.getInputStream().read(buf, got, buf.length - got);
                    if (k < 0) {
                        throw new IllegalStateException("hub closed the connection");
                    }
                    got += k;
                }
                if (!new String(buf, 0, got, StandardCharsets.ISO_8859_1).contains("MSA|AA")) {
                    throw new IllegalStateException("registration " + i + " not accepted");
                }
            }
        }
    }
}
