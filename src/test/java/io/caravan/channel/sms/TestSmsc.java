package io.caravan.channel.sms;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jsmpp.bean.Alphabet;
import org.jsmpp.bean.BroadcastSm;
import org.jsmpp.bean.CancelBroadcastSm;
import org.jsmpp.bean.CancelSm;
import org.jsmpp.bean.DataSm;
import org.jsmpp.bean.DeliveryReceipt;
import org.jsmpp.bean.ESMClass;
import org.jsmpp.bean.GeneralDataCoding;
import org.jsmpp.bean.MessageClass;
import org.jsmpp.bean.MessageType;
import org.jsmpp.bean.NumberingPlanIndicator;
import org.jsmpp.bean.OptionalParameter;
import org.jsmpp.bean.QueryBroadcastSm;
import org.jsmpp.bean.QuerySm;
import org.jsmpp.bean.RegisteredDelivery;
import org.jsmpp.bean.ReplaceSm;
import org.jsmpp.bean.SubmitMulti;
import org.jsmpp.bean.SubmitSm;
import org.jsmpp.bean.TypeOfNumber;
import org.jsmpp.extra.ProcessRequestException;
import org.jsmpp.session.BindRequest;
import org.jsmpp.session.BroadcastSmResult;
import org.jsmpp.session.DataSmResult;
import org.jsmpp.session.QueryBroadcastSmResult;
import org.jsmpp.session.QuerySmResult;
import org.jsmpp.session.SMPPServerSession;
import org.jsmpp.session.SMPPServerSessionListener;
import org.jsmpp.session.ServerMessageReceiverListener;
import org.jsmpp.session.Session;
import org.jsmpp.session.SubmitMultiResult;
import org.jsmpp.session.SubmitSmResult;
import org.jsmpp.util.DeliveryReceiptState;
import org.jsmpp.util.MessageId;

/**
 * An SMSC built on jsmpp for the tests: accepts binds, records each submit_sm, answers with an id (or a refusal the
 * test chose), and sends delivery receipts and MO texts to the bound hub. It can drop the bind, go down and come back.
 */
final class TestSmsc implements ServerMessageReceiverListener, AutoCloseable {

    record Submitted(String id, String destination, byte dataCoding, byte esmClass, byte registeredDelivery,
            byte[] shortMessage) {
    }

    final int port;
    final List<Submitted> submitted = new CopyOnWriteArrayList<>();
    final AtomicInteger binds = new AtomicInteger();
    final List<String> bindTypes = new CopyOnWriteArrayList<>();
    /** When each bind request arrived (System.nanoTime), accepted or not. */
    final List<Long> bindAttempts = new CopyOnWriteArrayList<>();
    /** The most binds open at one time since the start. */
    final AtomicInteger mostBoundAtOnce = new AtomicInteger();
    private final java.util.Set<SMPPServerSession> open = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile java.net.ServerSocket refusing;
    /** A command_status to refuse submits with (0: accept). */
    volatile int refuse;
    /**
     * When set, each accepted segment's receipt (in this state) is sent right after the submit's response, as a fast
     * SMSC does: it usually reaches the hub before the hub has recorded the text as sent.
     */
    volatile DeliveryReceiptState receiptAtOnce;
    private final ExecutorService receipting = Executors.newSingleThreadExecutor();
    private final AtomicLong ids = new AtomicLong(0x1000);
    private final List<SMPPServerSession> sessions = new CopyOnWriteArrayList<>();
    private volatile SMPPServerSessionListener listener;
    private final ExecutorService accepting = Executors.newCachedThreadPool();

    TestSmsc(int port) {
        this.port = port;
    }

