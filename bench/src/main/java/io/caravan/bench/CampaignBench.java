package io.caravan.bench;

import io.caravan.CaravanApplication;
import io.caravan.campaign.CampaignRequest;
import io.caravan.campaign.Campaigns;
import io.caravan.channel.email.EmailTemplates;
import io.caravan.channel.email.protection.Dkim;
import io.caravan.channel.email.transport.MailProviders;
import io.caravan.consent.Decision;
import io.caravan.consent.DecisionEngine;
import io.caravan.consent.DecisionRequest;
import io.caravan.contact.Contact;
import io.caravan.segment.SegmentDefinition;
import io.caravan.segment.Segments;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeBodyPart;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Campaign throughput: synthetic contacts (SegmentBench's distributions: age, sex, ZIP3, language, a diagnosis code)
 * registered over MLLP into the hub running in-process on its embedded store, a treatment segment of them, and per
 * round a campaign of a PHI-free email to that segment - snapshot, planning with the gate's decision per recipient,
 * the send path's second decision, render, handed over the relay adapter's SMTP connections to a local sink, the
 * disclosure audited, the message marked sent; DKIM off, as when the relay signs. Beside it, in the same JVM, a
 * tight loop produces the same messages to the same sink without the campaign machinery: the gate's decision code
 * ({@link DecisionEngine}) on the contact, the same template rendered in the contact's language, the same MIME
 * message, handed over on as many reused SMTP connections as the relay has. Alternating rounds after a warm-up
 * round; heap sampled throughout (fixed -Xmx).
 */
public final class CampaignBench {

    static final String TEMPLATE = "appointment-reminder-notice";
    static final Map<String, Object> DATA = Map.of("clinicPhone", "+1 217 555 0100");

    record Round(double perSecond, double cpuMsPerMessage) {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new LinkedHashMap<>(Map.of("--contacts", "1000000", "--senders", "4", "--rounds",
                "3", "--connections", "8", "--when",
                "contact.gender == 'female' and age() >= 50 and age() <= 74", "--rate", "1000000"));
        List<String> extra = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].startsWith("--caravan.") || args[i].startsWith("--spring.")) {
                extra.add(args[i]);
            } else if (i + 1 < args.length) {
                a.put(args[i], args[++i]);
            }
        }
        int n = Integer.parseInt(a.get("--contacts"));
        int senders = Integer.parseInt(a.get("--senders"));
        int rounds = Integer.parseInt(a.get("--rounds"));
        int connections = Integer.parseInt(a.get("--connections"));
        String when = a.get("--when");
        int rate = Integer.parseInt(a.get("--rate"));

        HeapWatch heap = new HeapWatch();
        Population pop = Population.generate(n, LocalDate.now(ZoneId.systemDefault()));
        Path data = Scratch.dir("caravan-campaign-bench");
        int mllp;
        try (ServerSocket s = new ServerSocket(0)) {
            mllp = s.getLocalPort();
        }
        EmailBench.SmtpSink sink = new EmailBench.SmtpSink();
        Path adapters = Scratch.dir("caravan-campaign-bench-adapters");
        Files.writeString(adapters.resolve("bench-sink.yaml"), String.join("\n", "id: bench-sink", "kind: smtp",
                "baa:", "  status: signed", "smtp:", "  host: 127.0.0.1", "  port: " + sink.port(), "  tls: starttls",
                "  connections: " + connections, ""));
        List<String> hubArgs = new ArrayList<>(List.of("--caravan.data-dir=" + data, "--server.port=0",
                "--caravan.mllp.host=127.0.0.1", "--caravan.mllp.port=" + mllp, "--logging.level.root=WARN",
                "--logging.level.io.caravan=WARN", "--caravan.mapping.adapters-dir=" + adapters,
                "--caravan.email.relay=bench-sink",
                // PHI-free content, DKIM done by the relay: no per-message cryptography in the hub
                "--caravan.email.dkim.enabled=false",
                // what the machine can do, not a throttle's setting
                "--caravan.campaigns.max-rate=" + rate, "--caravan.campaigns.poll-interval=50ms"));
        hubArgs.addAll(extra);
        ConfigurableApplicationContext ctx = org.springframework.boot.SpringApplication.run(CaravanApplication.class,
                hubArgs.toArray(String[]::new));
        try {
            System.out.printf("cores %d, heap max %d MiB, %,d contacts, relay and loop on %d SMTP connections%s%n",
                    Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() >> 20, n,
                    connections, extra.isEmpty() ? "" : ", hub settings " + extra);
            JdbcTemplate jdbc = ctx.getBean(JdbcTemplate.class);
            long r0 = System.nanoTime();
            register(pop, mllp, senders);
            double ackSecs = (System.nanoTime() - r0) / 1e9;
            ctx.getBean(io.caravan.contact.ContactWriter.class).awaitVisible();
            Segments segments = ctx.getBean(Segments.class);
            // the index follows the event log: wait until it holds everyone
            while (segments.count("true") < n) {
                Thread.sleep(500);
            }
            // and every other reader of the registrations (journeys, streams) has read them too: a backlog would be
            // measured as the campaign's CPU and would compete with both sides' rounds
            io.caravan.eventlog.Subscriptions subscriptions = ctx.getBean(io.caravan.eventlog.Subscriptions.class);
            for (io.caravan.eventlog.EventSubscriber s : ctx.getBeansOfType(io.caravan.eventlog.EventSubscriber.class)
                    .values()) {
                // bounded: a subscriber with nothing to do (no stream destination) may never move its cursor
                long until = System.nanoTime() + 300_000_000_000L;
                while (subscriptions.lag(s.subscriberName()) > 0 && System.nanoTime() < until) {
                    Thread.sleep(500);
                }
            }
            double regSecs = (System.nanoTime() - r0) / 1e9;
            System.out.printf("registered (ACKed) in %.1f s, indexed and read by every subscriber in %.1f s"
                    + " (%,.0f contacts/s); heap after: %s%n",
                    ackSecs, regSecs, n / regSecs, heap.report());

            // the loop's contacts are built from the arrays (reading them back would be the machinery's work); the
            // decision code does not look at the id
            UUID[] ids = new UUID[n];
            for (int i = 0; i < n; i++) {
                ids[i] = new UUID(0x5eedL, i);
            }
            long t0 = System.nanoTime();
            segments.define(new SegmentDefinition("bench-campaign", "campaign benchmark", "treatment", when));
            double defineMs = (System.nanoTime() - t0) / 1e6;
            long members = segments.count(when);
            int[] selected = pop.select(when);
            if (selected.length != members) {
                System.out.printf("note: the hub's index selects %,d, the generator's arrays %,d (a birthday at"
                        + " midnight?)%n", members, selected.length);
            }
            System.out.printf("segment '%s': %,d members, defined and first evaluated in %.0f ms%n", when, members,
                    defineMs);

            Campaigns campaigns = ctx.getBean(Campaigns.class);
            EmailTemplates templates = ctx.getBean(EmailTemplates.class);
            DecisionEngine engine = ctx.getBean(DecisionEngine.class);
            TightLoop loop = new TightLoop(templates, engine, sink.port(), connections, pop, ids, selected);
            List<Round> camp = new ArrayList<>();
            List<Round> base = new ArrayList<>();
            // --jfr <file>: a profile of the measured rounds (both sides; tell them apart by thread)
            jdk.jfr.Recording jfr = null;
            // round 0 warms both up and is not counted
            for (int r = 0; r <= rounds; r++) {
                if (r == 1 && a.containsKey("--jfr")) {
                    jfr = new jdk.jfr.Recording(jdk.jfr.Configuration.getConfiguration("profile"));
                    jfr.start();
                }
                Round b = loop.run(sink);
                Round c = campaign(campaigns, jdbc, sink, members, rate, r);
                System.out.printf("  round %d%s: tight loop %,.0f msg/s (%.3f CPU ms/msg), campaign %,.0f msg/s"
                        + " (%.3f CPU ms/msg), %.0f %%; heap %s%n", r, r == 0 ? " (warm-up)" : "", b.perSecond(),
                        b.cpuMsPerMessage(), c.perSecond(), c.cpuMsPerMessage(), 100 * c.perSecond() / b.perSecond(),
                        heap.report());
                if (r > 0) {
                    base.add(b);
                    camp.add(c);
                }
            }
            if (jfr != null) {
                jfr.dump(Path.of(a.get("--jfr")));
                jfr.close();
            }
            double bm = EmailBench.median(base.stream().mapToDouble(Round::perSecond).toArray());
            double cm = EmailBench.median(camp.stream().mapToDouble(Round::perSecond).toArray());
            double bc = EmailBench.median(base.stream().mapToDouble(Round::cpuMsPerMessage).toArray());
            double cc = EmailBench.median(camp.stream().mapToDouble(Round::cpuMsPerMessage).toArray());
            System.out.println();
            System.out.printf("  %,d contacts, segment of %,d, median of %d rounds%n", n, members, rounds);
            System.out.printf("  %-62s %10s %8s %11s %8s%n", "measured", "msg/s", "vs base", "CPU ms/msg", "vs base");
            System.out.printf("  %-62s %,10.0f %7.0f %% %11.3f %7.0f %%%n",
                    "tight loop: decide + render + MIME -> SMTP sink (baseline)", bm, 100.0, bc, 100.0);
            System.out.printf("  %-62s %,10.0f %7.0f %% %11.3f %7.0f %%%n",
                    "campaign: snapshot -> plan + gate -> send + gate -> relay", cm, 100 * cm / bm, cc,
                    100 * bc / cc);
            System.out.printf("  heap: %s%n", heap.report());
            System.out.printf("  the sink received %,d messages over %d SMTP connections%n", sink.messages.sum(),
                    sink.connections.sum());
        } finally {
            heap.close();
            ctx.close();
            sink.close();
        }
    }

    /**
     * One campaign to the segment, timed from its creation until the sink has every recipient's message and the hub
     * has marked them all sent.
     */
    static Round campaign(Campaigns campaigns, JdbcTemplate jdbc, EmailBench.SmtpSink sink, long members, int rate,
            int round) throws InterruptedException {
        long before = sink.messages.sum();
        long cpu0 = EmailBench.processCpuNanos();
        long t0 = System.nanoTime();
        UUID id = campaigns.create(new CampaignRequest("bench round " + round, "bench-campaign", "email", TEMPLATE,
                null, 0, DATA, null, rate), "bench");
        long deadline = System.nanoTime() + 30L * 60 * 1_000_000_000L;
        while (sink.messages.sum() < before + members) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("campaign did not finish: " + campaigns.report(id));
            }
            Thread.sleep(2);
        }
        while (jdbc.queryForObject("SELECT COUNT(*) FROM outbound_message WHERE created_by = ? AND status = 'sent'",
                Long.class, "campaign:" + id + ":a") < members) {
            Thread.sleep(20);
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        double cpu = (EmailBench.processCpuNanos() - cpu0) / 1e6 / members;
        // which side set the pace: planning (the campaign's workers) or sending (the send path behind them)
        jdbc.query("SELECT MIN(created_at), MAX(created_at), MAX(updated_at) FROM outbound_message"
                + " WHERE created_by = ?", rs -> {
                    Instant first = rs.getTimestamp(1).toInstant();
                    System.out.printf("    campaign round %d: first message planned %.2f s after creation, planning"
                            + " took %.2f s, the last was sent %.2f s after the first was planned%n", round,
                            secs - java.time.Duration.between(first, Instant.now()).toNanos() / 1e9,
                            java.time.Duration.between(first, rs.getTimestamp(2).toInstant()).toNanos() / 1e9,
                            java.time.Duration.between(first, rs.getTimestamp(3).toInstant()).toNanos() / 1e9);
                }, "campaign:" + id + ":a");
        return new Round(members / secs, cpu);
    }

    /**
     * The same messages without the campaign machinery: per recipient the gate's decision code on the contact (no
     * records on file, as for the benchmark's contacts), the template rendered in the contact's language, the MIME
     * message the email channel builds, handed to the sink over reused connections.
     */
    static final class TightLoop {
        private final EmailTemplates templates;
        private final DecisionEngine engine;
        private final int port;
        private final int threads;
        private final Population pop;
        private final UUID[] ids;
        private final int[] selected;

        TightLoop(EmailTemplates templates, DecisionEngine engine, int port, int threads, Population pop, UUID[] ids,
                int[] selected) {
            this.templates = templates;
            this.engine = engine;
            this.port = port;
            this.threads = threads;
            this.pop = pop;
            this.ids = ids;
            this.selected = selected;
        }

        Round run(EmailBench.SmtpSink sink) throws Exception {
            MailProviders.ensure();
            Properties p = new Properties();
            p.put("mail.smtp.host", "127.0.0.1");
            p.put("mail.smtp.port", String.valueOf(port));
            Session session = Session.getInstance(p);
            AtomicInteger next = new AtomicInteger();
            AtomicLong failed = new AtomicLong();
            DecisionRequest ask = new DecisionRequest("treatment", "email", Decision.PHI_FREE, false, List.of());
            List<Thread> ts = new ArrayList<>();
            long before = sink.messages.sum();
            long cpu0 = EmailBench.processCpuNanos();
            long t0 = System.nanoTime();
            for (int t = 0; t < threads; t++) {
                Thread th = new Thread(() -> {
                    try (Transport transport = session.getTransport("smtp")) {
                        transport.connect();
                        int k;
                        while ((k = next.getAndIncrement()) < selected.length) {
                            int i = selected[k];
                            Contact c = pop.contact(i, ids[i]);
                            Instant now = Instant.now();
                            if (!engine.decide(c, List.of(), ask, now).allowed()) {
                                failed.incrementAndGet();
                                continue;
                            }
                            Map<String, Object> model = new HashMap<>(DATA);
                            model.put("familyName", c.name.family());
                            model.put("givenName", c.name.given().get(0));
                            EmailTemplates.Rendered r = templates.render(TEMPLATE, c.language, model);
                            MimeMessage msg = new Dkim.StableMessage(session, "<" + UUID.randomUUID() + "@caravan>");
                            msg.setFrom(new InternetAddress("no-reply@caravan.localhost"));
                            msg.setRecipient(MimeMessage.RecipientType.TO, new InternetAddress(c.email));
                            msg.setSubject(r.subject(), "UTF-8");
                            msg.setSentDate(java.util.Date.from(now));
                            msg.setHeader("X-Caravan-Protection", "opportunistic");
                            MimeMultipart alt = new MimeMultipart("alternative");
                            MimeBodyPart text = new MimeBodyPart();
                            text.setText(r.text(), "UTF-8");
                            MimeBodyPart html = new MimeBodyPart();
                            html.setContent(r.html(), "text/html; charset=UTF-8");
                            alt.addBodyPart(text);
                            alt.addBodyPart(html);
                            msg.setContent(alt);
                            msg.saveChanges();
                            transport.sendMessage(msg, msg.getAllRecipients());
                        }
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }, "tight-loop-" + t);
                ts.add(th);
                th.start();
            }
            for (Thread th : ts) {
                th.join();
            }
            long sent = selected.length - failed.get();
            while (sink.messages.sum() < before + sent) {
                Thread.sleep(1);
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            if (failed.get() > 0) {
                System.out.printf("  tight loop: %,d denied by the gate%n", failed.get());
            }
            return new Round(sent / secs, (EmailBench.processCpuNanos() - cpu0) / 1e6 / sent);
        }
    }

    /** The synthetic population as plain arrays, SegmentBench's distributions. */
    static final class Population {
        static final String[] CHRONIC = {"I10", "E78.5", "E11.9", "J45.909", "E66.9", "M17.11", "N18.3", "I25.10",
            "J44.9", "F32.9", "K21.9", "E03.9"};
        static final double[] PREVALENCE = {0.30, 0.25, 0.11, 0.08, 0.20, 0.06, 0.05, 0.06, 0.05, 0.08, 0.10, 0.05};
        static final String[] LANGUAGES = {"en", "es", "zh", "vi", "fr"};
        static final String[] LANGUAGES_639_2 = {"eng", "spa", "chi", "vie", "fre"};
        final LocalDate today;
        final int[] birth;
        final byte[] sex;
        final short[] zip3;
        final byte[] lang;
        final String[] code;

        private Population(LocalDate today, int n) {
            this.today = today;
            birth = new int[n];
            sex = new byte[n];
            zip3 = new short[n];
            lang = new byte[n];
            code = new String[n];
        }

        static Population generate(int n, LocalDate today) {
            Population p = new Population(today, n);
            SplittableRandom rnd = new SplittableRandom(16);
            int t = (int) today.toEpochDay();
            for (int i = 0; i < n; i++) {
                int age = (int) Math.min(100, Math.abs(rnd.nextGaussian() * 24 + 40));
                p.birth[i] = t - age * 365 - rnd.nextInt(365);
                p.sex[i] = (byte) (rnd.nextInt(100) < 51 ? 2 : 1);
                p.zip3[i] = (short) (10 + rnd.nextInt(990));
                int l = rnd.nextInt(100);
                p.lang[i] = (byte) (l < 75 ? 0 : l < 93 ? 1 : 2 + rnd.nextInt(3));
                // the first diagnosis on file (the HL7 mapping keeps DG1-3 of the first DG1)
                double ageFactor = age / 50.0;
                for (int k = 0; k < CHRONIC.length; k++) {
                    if (rnd.nextDouble() < PREVALENCE[k] * ageFactor) {
                        p.code[i] = CHRONIC[k];
                        break;
                    }
                }
            }
            return p;
        }

        int n() {
            return birth.length;
        }

        /** The default segment's members by the arrays (other expressions: every contact, as a placeholder). */
        int[] select(String when) {
            boolean screening = when.equals("contact.gender == 'female' and age() >= 50 and age() <= 74");
            return java.util.stream.IntStream.range(0, n()).filter(i -> !screening || sex[i] == 2
                    && age(i) >= 50 && age(i) <= 74).toArray();
        }

        int age(int i) {
            return java.time.Period.between(LocalDate.ofEpochDay(birth[i]), today).getYears();
        }

        String email(int i) {
            return "cb" + i + "@example.org";
        }

        Contact contact(int i, UUID id) {
            Contact c = new Contact(id);
            c.name = new io.caravan.contact.Name("Doe", List.of(sex[i] == 2 ? "Jane" : "John"));
            c.birthDate = LocalDate.ofEpochDay(birth[i]).toString();
            c.gender = sex[i] == 2 ? "female" : "male";
            c.email = email(i);
            c.language = LANGUAGES[lang[i]];
            return c;
        }

        String hl7(int i) {
            String dob = LocalDate.ofEpochDay(birth[i]).toString().replace("-", "");
            String zip = String.format("%03d%02d", zip3[i], i % 100);
            return "MSH|^~\\&|REG|MERCY|CARAVAN|HUB|20260301090000||ADT^A04^ADT_A01|C" + i + "|P|2.5.1\r"
                    + "EVN|A04|20260301090000\r"
                    + "PID|1||CB" + i + "^^^MERCY^MR||Doe^" + (sex[i] == 2 ? "Jane" : "John") + "||" + dob + "|"
                    + (sex[i] == 2 ? "F" : "M") + "|||1 Main St^^Springfield^IL^" + zip + "||^NET^Internet^"
                    + email(i) + "||" + LANGUAGES_639_2[lang[i]] + "\r"
                    + (code[i] == null ? "" : "DG1|1||" + code[i] + "^^I10\r");
        }
    }

    /** Registers the population over MLLP, {@code senders} connections each waiting for its ACK. */
    static void register(Population pop, int port, int senders) throws Exception {
        AtomicInteger next = new AtomicInteger();
        LongAdder done = new LongAdder();
        List<Thread> ts = new ArrayList<>();
        List<Exception> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int t = 0; t < senders; t++) {
            Thread th = new Thread(() -> {
                try (Socket s = new Socket("127.0.0.1", port)) {
                    s.setSoTimeout(60_000);
                    byte[] buf = new byte[4096];
                    int i;
                    while ((i = next.getAndIncrement()) < pop.n()) {
                        s.getOutputStream().write(("\u000b" + pop.hl7(i) + "\u001c\r")
                                .getBytes(StandardCharsets.UTF_8));
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
                        done.increment();
                    }
                } catch (Exception e) {
                    errors.add(e);
                }
            }, "register-" + t);
            ts.add(th);
            th.start();
        }
        long last = System.nanoTime();
        while (ts.stream().anyMatch(Thread::isAlive)) {
            Thread.sleep(200);
            if (System.nanoTime() - last > 30_000_000_000L) {
                last = System.nanoTime();
                System.out.printf("  registered %,d of %,d%n", done.sum(), pop.n());
            }
        }
        if (!errors.isEmpty()) {
            throw errors.get(0);
        }
    }

    /**
     * Heap sampled every 50 ms: the largest used (garbage included) and the largest left after a collection (the
     * live set's upper bound), overall and since the phase began.
     */
    static final class HeapWatch implements AutoCloseable {
        private volatile boolean stop;
        private final AtomicLong maxUsed = new AtomicLong();
        private final AtomicLong maxAfterGc = new AtomicLong();
        private final Thread thread;

        HeapWatch() {
            thread = new Thread(() -> {
                List<MemoryPoolMXBean> pools = ManagementFactory.getMemoryPoolMXBeans().stream()
                        .filter(m -> m.getType() == MemoryType.HEAP).toList();
                while (!stop) {
                    long used = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
                    long after = 0;
                    for (MemoryPoolMXBean m : pools) {
                        if (m.getCollectionUsage() != null) {
                            after += m.getCollectionUsage().getUsed();
                        }
                    }
                    maxUsed.accumulateAndGet(used, Math::max);
                    maxAfterGc.accumulateAndGet(after, Math::max);
                    try {
                        Thread.sleep(50);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "heap-watch");
            thread.setDaemon(true);
            thread.start();
        }

        String report() {
            return String.format("peak used %,d MiB, peak after GC %,d MiB (max %,d MiB)", maxUsed.get() >> 20,
                    maxAfterGc.get() >> 20, Runtime.getRuntime().maxMemory() >> 20);
        }

        @Override
        public void close() {
            stop = true;
        }
    }
}
