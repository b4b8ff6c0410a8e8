package io.caravan.channel.email.transport;

import jakarta.mail.MessagingException;
import org.apache.camel.component.mail.JavaMailSender;

/**
 * Where email leaves the hub over SMTP: a relay ({@link SmtpRelay}) or the recipients' own servers
 * ({@link DirectDelivery}). Either says, before a message is built, whether enforced TLS is possible for a recipient,
 * and offers camel-mail two senders: one that only ever uses verified TLS, one that uses TLS when offered.
 */
public interface SmtpDelivery {

    /** What the verified connection offers now. */
    enum Tls {
        /** STARTTLS (or implicit TLS) with a valid certificate for the host. */
        VERIFIED,
        /** The server answers but cannot prove TLS (not offered, or a certificate that does not check out). */
        UNAVAILABLE
    }

    /**
     * Whether verified TLS is possible for this recipient now. A server that cannot be reached at all (or a published
     * MTA-STS policy that no server satisfies) is thrown: the message waits for a retry.
     */
    Tls tls(String address) throws MessagingException;

    /** A verified connection protects the message all the way to the recipient's server. */
    boolean onwardTlsGuaranteed();

    /**
     * The server takes credentials, so even the opportunistic connection must verify TLS before AUTH: a failure to
     * verify is then the server's, not the content's.
     */
    default boolean credentialsNeedVerifiedTls() {
        return false;
    }

    /**
     * Where a message to {@code address} goes, as a key for counting the sends under way there: the recipient's
     * domain, or (direct delivery, once known) the MX host it is delivered to - which many domains may share.
     */
    default String destination(String address) {
        return domainOf(address);
    }

    /** The domain of an email address, in lower case. */
    static String domainOf(String address) {
        return address.substring(address.lastIndexOf('@') + 1).toLowerCase(java.util.Locale.ROOT);
    }

    JavaMailSender verified();

    JavaMailSender opportunistic();

    /** A verified send failed on TLS: forget what was known so the next message checks again. */
    void forget();

    void close();
}
