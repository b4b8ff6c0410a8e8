package io.caravan.bench;

import io.caravan.CaravanApplication;
import io.caravan.channel.Messages;
import io.caravan.channel.sms.SmsText;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.jsmpp.bean.Alphabet;
import org.jsmpp.bean.BindType;
import org.jsmpp.bean.DataCodings;
import org.jsmpp.bean.DeliverSm;
import org.jsmpp.bean.DeliveryReceipt;
import org.jsmpp.bean.ESMClass;
import org.jsmpp.bean.GeneralDataCoding;
import org.jsmpp.bean.MessageClass;
import org.jsmpp.bean.MessageType;
import org.jsmpp.bean.NumberingPlanIndicator;
import org.jsmpp.bean.OptionalParameter;
import org.jsmpp.bean.RegisteredDelivery;
import org.jsmpp.bean.SMSCDeliveryReceipt;
import org.jsmpp.bean.SubmitSm;
import org.jsmpp.bean.TypeOfNumber;
import org.jsmpp.extra.ProcessRequestException;
import org.jsmpp.session.BindParameter;
import org.jsmpp.session.MessageReceiverListener;
import org.jsmpp.session.SMPPServerSession;
import org.jsmpp.session.SMPPServerSessionListener;
import org.jsmpp.session.SMPPSession;
import org.jsmpp.session.ServerMessageReceiverListener;
import org.jsmpp.session.SubmitSmResult;
import org.jsmpp.util.DeliveryReceiptState;
import org.jsmpp.util.MessageId;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * SMS submitted and acknowledged per second, end to end from planning: Messages.plan (planning decision, stored
 * message) → send queue → send-time decision → render, GSM-7 encoding → camel-smpp submit over one transceiver bind →
 * submit_sm_resp → the SMSC's delivery receipt → status delivered. Beside it, in the same run and against the same
 * local SMSC (jsmpp, answering at once and sending a receipt per submit), a raw jsmpp client submitting the same
 * rendered text from as many threads as the hub's send queue has consumers, counting until every receipt is in.
 * The hub runs in-process on its embedded store (H2; audit entries written to the file before each step goes on).
 */
public final class SmsBench {

