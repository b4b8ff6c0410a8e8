package io.caravan.channel.email.protection;

import io.caravan.channel.email.transport.MailProviders;
import jakarta.mail.MessagingException;
import jakarta.mail.internet.MimeMessage;
import java.security.interfaces.RSAPrivateKey;
import java.util.Base64;
import org.simplejavamail.utils.mail.dkim.Canonicalization;
import org.simplejavamail.utils.mail.dkim.DkimMessage;
import org.simplejavamail.utils.mail.dkim.DkimSigner;
import org.simplejavamail.utils.mail.dkim.SigningAlgorithm;

/**
 * DKIM signatures (RFC 6376, rsa-sha256, relaxed/relaxed) over the standard headers plus RFC 8058's
 * {@code List-Unsubscribe-Post}, so a marketing message's one-click unsubscribe cannot be altered in transit. The
 * library's signer is not thread-safe: one per message (the RSA key is parsed once, here).
 */
public final class Dkim {

    static {
        MailProviders.ensure();
    }

    /** No signature: the relay signs for the domain. */
    public static final Dkim NONE = new Dkim(null, null, null);

    private final String domain;
    private final String selector;
    private final RSAPrivateKey key;

    public Dkim(String domain, String selector, RSAPrivateKey key) {
        this.domain = domain;
        this.selector = selector;
        this.key = key;
    }

    /**
     * The message, signed as it will be written. Call {@code saveChanges()} on it first: afterwards nothing may
     * change what is signed (a stable Message-ID needs a message class that keeps it, see {@link StableMessage}).
     */
    public MimeMessage sign(MimeMessage message) throws MessagingException {
        if (key == null) {
            return message;
        }
        DkimSigner signer = new DkimSigner(domain, selector, key);
        signer.setSigningAlgorithm(SigningAlgorithm.SHA256_WITH_RSA);
        signer.setHeaderCanonicalization(Canonicalization.RELAXED);
        signer.setBodyCanonicalization(Canonicalization.RELAXED);
        // no DNS look-up of our own key at signing time; the TXT record is published by the operator
        signer.setCheckDomainKey(false);
        signer.addHeaderToSign("List-Unsubscribe-Post");
        return new DkimMessage(message, signer);
    }

    /** The DNS TXT record to publish at {@code <selector>._domainkey.<domain>}. */
    public static String txtRecord(java.security.interfaces.RSAPublicKey publicKey) {
        return "v=DKIM1; k=rsa; p=" + Base64.getEncoder().encodeToString(publicKey.getEncoded());
    }

    /** A message whose Message-ID is set once and survives {@code saveChanges()}: retries never duplicate. */
    public static final class StableMessage extends MimeMessage {
        private final String messageId;

        public StableMessage(jakarta.mail.Session session, String messageId) {
            super(session);
            this.messageId = messageId;
        }

        @Override
        protected void updateMessageID() throws MessagingException {
            setHeader("Message-ID", messageId);
        }
    }
}
