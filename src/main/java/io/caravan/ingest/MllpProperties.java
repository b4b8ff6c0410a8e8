package io.caravan.ingest;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotEmpty;
import java.time.Duration;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/**
 * The HL7 v2 MLLP listener.
 *
 * @param host                bind address
 * @param port                TCP port (BRIEF: 2575)
 * @param maxConnections      concurrent connections served, one thread each; when all are taken a new connection
 *                            replaces the one that has gone longest without completing a frame (a stalled one first)
 * @param maxFrameBytes       largest message accepted; a larger frame closes the connection
 * @param idleTimeout         a connection silent this long is closed
 * @param frameTimeout        a frame not complete this long after its first byte is dropped and the connection closed
 * @param ackTimeout          longest wait for the store before answering AE
 * @param acceptedVersions    MSH-12 versions understood (parsed into the 2.5.1 model); others are answered AR
 * @param acceptedProcessingIds MSH-11 values accepted (P production; add T for a training feed)
 * @param charset             character set of the feed when MSH-18 does not say
 * @param tls                 MLLP over TLS
 * @param maxConnectionsPerSource connections one address may hold (default: max-connections); beyond it, that
 *                            address's own stalest connection gives way, so one host cannot take every slot
 * @param memoryBudget        bytes all connections together may hold for frames; a frame that needs more is refused
 *                            (connection closed, no ACK: the sender resends)
 * @param requireKnownSender  refuse (AR) messages whose MSH-3/MSH-4 match no adapter, and connections from addresses
 *                            no adapter allows when every MLLP adapter lists its sources
 */
@Validated
@ConfigurationProperties("caravan.mllp")
public record MllpProperties(
        String host,
        @Min(0) @Max(65535) int port,
        @Min(1) @Max(10_000) int maxConnections,
        @Min(1024) int maxFrameBytes,
        Duration idleTimeout,
        Duration frameTimeout,
        Duration ackTimeout,
        @NotEmpty List<String> acceptedVersions,
        @NotEmpty List<String> acceptedProcessingIds,
        String charset,
        Tls tls,
        org.springframework.util.unit.DataSize memoryBudget,
        boolean requireKnownSender,
        @Min(0) int maxConnectionsPerSource) {

    public MllpProperties {
        host = host == null ? "0.0.0.0" : host;
        maxConnections = maxConnections == 0 ? 128 : maxConnections;
        maxFrameBytes = maxFrameBytes == 0 ? 8 * 1024 * 1024 : maxFrameBytes;
        idleTimeout = idleTimeout == null ? Duration.ofMinutes(10) : idleTimeout;
        frameTimeout = frameTimeout == null ? Duration.ofSeconds(30) : frameTimeout;
        ackTimeout = ackTimeout == null ? Duration.ofSeconds(30) : ackTimeout;
        acceptedVersions = acceptedVersions == null
                ? List.of("2.1", "2.2", "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1",
                        "2.8.2")
                : acceptedVersions;
        acceptedProcessingIds = acceptedProcessingIds == null ? List.of("P") : acceptedProcessingIds;
        charset = charset == null ? "UTF-8" : charset;
        tls = tls == null ? new Tls(false, null, null, null, false) : tls;
        // off by default: an interface engine may open many connections from one address
        maxConnectionsPerSource = maxConnectionsPerSource == 0 ? maxConnections : maxConnectionsPerSource;
        memoryBudget = memoryBudget == null ? org.springframework.util.unit.DataSize.ofMegabytes(64) : memoryBudget;
    }

    /**
     * @param enabled          serve MLLP over TLS instead of plain TCP
     * @param keystore         PKCS#12 file with the listener's key and certificate
     * @param passwordEnv      environment variable holding the keystore password
     * @param truststore       PKCS#12 file of CAs whose client certificates are accepted (with clientAuth)
     * @param clientAuth       require a client certificate
     */
    public record Tls(boolean enabled, String keystore, String passwordEnv, String truststore, boolean clientAuth) {
    }
}
