package io.caravan.channel.email;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

/**
 * An authoritative DNS server on a loopback UDP port (dnsjava's wire format) answering from a table the test fills:
 * the hub's resolver asks it real DNS questions. There is no other DNS here, and test domains (RFC 2606) have none.
 */
public final class TestDns implements AutoCloseable {

    private final DatagramSocket socket = new DatagramSocket(0, InetAddress.getLoopbackAddress());
    private final Map<String, List<Record>> records = new ConcurrentHashMap<>();

    public TestDns() throws IOException {
        Thread t = new Thread(this::serve, "test-dns");
        t.setDaemon(true);
        t.start();
    }

    public String server() {
        return "127.0.0.1:" + socket.getLocalPort();
    }

    public void mx(String domain, int preference, String host) throws Exception {
        add(new MXRecord(name(domain), DClass.IN, 60, preference, name(host)));
    }

    public void a(String host, String address) throws Exception {
        add(new ARecord(name(host), DClass.IN, 60, InetAddress.getByName(address)));
    }

    public void txt(String host, String text) throws Exception {
        add(new TXTRecord(name(host), DClass.IN, 60, text));
    }

    /** Every record of a name goes: the name no longer exists. */
    public void remove(String host) throws Exception {
        String prefix = name(host).toString().toLowerCase(java.util.Locale.ROOT) + "/";
        records.keySet().removeIf(k -> k.startsWith(prefix));
    }

    /** While true every question gets SERVFAIL, as from a broken or attacked resolver. */
    public void failing(boolean on) {
        failing = on;
    }

    private volatile boolean failing;

    private void add(Record r) {
        records.merge(key(r.getName(), r.getType()), List.of(r), (x, y) -> {
            List<Record> all = new java.util.ArrayList<>(x);
            all.addAll(y);
            return List.copyOf(all);
        });
    }

    private static Name name(String s) throws Exception {
        return Name.fromString(s.endsWith(".") ? s : s + ".");
    }

    private static String key(Name n, int type) {
        return n.toString().toLowerCase(java.util.Locale.ROOT) + "/" + type;
    }

    private void serve() {
        byte[] buf = new byte[4096];
        while (!socket.isClosed()) {
            try {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                socket.receive(p);
                Message q = new Message(java.util.Arrays.copyOf(p.getData(), p.getLength()));
                Record question = q.getQuestion();
                Message a = new Message(q.getHeader().getID());
                a.getHeader().setFlag(Flags.QR);
                a.getHeader().setFlag(Flags.AA);
                a.addRecord(question, Section.QUESTION);
                List<Record> answers = records.get(key(question.getName(), question.getType()));
                boolean nameExists = records.keySet().stream().anyMatch(k -> k.startsWith(
                        question.getName().toString().toLowerCase(java.util.Locale.ROOT) + "/"));
                if (failing) {
                    a.getHeader().setRcode(Rcode.SERVFAIL);
                } else if (answers != null) {
                    answers.forEach(r -> a.addRecord(r, Section.ANSWER));
                } else if (!nameExists && question.getType() != Type.TXT) {
                    a.getHeader().setRcode(Rcode.NXDOMAIN);
                }
                byte[] out = a.toWire();
                socket.send(new DatagramPacket(out, out.length, p.getSocketAddress()));
            } catch (IOException e) {
                // closed
            }
        }
    }

    @Override
    public void close() {
        socket.close();
    }
}
