package io.caravan.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/** A raw MLLP client for what HAPI's client will not send: garbage, pipelined frames, byte-by-byte frames. */
public final class MllpTestClient implements AutoCloseable {

    private final Socket socket;
    private final InputStream in;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

    public MllpTestClient(int port) throws IOException {
        this(new Socket("127.0.0.1", port));
    }

    /** Connects from {@code localAddress}, e.g. 127.0.0.2 to play another host over loopback. */
    public MllpTestClient(int port, String localAddress) throws IOException {
        this(new Socket(java.net.InetAddress.getLoopbackAddress(), port,
                java.net.InetAddress.getByName(localAddress), 0));
    }

    /** Over an already connected socket (a TLS one, say). */
    public MllpTestClient(Socket connected) throws IOException {
        socket = connected;
        socket.setTcpNoDelay(true);
        in = socket.getInputStream();
    }

    public static byte[] frame(String message) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(0x0b);
        b.writeBytes(message.getBytes(StandardCharsets.UTF_8));
        b.write(0x1c);
        b.write(0x0d);
        return b.toByteArray();
    }

    /** Sends every message in one TCP write. */
    public void sendPipelined(String... messages) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (String m : messages) {
            b.writeBytes(frame(m));
        }
        write(b.toByteArray());
    }

    public void write(byte[] bytes) throws IOException {
        socket.getOutputStream().write(bytes);
        socket.getOutputStream().flush();
    }

    /** Sends one message and waits for its ACK. */
    public String exchange(String message, int timeoutMillis) throws IOException {
        write(frame(message));
        return readAck(timeoutMillis);
    }

    /** The next ACK's text, or null if none arrives in time or the hub closed the connection. */
    public String readAck(int timeoutMillis) throws IOException {
        socket.setSoTimeout(timeoutMillis);
        long deadline = System.currentTimeMillis() + timeoutMillis;
        byte[] buf = new byte[8192];
        while (true) {
            byte[] have = pending.toByteArray();
            int start = indexOf(have, (byte) 0x0b, 0);
            int end = start < 0 ? -1 : indexOf(have, (byte) 0x1c, start);
            if (end > 0) {
                String ack = new String(have, start + 1, end - start - 1, StandardCharsets.UTF_8);
                pending.reset();
                int rest = Math.min(have.length, end + 2);
                pending.write(have, rest, have.length - rest);
                return ack;
            }
            if (System.currentTimeMillis() >= deadline) {
                return null;
            }
            try {
                int n = in.read(buf);
                if (n < 0) {
                    return null;
                }
                pending.write(buf, 0, n);
            } catch (SocketTimeoutException e) {
                return null;
            } catch (IOException e) {
                return null; // reset by the hub
            }
        }
    }

    /** True when the hub has closed the connection (EOF or reset within the timeout). */
    public boolean closedByHub(int timeoutMillis) throws IOException {
        socket.setSoTimeout(timeoutMillis);
        try {
            return in.read() < 0;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    private static int indexOf(byte[] a, byte b, int from) {
        for (int i = from; i < a.length; i++) {
            if (a[i] == b) {
                return i;
            }
        }
        return -1;
    }

    /** MSA-1 of an ACK. */
    public static String msa1(String ack) {
        return field(ack, "MSA", 1);
    }

    /** Field {@code n} of the first segment named {@code seg}. */
    public static String field(String message, String seg, int n) {
        if (message == null) {
            // readAck's null: say so, not a NullPointerException three frames down
            throw new AssertionError("no ACK arrived in time (or the hub closed the connection)");
        }
        for (String s : message.split("\r")) {
            if (s.startsWith(seg + "|")) {
                String[] f = s.split("\\|", -1);
                return n < f.length ? f[n] : "";
            }
        }
        return null;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
