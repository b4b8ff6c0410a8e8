package io.caravan.channel.email;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP relay between the hub and whichever test SMTP server a test selects: it records every byte the hub sends
 * (the "wire", checked for clear PHI) and can break one connection in the middle of DATA - the fault a real relay
 * shows when it crashes or the network drops, which no server can be asked to do on cue. TLS passes through
 * untouched: the certificate the hub checks is the backend's.
 */
final class SmtpSwitchboard implements AutoCloseable {

    private final ServerSocket server;
    private volatile int backend;
    private final AtomicInteger cutsLeft = new AtomicInteger();
    private final ByteArrayOutputStream wire = new ByteArrayOutputStream();

    SmtpSwitchboard() throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(this::accept, "smtp-switchboard");
        t.setDaemon(true);
        t.start();
    }

    int port() {
        return server.getLocalPort();
    }

    /** Where new connections go from now on; the wire record starts afresh. */
    void connectTo(int port) {
        backend = port;
        synchronized (wire) {
            wire.reset();
        }
    }

    /** The next {@code n} connections that reach DATA are cut after a part of the message has gone. */
    void cutDuringData(int n) {
        cutsLeft.set(n);
    }

    /** Everything the hub sent since {@link #connectTo}, as ISO-8859-1 text. */
    String wire() {
        synchronized (wire) {
            return wire.toString(StandardCharsets.ISO_8859_1);
        }
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Socket upstream = new Socket(InetAddress.getLoopbackAddress(), backend);
                pump(client, upstream, true);
                pump(upstream, client, false);
            } catch (IOException e) {
                // closed, or the backend is down: the hub sees a refused or broken connection
            }
        }
    }

    private void pump(Socket from, Socket to, boolean fromHub) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[8192];
            StringBuilder seen = new StringBuilder();
            boolean inData = false;
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    if (fromHub) {
                        synchronized (wire) {
                            wire.write(buf, 0, n);
                        }
                        if (!inData) {
                            seen.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
                            inData = seen.indexOf("\r\nDATA\r\n") >= 0 || seen.indexOf("DATA\r\n") == 0;
                            if (inData && cutsLeft.getAndUpdate(c -> Math.max(0, c - 1)) > 0) {
                                // let the command through and a little of the message after it, then drop both sides
                                out.write(buf, 0, n);
                                out.flush();
                                Thread.sleep(200);
                                out.write("Subject: half a message\r\n".getBytes(StandardCharsets.US_ASCII));
                                out.flush();
                                from.close();
                                to.close();
                                return;
                            }
                        }
                    }
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException | InterruptedException e) {
                // one side closed
            } finally {
                try {
                    from.close();
                    to.close();
                } catch (IOException e) {
                    // already closed
                }
            }
        }, "smtp-switchboard-pump");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
