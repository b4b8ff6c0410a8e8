package io.caravan.channel.sms;

import io.caravan.mapping.AdapterProfile;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The SMSC of {@code adapters/<id>.yaml} ({@code kind: smpp}) as camel-smpp reaches it: the endpoint URI (a
 * transceiver bind whose receipts and MO texts go to the route {@code sms-inbound}), the contracted throughput as a
 * pacing of submits, and the texts the adapter answers keywords with.
 */
public final class Smsc {

    /** The route the bind hands deliver_sm PDUs (receipts, MO texts) to on a transceiver bind. */
    static final String INBOUND_ROUTE = "sms-inbound";

    private final AdapterProfile adapter;
    private final AdapterProfile.Smpp smpp;
    private final String password;
    private final long intervalNanos;
    private long nextSlot = System.nanoTime();

    Smsc(AdapterProfile adapter, String password) {
        this.adapter = adapter;
        this.smpp = adapter.smpp;
        this.password = password;
        this.intervalNanos = TimeUnit.SECONDS.toNanos(1) / smpp.throughput;
    }

    public String id() {
        return adapter.id;
    }

    public AdapterProfile.Smpp settings() {
        return smpp;
    }

    public String baaStatus() {
        return adapter.baa.status;
    }

    /**
     * The camel-smpp endpoint: where to bind and how, and the submit_sm settings. {@link SmscLink} keeps the bind
     * open; camel-smpp's producer is not used (it binds on the first submit only).
     */
    public String endpointUri() {
        StringBuilder u = new StringBuilder(smpp.tls ? "smpps://" : "smpp://").append(enc(smpp.systemId)).append('@')
                .append(smpp.host).append(':').append(smpp.port)
                .append("?registeredDelivery=1&destAddrTon=1&destAddrNpi=1")
                .append("&sourceAddr=").append(enc(smpp.sourceAddress))
                .append("&sourceAddrTon=").append(smpp.sourceTon).append("&sourceAddrNpi=").append(smpp.sourceNpi)
                .append("&enquireLinkTimer=").append(smpp.enquireLinkSeconds * 1000L)
                .append("&transactionTimer=10000")
                .append("&usingSSL=").append(smpp.tls);
        if (smpp.systemType != null && !smpp.systemType.isEmpty()) {
            u.append("&systemType=").append(enc(smpp.systemType));
        }
        if (password != null) {
            u.append("&password=RAW(").append(password).append(')');
        }
        return u.toString();
    }

    /** Waits for the next submit slot under the adapter's throughput (messages per second). */
    public void pace() {
        long wait;
        synchronized (this) {
            long now = System.nanoTime();
            long slot = Math.max(nextSlot, now);
            nextSlot = slot + intervalNanos;
            wait = slot - now;
        }
        if (wait > 0) {
            LockSupport.parkNanos(wait);
        }
    }

    public int window() {
        return smpp.windowSize;
    }

    Duration reconnectFirst() {
        // 0 would retry a refusing SMSC in a tight loop
        return Duration.ofSeconds(Math.max(1, smpp.reconnectSeconds));
    }

    Duration reconnectMax() {
        return Duration.ofSeconds(Math.max(smpp.reconnectMaxSeconds, Math.max(1, smpp.reconnectSeconds)));
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