    record Round(double perSecond) {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new LinkedHashMap<>(Map.of("--rounds", "3", "--messages", "4000", "--contacts", "400",
                "--planners", "8", "--raw-threads", "32", "--warmup", "2000"));
        // texts a planner plans at once (Messages.planAll: one durable wait for the run); 1: Messages.plan each
        a.putIfAbsent("--plan-batch", "100");
        // the send lanes' threads (caravan.send.consumers; the bulk lane's, which planAll feeds, follow it): each
        // holds a text through its waits on the audit trail
        a.putIfAbsent("--send-consumers", "128");
        for (int i = 0; i + 1 < args.length; i += 2) {
            a.put(args[i], args[i + 1]);
        }
        int rounds = Integer.parseInt(a.get("--rounds"));
        int perRound = Integer.parseInt(a.get("--messages"));
        Smsc smsc = new Smsc();
        Path data = Scratch.dir("caravan-sms-bench");
        Path adapters = Scratch.dir("caravan-sms-bench-adapters");
        Files.writeString(adapters.resolve("bench-smsc.yaml"), String.join("\n", "id: bench-smsc", "kind: smpp",
                "baa:", "  status: signed", "smpp:", "  host: 127.0.0.1", "  port: " + smsc.port,
                "  systemId: caravan", "  sourceAddress: \"12175550000\"", "  throughput: 100000",
                "  windowSize: 64", ""));
        int mllp;
        try (ServerSocket s = new ServerSocket(0)) {
            mllp = s.getLocalPort();
        }
        ConfigurableApplicationContext ctx = org.springframework.boot.SpringApplication.run(CaravanApplication.class,
                "--caravan.data-dir=" + data, "--server.port=0", "--caravan.mllp.host=127.0.0.1",
                "--caravan.mllp.port=" + mllp, "--logging.level.root=WARN", "--logging.level.io.caravan=WARN",
                "--caravan.mapping.adapters-dir=" + adapters, "--caravan.sms.adapter=bench-smsc",
                // a benchmark, not a patient: any hour, no per-number cap
                "--caravan.sms.quiet-hours.window=00:00-23:59:59", "--caravan.sms.treatment-cap.per-day=100000000",
                "--caravan.sms.treatment-cap.per-week=100000000",
                "--caravan.send.consumers=" + a.get("--send-consumers"));
        try {
            List<UUID> ids = register(ctx, Integer.parseInt(a.get("--contacts")), mllp);
            Messages messages = ctx.getBean(Messages.class);
            JdbcTemplate jdbc = ctx.getBean(JdbcTemplate.class);
            Map<String, Object> visit = Map.of("appointmentDate", "2026-12-03", "appointmentTime", "09:30",
                    "clinicPhone", "217-555-0100");
            String text = "Mercy Health: reminder of your appointment on 2026-12-03 at 09:30. Questions: 217-555-0100."
                    + " Reply STOP to opt out.";
            int planners = Integer.parseInt(a.get("--planners"));
            int rawThreads = Integer.parseInt(a.get("--raw-threads"));
            int batch = Integer.parseInt(a.get("--plan-batch"));
            System.out.printf("cores %d, heap %d MiB, %d contacts, %d planners (runs of %d), %s send consumers,"
                    + " raw client %d threads%n", Runtime.getRuntime().availableProcessors(),
                    Runtime.getRuntime().maxMemory() >> 20, ids.size(), planners, batch, a.get("--send-consumers"),
                    rawThreads);
            pipeline(smsc, messages, jdbc, ids, visit, Integer.parseInt(a.get("--warmup")), planners, batch);
            raw(smsc, text, Integer.parseInt(a.get("--warmup")), rawThreads);
            List<Round> base = new ArrayList<>();
            List<Round> pipe = new ArrayList<>();
            boolean sqlStats = Boolean.parseBoolean(a.getOrDefault("--sql-stats", "false"));
            for (int r = 0; r < rounds; r++) {
                base.add(raw(smsc, text, perRound, rawThreads));
                if (sqlStats && r == rounds - 1) {
                    jdbc.execute("SET QUERY_STATISTICS_MAX_ENTRIES 1000");
                    jdbc.execute("SET QUERY_STATISTICS TRUE");
                }
                pipe.add(pipeline(smsc, messages, jdbc, ids, visit, perRound, planners, batch));
            }
            if (sqlStats) {
                sqlStats(jdbc, perRound);
                jdbc.execute("SET QUERY_STATISTICS FALSE"); // which drops them
            }
            double b = median(base);
            double p = median(pipe);
            System.out.println();
            System.out.printf("  %-60s %10s %8s%n", "target", "texts/s", "vs raw");
            System.out.printf("  %-60s %,10.0f %7.0f %%   rounds: %s%n",
                    "raw jsmpp client: submit + resp + receipt (baseline)", b, 100.0, rates(base));
            System.out.printf("  %-60s %,10.0f %7.0f %%   rounds: %s%n",
                    "hub: plan -> gate -> encode -> camel-smpp -> receipt -> delivered", p, 100 * p / b, rates(pipe));
            System.out.printf("  the SMSC took %,d submits and sent %,d receipts%n", smsc.submits.sum(),
                    smsc.receipts.sum());
        } finally {
            ctx.close();
            smsc.close();
        }
    }

