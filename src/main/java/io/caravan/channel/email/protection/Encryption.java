package io.caravan.channel.email.protection;

import io.caravan.channel.email.transport.MailProviders;
import jakarta.activation.DataHandler;
import jakarta.mail.MessagingException;
import jakarta.mail.internet.MimeBodyPart;
import jakarta.mail.internet.MimeMultipart;
import jakarta.mail.util.ByteArrayDataSource;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.Security;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.util.Date;
import org.bouncycastle.bcpg.ArmoredOutputStream;
import org.bouncycastle.bcpg.SymmetricKeyAlgorithmTags;
import org.bouncycastle.cms.CMSAlgorithm;
import org.bouncycastle.cms.CMSException;
import org.bouncycastle.cms.RecipientInfoGenerator;
import org.bouncycastle.cms.jcajce.JceCMSContentEncryptorBuilder;
import org.bouncycastle.cms.jcajce.JceKeyAgreeRecipientInfoGenerator;
import org.bouncycastle.cms.jcajce.JceKeyTransRecipientInfoGenerator;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.mail.smime.SMIMEAuthEnvelopedGenerator;
import org.bouncycastle.mail.smime.SMIMEEnvelopedGenerator;
import org.bouncycastle.mail.smime.SMIMEException;
import org.bouncycastle.openpgp.PGPEncryptedDataGenerator;
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.PGPLiteralData;
import org.bouncycastle.openpgp.PGPLiteralDataGenerator;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.bouncycastle.openpgp.operator.jcajce.JcePGPDataEncryptorBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcePublicKeyKeyEncryptionMethodGenerator;

/**
 * End-to-end encryption of a message body for one recipient, as their own mail client reads it: S/MIME (RFC 8551;
 * AES-256-GCM AuthEnvelopedData by default, AES-256-CBC EnvelopedData for old clients) and PGP/MIME (RFC 3156;
 * AES-256 with an integrity packet, armoured with a CRC, which gpg 2.2 insists on). Stateless and thread-safe.
 */
public final class Encryption {

    static {
        MailProviders.ensure();
        if (Security.getProvider(BouncyCastleProvider.PROVIDER_NAME) == null) {
            Security.addProvider(new BouncyCastleProvider());
        }
    }

    private static final SecureRandom RANDOM = new SecureRandom();

    private Encryption() {
    }

    /** The body part, enveloped for the certificate's holder: an {@code application/pkcs7-mime} part. */
    public static MimeBodyPart smime(MimeBodyPart content, X509Certificate recipient, boolean gcm)
            throws MessagingException {
        try {
            RecipientInfoGenerator info = recipient.getPublicKey() instanceof ECPublicKey ec ? ecdh(recipient, ec)
                    : new JceKeyTransRecipientInfoGenerator(recipient).setProvider(BouncyCastleProvider.PROVIDER_NAME);
            if (gcm) {
                SMIMEAuthEnvelopedGenerator gen = new SMIMEAuthEnvelopedGenerator();
                gen.addRecipientInfoGenerator(info);
                return gen.generate(content, new JceCMSContentEncryptorBuilder(CMSAlgorithm.AES256_GCM)
                        .setProvider(BouncyCastleProvider.PROVIDER_NAME).build());
            }
            SMIMEEnvelopedGenerator gen = new SMIMEEnvelopedGenerator();
            gen.addRecipientInfoGenerator(info);
            return gen.generate(content, new JceCMSContentEncryptorBuilder(CMSAlgorithm.AES256_CBC)
                    .setProvider(BouncyCastleProvider.PROVIDER_NAME).build());
        } catch (GeneralSecurityException | CMSException | SMIMEException e) {
            throw new MessagingException("S/MIME encryption failed", e);
        }
    }

