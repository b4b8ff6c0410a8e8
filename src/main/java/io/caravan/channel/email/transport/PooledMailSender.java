package io.caravan.channel.email.transport;

import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.MimeMessage;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.BlockingDeque;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * camel-mail's sender over a small pool of open SMTP connections. camel-mail's own sender connects, sends and
 * disconnects per message (a TLS handshake and an AUTH each time: 43 % of a send measured here); this one keeps up
 * to {@code size} connections and reuses them. A connection that failed is closed, never reused; one idle for a while
 * is checked with NOOP first. The session (TLS requirements, trust, timeouts) is built once.
 */
public final class PooledMailSender extends ConfiguredMailSender {

    private static final long STALE_NANOS = Duration.ofSeconds(20).toNanos();

    private record Pooled(Transport transport, long lastUsed) {
    }

    private final String protocol;
    private final String host;
    private final int port;
    private final String username;
    private final String password;
    private final Semaphore permits;
    private final BlockingDeque<Pooled> idle = new LinkedBlockingDeque<>();

    PooledMailSender(Session session, String protocol, String host, int port, String username, String password,
            int size) {
        super(session);
        this.protocol = protocol;
        this.host = host;
        this.port = port;
        this.username = username;
        this.password = password;
        this.permits = new Semaphore(size, true);
    }

    /** Stands in when no relay is configured (the outbox delivers); never chosen, refuses if used. */
    public static PooledMailSender none() {
        return new PooledMailSender(Session.getInstance(new Properties()), "smtp", null, 0, null, null, 1);
    }

    @Override
    public void send(MimeMessage message) throws MessagingException {
        if (host == null) {
            throw new MessagingException("no SMTP relay is configured (caravan.email.relay)");
        }
        Transport t = borrow();
        boolean ok = false;
        try {
            t.sendMessage(message, message.getAllRecipients());
            ok = true;
        } finally {
            release(t, ok);
        }
    }

    /** Opens (or reuses) a connection and gives it back: the TLS handshake and certificate check happen here. */
    public void check() throws MessagingException {
        release(borrow(), true);
    }

    Transport borrow() throws MessagingException {
        try {
            if (!permits.tryAcquire(60, TimeUnit.SECONDS)) {
                throw new MessagingException("no SMTP connection free within 60 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MessagingException("interrupted waiting for an SMTP connection");
        }
        try {
            Pooled p;
            while ((p = idle.pollFirst()) != null) {
                if (System.nanoTime() - p.lastUsed() < STALE_NANOS || p.transport().isConnected()) {
                    return p.transport();
                }
                closeQuietly(p.transport());
            }
            Transport t = getSession().getTransport(protocol);
            t.connect(host, port, username, password);
            return t;
        } catch (MessagingException | RuntimeException e) {
            permits.release();
            throw e;
        }
    }

    void release(Transport t, boolean reusable) {
        try {
            if (reusable && t.isConnected()) {
                idle.offerFirst(new Pooled(t, System.nanoTime()));
            } else {
                closeQuietly(t);
            }
        } finally {
            permits.release();
        }
    }

    /** Closes every idle connection (stop, or the relay's certificate changed). */
    public void close() {
        Pooled p;
        while ((p = idle.pollFirst()) != null) {
            closeQuietly(p.transport());
        }
    }

    private static void closeQuietly(Transport t) {
        try {
            t.close();
        } catch (MessagingException | RuntimeException e) {
            // already gone
        }
    }

    @Override
    public String getHost() {
        return host;
    }

    @Override
    public int getPort() {
        return port;
    }

    @Override
    public String getUsername() {
        return username;
    }

    @Override
    public String getPassword() {
        return password;
    }

    @Override
    public String getProtocol() {
        return protocol;
    }
}