    /** Texts planned through the hub until the last of them is delivered (its receipt processed). */
    static Round pipeline(Smsc smsc, Messages messages, JdbcTemplate jdbc, List<UUID> ids, Map<String, Object> visit,
            int count, int planners, int batch) throws Exception {
        long before = delivered(jdbc);
        long receiptsBefore = smsc.receipts.sum();
        ExecutorService pool = Executors.newFixedThreadPool(planners);
        long t0 = System.nanoTime();
        for (int t = 0; t < planners; t++) {
            int offset = t;
            pool.submit(() -> {
                List<Messages.Request> run = new ArrayList<>(batch);
                for (int i = offset; i < count; i += planners) {
                    Messages.Request r = new Messages.Request(ids.get(i % ids.size()), "appointment-reminder", "sms",
                            "treatment", visit);
                    if (batch <= 1) {
                        messages.plan(r, "bench");
                        continue;
                    }
                    run.add(r);
                    if (run.size() == batch) {
                        messages.planAll(run, "bench");
                        run.clear();
                    }
                }
                if (!run.isEmpty()) {
                    messages.planAll(run, "bench");
                }
            });
        }
        pool.shutdown();
        pool.awaitTermination(10, TimeUnit.MINUTES);
        // the SMSC's own count first: asking the table every 20 ms all along took about a sixth of the CPU the hub
        // had (a count over every text sent so far, on the same two cores)
        while (smsc.receipts.sum() < receiptsBefore + count) {
            Thread.sleep(5);
        }
        while (delivered(jdbc) < before + count) {
            Thread.sleep(20);
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        return new Round(count / secs);
    }

    /** The statements of the last round by time taken (H2's query statistics): where a text's store time goes. */
    static void sqlStats(JdbcTemplate jdbc, int texts) {
        System.out.printf("%n  statements of the last round (%,d texts): per text, ms in all, statement%n", texts);
        jdbc.query("SELECT EXECUTION_COUNT, CUMULATIVE_EXECUTION_TIME, SQL_STATEMENT FROM"
                + " INFORMATION_SCHEMA.QUERY_STATISTICS ORDER BY CUMULATIVE_EXECUTION_TIME DESC FETCH FIRST 40 ROWS ONLY",
                rs -> {
                    String sql = rs.getString(3).replaceAll("\\s+", " ");
                    System.out.printf("  %7.2f %9.0f  %s%n", rs.getLong(1) / (double) texts, rs.getDouble(2),
                            sql.length() > 150 ? sql.substring(0, 150) : sql);
                });
        System.out.printf("  all statements per text: %.1f%n", jdbc.queryForObject(
                "SELECT SUM(EXECUTION_COUNT) FROM INFORMATION_SCHEMA.QUERY_STATISTICS", Long.class) / (double) texts);
    }

    static long delivered(JdbcTemplate jdbc) {
        return jdbc.queryForObject("SELECT COUNT(*) FROM outbound_message WHERE channel = 'sms' AND status ="
                + " 'delivered'", Long.class);
    }

    /** The same text, submitted by a bare jsmpp client, until every submit is answered and every receipt is in. */
    static Round raw(Smsc smsc, String text, int count, int threads) throws Exception {
        SMPPSession session = new SMPPSession();
        LongAdder receipts = new LongAdder();
        session.setMessageReceiverListener(new MessageReceiverListener() {
            @Override
            public void onAcceptDeliverSm(DeliverSm d) {
                receipts.increment();
            }

            @Override
            public void onAcceptAlertNotification(org.jsmpp.bean.AlertNotification n) {
            }

            @Override
            public org.jsmpp.session.DataSmResult onAcceptDataSm(org.jsmpp.bean.DataSm d,
                    org.jsmpp.session.Session s) {
                return null;
            }
        });
        session.connectAndBind("127.0.0.1", smsc.port, new BindParameter(BindType.BIND_TRX, "raw", "", "",
                TypeOfNumber.UNKNOWN, NumberingPlanIndicator.UNKNOWN, null));
        byte[] body = SmsText.encode(text).segments().get(0);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        AtomicLong next = new AtomicLong();
        long t0 = System.nanoTime();
        for (int t = 0; t < threads; t++) {
            pool.submit(() -> {
                while (next.getAndIncrement() < count) {
                    try {
                        session.submitShortMessage("", TypeOfNumber.INTERNATIONAL, NumberingPlanIndicator.ISDN,
                                "12175550000", TypeOfNumber.INTERNATIONAL, NumberingPlanIndicator.ISDN,
                                "12175551234", new ESMClass(), (byte) 0, (byte) 0, null, null,
                                new RegisteredDelivery(SMSCDeliveryReceipt.SUCCESS_FAILURE), (byte) 0,
                                DataCodings.ZERO, (byte) 0, body);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }
                return null;
            });
        }
        pool.shutdown();
        pool.awaitTermination(10, TimeUnit.MINUTES);
        while (receipts.sum() < count) {
            Thread.sleep(5);
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        session.unbindAndClose();
        return new Round(count / secs);
    }

    static List<UUID> register(ConfigurableApplicationContext ctx, int n, int port) throws Exception {
        JdbcTemplate jdbc = ctx.getBean(JdbcTemplate.class);
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            for (int i = 0; i < n; i++) {
                String msg = "MSH|^~\\&|REG|MERCY|CARAVAN|HUB|20260301090000||ADT^A04^ADT_A01|S" + i + "|P|2.5.1\r"
                        + "EVN|A04|20260301090000\rPID|1||SMSBENCH" + i + "^^^MERCY^MR||Doe^Jane||19800101|F|||"
                        + "1 Main St^^Springfield^IL^62704||^PRN^CP^^1^217^555" + String.format("%04d", i) + "\r";
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

    static double median(List<Round> rounds) {
        double[] v = rounds.stream().mapToDouble(Round::perSecond).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    static String rates(List<Round> rounds) {
        return Arrays.toString(rounds.stream().mapToLong(r -> Math.round(r.perSecond())).toArray());
    }

    /** A local SMSC: answers each submit at once and sends its DELIVRD receipt on the same bind. */
    static final class Smsc implements ServerMessageReceiverListener, AutoCloseable {
        final int port;
        final LongAdder submits = new LongAdder();
        final LongAdder receipts = new LongAdder();
        private final AtomicLong ids = new AtomicLong(0x100000);
        private final SMPPServerSessionListener listener;
        private final ExecutorService io = Executors.newCachedThreadPool();
        private final ExecutorService receipting = Executors.newFixedThreadPool(4);

        Smsc() throws IOException {
            try (ServerSocket s = new ServerSocket(0)) {
                port = s.getLocalPort();
            }
            listener = new SMPPServerSessionListener(port);
            listener.setMessageReceiverListener(this);
            listener.setPduProcessorDegree(8);
            io.submit(() -> {
                while (true) {
                    SMPPServerSession s = listener.accept();
                    io.submit(() -> {
                        s.waitForBind(5000).accept("bench-smsc");
                        return null;
                    });
                }
            });
        }

        @Override
        public SubmitSmResult onAcceptSubmitSm(SubmitSm s, SMPPServerSession session) throws ProcessRequestException {
            submits.increment();
            String id = Long.toHexString(ids.incrementAndGet());
            receipting.submit(() -> {
                DeliveryReceipt r = new DeliveryReceipt(id, 1, 1, new java.util.Date(), new java.util.Date(),
                        DeliveryReceiptState.DELIVRD, "000", "");
                session.deliverShortMessage("", TypeOfNumber.INTERNATIONAL, NumberingPlanIndicator.ISDN,
                        s.getDestAddress(), TypeOfNumber.INTERNATIONAL, NumberingPlanIndicator.ISDN,
                        s.getSourceAddr(), new ESMClass(org.jsmpp.bean.MessageMode.DEFAULT,
                                MessageType.SMSC_DEL_RECEIPT, org.jsmpp.bean.GSMSpecificFeature.DEFAULT),
                        (byte) 0, (byte) 0, new RegisteredDelivery(0),
                        new GeneralDataCoding(Alphabet.ALPHA_DEFAULT, MessageClass.CLASS1, false),
                        r.toString().getBytes(StandardCharsets.ISO_8859_1));
                receipts.increment();
                return null;
            });
            try {
                return new SubmitSmResult(new MessageId(id), new OptionalParameter[0]);
            } catch (org.jsmpp.PDUStringException e) {
                throw new ProcessRequestException("bad id", 8);
            }
        }

        @Override
        public org.jsmpp.session.SubmitMultiResult onAcceptSubmitMulti(org.jsmpp.bean.SubmitMulti s,
                SMPPServerSession session) throws ProcessRequestException {
            throw new ProcessRequestException("unsupported", 3);
        }

        @Override
        public org.jsmpp.session.QuerySmResult onAcceptQuerySm(org.jsmpp.bean.QuerySm q, SMPPServerSession session)
                throws ProcessRequestException {
            throw new ProcessRequestException("unsupported", 3);
        }

        @Override
        public void onAcceptReplaceSm(org.jsmpp.bean.ReplaceSm r, SMPPServerSession session)
                throws ProcessRequestException {
            throw new ProcessRequestException("unsupported", 3);
        }

        @Override
        public void onAcceptCancelSm(org.jsmpp.bean.CancelSm c, SMPPServerSession session)
                throws ProcessRequestException {
            throw new ProcessRequestException("unsupported", 3);
        }

        @Override
        public org.jsmpp.session.BroadcastSmResult onAcceptBroadcastSm(org.jsmpp.bean.BroadcastSm b,
                SMPPServerSession session) throws ProcessRequestException {
            throw new ProcessRequestException("unsupported", 3);
        }

        @Override
        public void onAcceptCancelBroadcastSm(org.jsmpp.bean.CancelBroadcastSm c, SMPPServerSession session)
                throws ProcessRequestException {
            throw new ProcessRequestException("unsupported", 3);
        }

        @Override
        public org.jsmpp.session.QueryBroadcastSmResult onAcceptQueryBroadcastSm(org.jsmpp.bean.QueryBroadcastSm q,
                SMPPServerSession session) throws ProcessRequestException {
            throw new ProcessRequestException("unsupported", 3);
        }

        @Override
        public org.jsmpp.session.DataSmResult onAcceptDataSm(org.jsmpp.bean.DataSm d, org.jsmpp.session.Session s)
                throws ProcessRequestException {
            throw new ProcessRequestException("unsupported", 3);
        }

        @Override
        public void close() throws IOException {
            listener.close();
            io.shutdownNow();
            receipting.shutdownNow();
        }
    }
}