    static int freePort() {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    TestSmsc start() throws IOException {
        SMPPServerSessionListener l = again(() -> new SMPPServerSessionListener(port));
        l.setMessageReceiverListener(this);
        listener = l;
        accepting.submit(() -> {
            while (listener == l) {
                try {
                    SMPPServerSession s = l.accept();
                    accepting.submit(() -> {
                        try {
                            BindRequest b = s.waitForBind(5000);
                            bindAttempts.add(System.nanoTime());
                            bindTypes.add(b.getBindType().name());
                            s.addSessionStateListener((now, before, src) -> {
                                if (!now.isBound()) {
                                    open.remove(s);
                                }
                            });
                            b.accept("test-smsc");
                            open.add(s);
                            mostBoundAtOnce.accumulateAndGet(open.size(), Math::max);
                            sessions.add(s);
                            binds.incrementAndGet();
                        } catch (Exception e) {
                            s.close();
                        }
                    });
                } catch (IOException e) {
                    return;
                }
            }
        });
        return this;
    }

    /** Binds open now. */
    int boundNow() {
        return open.size();
    }

    interface Listen<T> {
        T open() throws IOException;
    }

    /**
     * The port again, right after it was closed: the connections the last listener accepted hold it until the hub
     * has closed its end too.
     */
    private static <T> T again(Listen<T> listen) throws IOException {
        long until = System.nanoTime() + 10_000_000_000L;
        while (true) {
            try {
                return listen.open();
            } catch (java.net.BindException e) {
                if (System.nanoTime() > until) {
                    throw e;
                }
                try {
                    Thread.sleep(100);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    /** The bind breaks (the SMSC restarts a node): the hub must bind again by itself. */
    void dropBinds() {
        sessions.forEach(SMPPServerSession::close);
        sessions.clear();
    }

    /**
     * The SMSC answers every bind with ESME_RBINDFAIL, as one in maintenance does (the binds open now are dropped).
     * jsmpp's own server sends that answer without a body, which jsmpp's client cannot read, so this one is written by
     * hand: bind_resp with command_status 0x0D and an empty system_id.
     */
    void refuseBinds() throws IOException {
        stop();
        java.net.ServerSocket ss = again(() -> {
            java.net.ServerSocket x = new java.net.ServerSocket();
            x.setReuseAddress(true);
            try {
                x.bind(new java.net.InetSocketAddress("127.0.0.1", port));
            } catch (IOException e) {
                x.close();
                throw e;
            }
            return x;
        });
        refusing = ss;
        accepting.submit(() -> {
            while (refusing == ss) {
                try (java.net.Socket c = ss.accept()) {
                    java.io.DataInputStream in = new java.io.DataInputStream(c.getInputStream());
                    int length = in.readInt();
                    int command = in.readInt();
                    in.readInt();
                    int sequence = in.readInt();
                    in.skipNBytes(length - 16);
                    bindAttempts.add(System.nanoTime());
                    java.io.DataOutputStream out = new java.io.DataOutputStream(c.getOutputStream());
                    out.writeInt(17);
                    out.writeInt(command | 0x80000000);
                    out.writeInt(0x0D);
                    out.writeInt(sequence);
                    out.writeByte(0);
                    out.flush();
                    // then wait for the client to hang up: jsmpp drops a response it reads just before the close
                    c.setSoTimeout(2000);
                    in.read();
                } catch (IOException e) {
                    if (refusing != ss) {
                        return;
                    }
                }
            }
        });
    }

    /** Binds are accepted again (after {@link #refuseBinds}). */
    void acceptBinds() throws IOException {
        java.net.ServerSocket ss = refusing;
        refusing = null;
        if (ss != null) {
            ss.close();
        }
        start();
    }

    /** The SMSC is unreachable: no listener, no binds. */
    void stop() throws IOException {
        SMPPServerSessionListener l = listener;
        listener = null;
        if (l != null) {
            l.close();
        }
        dropBinds();
    }

    @Override
    public void close() throws IOException {
        java.net.ServerSocket ss = refusing;
        refusing = null;
        if (ss != null) {
            ss.close();
        }
        stop();
        accepting.shutdownNow();
        receipting.shutdownNow();
    }

    SMPPServerSession session() {
        return sessions.get(sessions.size() - 1);
    }

    /** A delivery receipt for one submitted segment. */
    void receipt(String id, DeliveryReceiptState state, String error) throws Exception {
        DeliveryReceipt r = new DeliveryReceipt(id, 1, state == DeliveryReceiptState.DELIVRD ? 1 : 0,
                new java.util.Date(), new java.util.Date(), state, error, "");
        session().deliverShortMessage("", TypeOfNumber.INTERNATIONAL, NumberingPlanIndicator.ISDN, "15550000000",
                TypeOfNumber.INTERNATIONAL, NumberingPlanIndicator.ISDN, "15551230000",
                new ESMClass(org.jsmpp.bean.MessageMode.DEFAULT, MessageType.SMSC_DEL_RECEIPT, org.jsmpp.bean.GSMSpecificFeature.DEFAULT), (byte) 0, (byte) 0,
                new RegisteredDelivery(0), new GeneralDataCoding(Alphabet.ALPHA_DEFAULT, MessageClass.CLASS1, false),
                r.toString().getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
    }

    /** An MO text from {@code from} (E.164 digits) to the hub's number. */
    void mo(String from, String text) throws Exception {
        session().deliverShortMessage("", TypeOfNumber.INTERNATIONAL, NumberingPlanIndicator.ISDN, from,
                TypeOfNumber.INTERNATIONAL, NumberingPlanIndicator.ISDN, "15551230000", new ESMClass(),
                (byte) 0, (byte) 0, new RegisteredDelivery(0),
                new GeneralDataCoding(Alphabet.ALPHA_DEFAULT, MessageClass.CLASS1, false),
                text.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
    }

    @Override
    public SubmitSmResult onAcceptSubmitSm(SubmitSm s, SMPPServerSession session) throws ProcessRequestException {
        if (refuse != 0) {
            throw new ProcessRequestException("refused", refuse);
        }
        String id = Long.toHexString(ids.incrementAndGet());
        submitted.add(new Submitted(id, s.getDestAddress(), s.getDataCoding(), s.getEsmClass(),
                s.getRegisteredDelivery(), s.getShortMessage()));
        DeliveryReceiptState at = receiptAtOnce;
        if (at != null) {
            receipting.submit(() -> {
                receipt(id, at, "000");
                return null;
            });
        }
        try {
            return new SubmitSmResult(new MessageId(id), new OptionalParameter[0]);
        } catch (org.jsmpp.PDUStringException e) {
            throw new ProcessRequestException("bad id", 8);
        }
    }

    @Override
    public SubmitMultiResult onAcceptSubmitMulti(SubmitMulti s, SMPPServerSession session)
            throws ProcessRequestException {
        throw new ProcessRequestException("unsupported", 3);
    }

    @Override
    public QuerySmResult onAcceptQuerySm(QuerySm q, SMPPServerSession session) throws ProcessRequestException {
        throw new ProcessRequestException("unsupported", 3);
    }

    @Override
    public void onAcceptReplaceSm(ReplaceSm r, SMPPServerSession session) throws ProcessRequestException {
        throw new ProcessRequestException("unsupported", 3);
    }

    @Override
    public void onAcceptCancelSm(CancelSm c, SMPPServerSession session) throws ProcessRequestException {
        throw new ProcessRequestException("unsupported", 3);
    }

    @Override
    public BroadcastSmResult onAcceptBroadcastSm(BroadcastSm b, SMPPServerSession session)
            throws ProcessRequestException {
        throw new ProcessRequestException("unsupported", 3);
    }

    @Override
    public void onAcceptCancelBroadcastSm(CancelBroadcastSm c, SMPPServerSession session)
            throws ProcessRequestException {
        throw new ProcessRequestException("unsupported", 3);
    }

    @Override
    public QueryBroadcastSmResult onAcceptQueryBroadcastSm(QueryBroadcastSm q, SMPPServerSession session)
            throws ProcessRequestException {
        throw new ProcessRequestException("unsupported", 3);
    }

    @Override
    public DataSmResult onAcceptDataSm(DataSm d, Session session) throws ProcessRequestException {
        throw new ProcessRequestException("unsupported", 3);
    }
}
