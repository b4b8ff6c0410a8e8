package io.caravan.bench;

import io.caravan.CaravanApplication;
import io.caravan.channel.Messages;
import io.caravan.channel.email.EmailTemplates;
import io.caravan.channel.email.protection.Dkim;
import io.caravan.channel.email.protection.Encryption;
import io.caravan.channel.email.protection.RecipientKeys;
import jakarta.mail.Session;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeBodyPart;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import java.io.ByteArrayInputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPrivateKey;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Protected emails per second through the whole pipeline — planning decision, stored message, queue, send-time
 * decision, render, S/MIME (AES-GCM, RSA-2048 recipient), DKIM (RSA-2048), delivery through camel-mail over the
 * relay's reused SMTP connections to a local sink, audited disclosure, status — beside a baseline measured in the same
 * JVM that does only the S/MIME encryption and DKIM signature of the same rendered message in a tight loop on 2
 * threads. The hub runs in-process on its embedded store (H2; audit entries written to the file by CHECKPOINT before
 * each step goes on, nothing fsync'd); {@code --outbox} delivers to the outbox files instead of the relay.
 */
public final class EmailBench {

    /** {@code cpuMsPerMessage}: the process's CPU time over the round per message - on a shared machine the figure
     * that other processes' load disturbs least (the pipeline's includes the in-process SMTP sink). */
    record Round(double perSecond, double p50Ms, double p99Ms, double cpuMsPerMessage) {
    }

    static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    static String TEMPLATE = "appointment-reminder";

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new LinkedHashMap<>(Map.of("--rounds", "5", "--messages", "2000", "--contacts", "200",
                "--planners", "16", "--warmup", "1500", "--baseline-seconds", "5", "--outbox", "false"));
        for (int i = 0; i + 1 < args.length; i += 2) {
            a.put(args[i], args[i + 1]);
        }
        int rounds = Integer.parseInt(a.get("--rounds"));
        int perRound = Integer.parseInt(a.get("--messages"));
        int contacts = Integer.parseInt(a.get("--contacts"));
        int planners = Integer.parseInt(a.get("--planners"));
        Path data = Scratch.dir("caravan-email-bench");
        int mllp;
        try (ServerSocket s = new ServerSocket(0)) {
            mllp = s.getLocalPort();
        }
        List<String> hubArgs = new ArrayList<>(List.of("--caravan.data-dir=" + data, "--server.port=0",
                "--caravan.mllp.host=127.0.0.1", "--caravan.mllp.port=" + mllp, "--logging.level.root=WARN",
                "--logging.level.io.caravan=WARN"));
        SmtpSink sink = null;
        if (!Boolean.parseBoolean(a.get("--outbox"))) {
            sink = new SmtpSink();
            Path adapters = Scratch.dir("caravan-email-bench-adapters");
            Files.writeString(adapters.resolve("bench-sink.yaml"), String.join("\n", "id: bench-sink",
                    "kind: smtp", "baa:", "  status: signed", "smtp:", "  host: 127.0.0.1", "  port: " + sink.port(),
                    "  tls: starttls", "  connections: 8", ""));
            hubArgs.add("--caravan.mapping.adapters-dir=" + adapters);
            hubArgs.add("--caravan.email.relay=bench-sink");
        }
        ConfigurableApplicationContext ctx = org.springframework.boot.SpringApplication.run(CaravanApplication.class,
                hubArgs.toArray(String[]::new));
        try {
            SmtpSink s = sink;
            Path outbox = data.resolve("outbox");
            run(ctx, a, rounds, perRound, contacts, planners, mllp, s != null ? s.messages::sum : () -> {
                try (var files = Files.list(outbox)) {
                    return files.filter(f -> f.toString().endsWith(".eml")).count();
                } catch (java.io.IOException e) {
                    return 0;
                }
            });
            if (sink != null) {
                System.out.printf("  the sink received %,d messages over %d SMTP connections%n", sink.messages.sum(),
                        sink.connections.sum());
            }
        } finally {
            ctx.close();
            if (sink != null) {
                sink.close();
            }
        }
    }

    static void run(ConfigurableApplicationContext ctx, Map<String, String> a, int rounds, int perRound, int contacts,
            int planners, int mllp, java.util.function.LongSupplier delivered) throws Exception {
        KeyPair recipient = rsa();
        List<UUID> ids = register(ctx, contacts, mllp);
        RecipientKeys keys = ctx.getBean(RecipientKeys.class);
        io.caravan.contact.ContactStore store = ctx.getBean(io.caravan.contact.ContactStore.class);
        // --template appointment-reminder-notice --keys false: the pipeline without S/MIME (PHI-free, DKIM only)
        if (Boolean.parseBoolean(a.getOrDefault("--keys", "true"))) {
            for (UUID id : ids) {
                // a certificate is taken only for the address it names: one per contact, the same key pair
                String email = store.findById(id).orElseThrow().email;
                X509Certificate cert = certificate(recipient, email);
                byte[] pem = ("-----BEGIN CERTIFICATE-----\n"
                        + java.util.Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(cert.getEncoded())
                        + "\n-----END CERTIFICATE-----\n").getBytes(StandardCharsets.US_ASCII);
                keys.putSmime(id, email, pem, "bench");
            }
        }
        TEMPLATE = a.getOrDefault("--template", "appointment-reminder");
        Messages messages = ctx.getBean(Messages.class);
        JdbcTemplate jdbc = ctx.getBean(JdbcTemplate.class);
        Map<String, Object> visit = Map.of("appointmentDate", "2026-12-03", "appointmentTime", "09:30", "provider",
                "Dr Osei", "clinicPhone", "+1 217 555 0100");
        System.out.printf("cores %d, heap %d MiB, %d contacts with an S/MIME certificate, %d planners%n",
                Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() >> 20, contacts, planners);

        pipeline(messages, jdbc, ids, visit, Integer.parseInt(a.get("--warmup")), planners, delivered);
        EmailTemplates templates = ctx.getBean(EmailTemplates.class);
        Dkim dkim = new Dkim("caravan.localhost", "caravan", (RSAPrivateKey) rsa().getPrivate());
        X509Certificate cert = certificate(recipient, "jane@example.org");
        baseline(templates, dkim, cert, visit, 3);
        List<Round> base = new ArrayList<>();
        List<Round> pipe = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            base.add(baseline(templates, dkim, cert, visit, Integer.parseInt(a.get("--baseline-seconds"))));
            pipe.add(pipeline(messages, jdbc, ids, visit, perRound, planners, delivered));
        }
        double b = median(base.stream().mapToDouble(Round::perSecond).toArray());
        double p = median(pipe.stream().mapToDouble(Round::perSecond).toArray());
        System.out.println();
        double bc = median(base.stream().mapToDouble(Round::cpuMsPerMessage).toArray());
        double pc = median(pipe.stream().mapToDouble(Round::cpuMsPerMessage).toArray());
        System.out.printf("  %-52s %10s %9s %9s %8s %11s %8s%n", "target", "msg/s", "p50 ms", "p99 ms", "vs base",
                "CPU ms/msg", "vs base");
        System.out.printf("  %-52s %,10.0f %9.2f %9.2f %7.0f %% %11.3f %7.0f %%   rounds: %s%n",
                "S/MIME encrypt + DKIM sign only, 2 threads (baseline)", b,
                median(base.stream().mapToDouble(Round::p50Ms).toArray()),
                median(base.stream().mapToDouble(Round::p99Ms).toArray()), 100.0, bc, 100.0, rates(base));
        System.out.printf("  %-52s %,10.0f %9.2f %9.2f %7.0f %% %11.3f %7.0f %%   rounds: %s%n",
                Boolean.parseBoolean(a.get("--outbox")) ? "pipeline: plan -> gate -> S/MIME + DKIM -> outbox"
                        : "pipeline: plan -> gate -> S/MIME + DKIM -> SMTP relay", p,
                median(pipe.stream().mapToDouble(Round::p50Ms).toArray()),
                median(pipe.stream().mapToDouble(Round::p99Ms).toArray()), 100 * p / b, pc, 100 * bc / pc,
                rates(pipe));
        System.out.println("  CPU vs base = the baseline's CPU time per message over the pipeline's: the share of"
                + " the baseline's rate the pipeline would reach with both cores to itself, if neither waited");
        System.out.println("  pipeline latency = planned to sent (stored timestamps); durability: audit entries"
                + " written to the H2 file, not fsync'd; the sink acknowledges each message (250) without storing it");
    }

    static Round pipeline(Messages messages, JdbcTemplate jdbc, List<UUID> ids, Map<String, Object> visit, int count,
            int planners, java.util.function.LongSupplier delivered) throws Exception {
        Instant since = Instant.now();
        long deliveredBefore = delivered.getAsLong();
        long before = jdbc.queryForObject("SELECT COUNT(*) FROM outbound_message WHERE status = 'sent'", Long.class);
        ExecutorService pool = Executors.newFixedThreadPool(planners);
        LongAdder planned = new LongAdder();
        long t0 = System.nanoTime();
        long cpu0 = processCpuNanos();
        for (int t = 0; t < planners; t++) {
            int offset = t;
            pool.submit(() -> {
                for (int i = offset; i < count; i += planners) {
                    messages.plan(new Messages.Request(ids.get(i % ids.size()), TEMPLATE, "email",
                            "treatment", visit), "bench");
                    planned.increment();
                }
            });
        }
        pool.shutdown();
        pool.awaitTermination(10, TimeUnit.MINUTES);
        // the sink's counter (or the outbox's files) says when the last message arrived; the table is asked only
        // then, so the measuring does not compete with the hub for the CPU
        while (delivered.getAsLong() < deliveredBefore + count) {
            Thread.sleep(2);
        }
        while (jdbc.queryForObject("SELECT COUNT(*) FROM outbound_message WHERE status = 'sent'", Long.class)
                < before + count) {
            Thread.sleep(20);
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        double cpuMs = (processCpuNanos() - cpu0) / 1e6 / count;
        long[] lat = jdbc.query("SELECT created_at, updated_at FROM outbound_message WHERE created_at >= ?",
                (rs, n) -> Duration.between(rs.getTimestamp(1).toInstant(), rs.getTimestamp(2).toInstant()).toNanos(),
                java.sql.Timestamp.from(since)).stream().mapToLong(Long::longValue).sorted().toArray();
        return new Round(count / secs, pct(lat, 0.5) / 1e6, pct(lat, 0.99) / 1e6, cpuMs);
    }

    static Round baseline(EmailTemplates templates, Dkim dkim, X509Certificate cert, Map<String, Object> visit,
            int seconds) throws Exception {
        Map<String, Object> model = new java.util.HashMap<>(visit);
        model.put("givenName", "Jane");
        EmailTemplates.Rendered r = templates.render("appointment-reminder", "en", model);
        Session session = Session.getInstance(new Properties());
        AtomicBoolean stop = new AtomicBoolean();
        LongAdder done = new LongAdder();
        List<long[]> samples = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            long[] s = new long[1 << 16];
            samples.add(s);
            int[] n = {0};
            threads.add(new Thread(() -> {
                try {
                    while (!stop.get()) {
                        long t1 = System.nanoTime();
                        MimeMultipart alt = new MimeMultipart("alternative");
                        MimeBodyPart text = new MimeBodyPart();
                        text.setText(r.text(), "UTF-8");
                        MimeBodyPart html = new MimeBodyPart();
                        html.setContent(r.html(), "text/html; charset=UTF-8");
                        alt.addBodyPart(text);
                        alt.addBodyPart(html);
                        MimeBodyPart body = new MimeBodyPart();
                        body.setContent(alt);
                        MimeBodyPart enc = Encryption.smime(body, cert, true);
                        MimeMessage m = new Dkim.StableMessage(session, "<" + UUID.randomUUID() + "@bench>");
                        m.setFrom(new InternetAddress("no-reply@caravan.localhost"));
                        m.setRecipient(MimeMessage.RecipientType.TO, new InternetAddress("jane@example.org"));
                        m.setSubject(r.subject());
                        m.setContent(enc.getContent(), enc.getContentType());
                        m.saveChanges();
                        dkim.sign(m).writeTo(OutputStream.nullOutputStream());
                        if (n[0] < s.length) {
                            s[n[0]++] = System.nanoTime() - t1;
                        }
                        done.increment();
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
        long t0 = System.nanoTime();
        long cpu0 = processCpuNanos();
        threads.forEach(Thread::start);
        Thread.sleep(seconds * 1000L);
        stop.set(true);
        for (Thread t : threads) {
            t.join();
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        long[] all = samples.stream().flatMapToLong(Arrays::stream).filter(x -> x > 0).sorted().toArray();
        return new Round(done.sum() / secs, pct(all, 0.5) / 1e6, pct(all, 0.99) / 1e6,
                (processCpuNanos() - cpu0) / 1e6 / done.sum());
    }

    static List<UUID> register(ConfigurableApplicationContext ctx, int n, int port) throws Exception {
        JdbcTemplate jdbc = ctx.getBean(JdbcTemplate.class);
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            for (int i = 0; i < n; i++) {
                String msg = "MSH|^~\\&|REG|MERCY|CARAVAN|HUB|20260301090000||ADT^A04^ADT_A01|B" + i + "|P|2.5.1\r"
                        + "EVN|A04|20260301090000\rPID|1||BENCH" + i + "^^^MERCY^MR||Doe^Jane||19800101|F|||||"
                        + "^NET^Internet^jane" + i + "@example.org\r";
                s.getOutputStream().write(("\u000b" + msg + "\u001c\r").getBytes(StandardCharsets.UTF_8));
                s.getOutputStream().flush();
                byte[] buf = new byte[4096];
                int got = 0;
                while (got == 0 || buf[got - 1] != '\r' || got < 2 || buf[got - 2] != 0x1c) {
                    int k = s.getInputStream().read(buf, got, buf.length - got);
                    if (k < 0) {
                        throw new IllegalStateException("hub closed the connection");
                    }
                    got += k;
                }
            }
        }
        ctx.getBean(io.caravan.contact.ContactWriter.class).awaitVisible();
        return jdbc.queryForList("SELECT id FROM contact ORDER BY id", UUID.class);
    }

    static KeyPair rsa() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        return g.generateKeyPair();
    }

    static X509Certificate certificate(KeyPair kp, String email) throws Exception {
        X500Name name = new X500Name("CN=" + email);
        Instant now = Instant.now();
        var builder = new JcaX509v3CertificateBuilder(name, BigInteger.valueOf(now.toEpochMilli()),
                Date.from(now.minus(Duration.ofDays(1))), Date.from(now.plus(Duration.ofDays(30))), name,
                kp.getPublic());
        builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyEncipherment));
        builder.addExtension(Extension.subjectAlternativeName, false, new org.bouncycastle.asn1.x509.GeneralNames(
                new org.bouncycastle.asn1.x509.GeneralName(org.bouncycastle.asn1.x509.GeneralName.rfc822Name, email)));
        byte[] der = builder.build(new JcaContentSignerBuilder("SHA256withRSA").build(kp.getPrivate())).getEncoded();
        return (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(der));
    }

    /**
     * A local SMTP sink: accepts every message with 250 and drops it, a connection per client kept as long as the
     * client keeps it (plain SMTP on loopback: the hop's TLS is not what is measured).
     */
    static final class SmtpSink implements AutoCloseable {
        final LongAdder messages = new LongAdder();
        final LongAdder connections = new LongAdder();
        private final ServerSocket server = new ServerSocket(0, 100, java.net.InetAddress.getLoopbackAddress());

        SmtpSink() throws java.io.IOException {
            Thread t = new Thread(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket c = server.accept();
                        connections.increment();
                        Thread h = new Thread(() -> session(c), "smtp-sink");
                        h.setDaemon(true);
                        h.start();
                    } catch (java.io.IOException e) {
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

        private void session(Socket c) {
            try (c; java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(
                    c.getInputStream(), StandardCharsets.ISO_8859_1), 65536);
                    OutputStream out = new java.io.BufferedOutputStream(c.getOutputStream())) {
                reply(out, "220 sink ESMTP");
                String line;
                while ((line = in.readLine()) != null) {
                    String cmd = line.length() >= 4 ? line.substring(0, 4).toUpperCase(java.util.Locale.ROOT) : line;
                    switch (cmd) {
                        case "EHLO" -> reply(out, "250-sink\r\n250-8BITMIME\r\n250 SIZE 52428800");
                        case "DATA" -> {
                            reply(out, "354 go ahead");
                            while ((line = in.readLine()) != null && !line.equals(".")) {
                                // dropped
                            }
                            messages.increment();
                            reply(out, "250 2.0.0 accepted");
                        }
                        case "QUIT" -> {
                            reply(out, "221 bye");
                            return;
                        }
                        default -> reply(out, "250 ok");
                    }
                }
            } catch (java.io.IOException e) {
                // client went away
            }
        }

        private static void reply(OutputStream out, String s) throws java.io.IOException {
            out.write((s + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
        }

        @Override
        public void close() throws java.io.IOException {
            server.close();
        }
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static double pct(long[] sorted, double p) {
        return sorted.length == 0 ? 0 : sorted[Math.min(sorted.length - 1, (int) (p * sorted.length))];
    }

    static List<String> rates(List<Round> rs) {
        return rs.stream().map(r -> String.format("%,.0f", r.perSecond())).toList();
    }
}