    /**
     * An EC recipient: ephemeral-static ECDH (RFC 5753) with a fresh key on the recipient's curve for every message,
     * the content key wrapped with AES-256 - what {@code openssl cms} and mail clients read for EC certificates.
     */
    private static RecipientInfoGenerator ecdh(X509Certificate recipient, ECPublicKey ec)
            throws GeneralSecurityException, CMSException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC", BouncyCastleProvider.PROVIDER_NAME);
        g.initialize(ec.getParams(), RANDOM);
        KeyPair ephemeral = g.generateKeyPair();
        return new JceKeyAgreeRecipientInfoGenerator(CMSAlgorithm.ECDH_SHA256KDF, ephemeral.getPrivate(),
                ephemeral.getPublic(), CMSAlgorithm.AES256_WRAP).addRecipient(recipient)
                .setProvider(BouncyCastleProvider.PROVIDER_NAME);
    }

    /**
     * The body part encrypted to the OpenPGP key, as PGP/MIME: {@code multipart/encrypted} with the version part and
     * the armoured data (CRLF line ends inside MIME).
     */
    public static MimeMultipart pgp(MimeBodyPart content, PGPPublicKey recipient) throws MessagingException {
        try {
            ByteArrayOutputStream clear = new ByteArrayOutputStream();
            content.writeTo(clear);
            byte[] armoured = pgpArmoured(clear.toByteArray(), recipient);
            MimeMultipart mp = new MimeMultipart("encrypted; protocol=\"application/pgp-encrypted\"");
            MimeBodyPart version = new MimeBodyPart();
            version.setDataHandler(new DataHandler(new ByteArrayDataSource("Version: 1\r\n",
                    "application/pgp-encrypted")));
            version.setHeader("Content-Type", "application/pgp-encrypted");
            version.setHeader("Content-Description", "PGP/MIME version identification");
            MimeBodyPart data = new MimeBodyPart();
            byte[] crlf = new String(armoured, StandardCharsets.US_ASCII).replace("\r\n", "\n").replace("\n", "\r\n")
                    .getBytes(StandardCharsets.US_ASCII);
            data.setDataHandler(new DataHandler(new ByteArrayDataSource(crlf, "application/octet-stream")));
            data.setHeader("Content-Type", "application/octet-stream; name=\"encrypted.asc\"");
            // armour is 7-bit ASCII: no second (base64) encoding on top of it
            data.setHeader("Content-Transfer-Encoding", "7bit");
            data.setHeader("Content-Disposition", "inline; filename=\"encrypted.asc\"");
            data.setHeader("Content-Description", "OpenPGP encrypted message");
            mp.addBodyPart(version);
            mp.addBodyPart(data);
            return mp;
        } catch (IOException | PGPException e) {
            throw new MessagingException("OpenPGP encryption failed", e);
        }
    }

    static byte[] pgpArmoured(byte[] clear, PGPPublicKey recipient) throws IOException, PGPException {
        PGPEncryptedDataGenerator gen = new PGPEncryptedDataGenerator(
                new JcePGPDataEncryptorBuilder(SymmetricKeyAlgorithmTags.AES_256).setWithIntegrityPacket(true)
                        .setSecureRandom(RANDOM).setProvider(BouncyCastleProvider.PROVIDER_NAME));
        gen.addMethod(new JcePublicKeyKeyEncryptionMethodGenerator(recipient)
                .setProvider(BouncyCastleProvider.PROVIDER_NAME));
        ByteArrayOutputStream out = new ByteArrayOutputStream(clear.length + 1024);
        try (ArmoredOutputStream armour = ArmoredOutputStream.builder().enableCRC(true).build(out)) {
            try (OutputStream enc = gen.open(armour, new byte[1 << 14])) {
                PGPLiteralDataGenerator lit = new PGPLiteralDataGenerator();
                try (OutputStream literal = lit.open(enc, PGPLiteralData.BINARY, "", clear.length, new Date())) {
                    literal.write(clear);
                }
            }
        }
        return out.toByteArray();
    }
}
