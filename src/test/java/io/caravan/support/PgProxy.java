package io.caravan.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A TCP proxy in front of PostgreSQL that can lose the answer to one COMMIT, as a network that drops a connection at
 * the wrong moment does: armed with a piece of SQL, it forwards the COMMIT of the next transaction on a connection
 * that sent that SQL, then closes both sides before the server's answer can come back. The server has the COMMIT and
 * commits it. It can also refuse new connections for a while (a database out of reach).
 *
 * <p>The SQL text must reach the wire: the hub's URL through the proxy sets {@code prepareThreshold=0}, so the driver
 * never swaps a statement's text for a server-side name.
 */
public final class PgProxy implements AutoCloseable {

    private final ServerSocket server;
    private final String upstreamHost;
    private final int upstreamPort;
    private final AtomicReference<String> armed = new AtomicReference<>();
    private volatile boolean refusing;
    private volatile boolean refuseAfterCut;
    private volatile List<java.util.UUID> carrying = List.of();
    private volatile CompletableFuture<Void> cut = new CompletableFuture<>();
    /** What the client sent in the transaction that was cut, from its first statement to the COMMIT. */
    private volatile byte[] cutTransaction = new byte[0];
    private final java.util.Set<Socket> open = java.util.concurrent.ConcurrentHashMap.newKeySet();

    public PgProxy(String upstreamHost, int upstreamPort) throws IOException {
        this.upstreamHost = upstreamHost;
        this.upstreamPort = upstreamPort;
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(this::accept, "pg-proxy-accept");
        t.setDaemon(true);
        t.start();
    }

    /** {@code jdbcUrl} (host:port of the upstream) through this proxy, server-side statement names off. */
    public static PgProxy before(String jdbcUrl) throws IOException {
        java.net.URI u = java.net.URI.create(jdbcUrl.substring("jdbc:".length()));
        return new PgProxy(u.getHost(), u.getPort());
    }

    public String url(String jdbcUrl) {
        java.net.URI u = java.net.URI.create(jdbcUrl.substring("jdbc:".length()));
        String rest = jdbcUrl.substring(jdbcUrl.indexOf(u.getRawPath()));
        return "jdbc:postgresql://127.0.0.1:" + server.getLocalPort() + rest + (rest.contains("?") ? "&" : "?")
                + "prepareThreshold=0";
    }

    /**
     * The next COMMIT on a connection that sent {@code sql} and one of the ids {@code carrying} since its last COMMIT
     * goes, its answer does not: only the test's own transaction, as a hub writes entries of its own in the
     * background (at start, from its schedulers). With {@code thenOutOfReach} the database is out of reach from that
     * moment: every open connection is closed and new ones are refused until {@link #refuse}{@code (false)}. The
     * future completes at the cut.
     */
    public CompletableFuture<Void> cutCommitAfter(String sql, boolean thenOutOfReach, List<java.util.UUID> carrying) {
        cut = new CompletableFuture<>();
        refuseAfterCut = thenOutOfReach;
        this.carrying = List.copyOf(carrying);
        armed.set(sql);
        return cut;
    }

    /**
     * Whether the transaction last cut carried this id (as text or as the 16 bytes a driver binds): a test's way to
     * know the cut hit its own entry, not a background one.
     */
    public boolean cutCarried(java.util.UUID id) {
        return carries(cutTransaction, id);
    }

    private static boolean carries(byte[] transaction, java.util.UUID id) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(16).putLong(id.getMostSignificantBits())
                .putLong(id.getLeastSignificantBits());
        String text = new String(transaction, StandardCharsets.ISO_8859_1);
        return text.contains(id.toString()) || text.contains(new String(b.array(), StandardCharsets.ISO_8859_1));
    }

    private boolean wanted(byte[] transaction) {
        return carrying.stream().anyMatch(id -> carries(transaction, id));
    }

    /** New connections are closed at once while true. */
    public void refuse(boolean refuse) {
        refusing = refuse;
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                if (refusing) {
                    client.close();
                    continue;
                }
                Socket up = new Socket(upstreamHost, upstreamPort);
                open.add(client);
                open.add(up);
                client.setTcpNoDelay(true);
                up.setTcpNoDelay(true);
                java.util.concurrent.atomic.AtomicBoolean mute = new java.util.concurrent.atomic.AtomicBoolean();
                start(() -> toServer(client, up, mute));
                start(() -> copy(up, client, mute));
            } catch (IOException e) {
                // closed, or the upstream is down: the client sees its connection close
            }
        }
    }

    private static void start(Runnable r) {
        Thread t = new Thread(r, "pg-proxy-pipe");
        t.setDaemon(true);
        t.start();
    }

    private void toServer(Socket client, Socket up, java.util.concurrent.atomic.AtomicBoolean mute) {
        boolean marked = false;
        java.io.ByteArrayOutputStream tx = new java.io.ByteArrayOutputStream();
        byte[] buf = new byte[65536];
        try (client; up; InputStream in = client.getInputStream(); OutputStream out = up.getOutputStream()) {
            int n;
            while ((n = in.read(buf)) > 0) {
                String sql = armed.get();
                if (sql != null) {
                    // protocol messages are small and written whole: a chunk holds a statement's text entire
                    String chunk = new String(buf, 0, n, StandardCharsets.ISO_8859_1);
                    marked |= chunk.contains(sql);
                    tx.write(buf, 0, n);
                    byte[] sent = marked && chunk.contains("COMMIT") ? tx.toByteArray() : null;
                    if (sent != null && wanted(sent) && armed.compareAndSet(sql, null)) {
                        // nothing the server says from here reaches the client, however fast it answers
                        mute.set(true);
                        cutTransaction = sent;
                        out.write(buf, 0, n);
                        out.flush();
                        if (refuseAfterCut) {
                            refusing = true;
                            for (Socket s : open) {
                                if (s != client && s != up) {
                                    s.close();
                                }
                            }
                        }
                        cut.complete(null);
                        return; // both sides closed: the server commits, the answer has nowhere to go
                    }
                    if (chunk.contains("COMMIT")) {
                        marked = false;
                        tx.reset();
                    }
                }
                out.write(buf, 0, n);
                out.flush();
            }
        } catch (IOException e) {
            // one side closed
        }
    }

    private void copy(Socket from, Socket to, java.util.concurrent.atomic.AtomicBoolean mute) {
        byte[] buf = new byte[65536];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            int n;
            while ((n = in.read(buf)) > 0 && !mute.get()) {
                out.write(buf, 0, n);
                out.flush();
            }
        } catch (IOException e) {
            // one side closed
        } finally {
            try {
                from.close();
                to.close();
                open.remove(from);
                open.remove(to);
            } catch (IOException ignored) {
                // closing
            }
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
