package io.caravan.channel.email;

import io.caravan.channel.email.protection.Dkim;
import io.caravan.channel.email.transport.DirectDelivery;
import io.caravan.channel.email.transport.PooledMailSender;
import io.caravan.channel.email.transport.SmtpDelivery;
import io.caravan.channel.email.transport.SmtpRelay;
import io.caravan.consent.DecisionEngine;
import io.caravan.system.HubProperties;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPairGenerator;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.util.Base64;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Email templates (validated against the consent policy's purposes) and the DKIM key, each loaded once. */
@Configuration(proxyBeanMethods = false)
class EmailConfig {

    private static final Logger log = LoggerFactory.getLogger(EmailConfig.class);

    @Bean
    EmailTemplates emailTemplates(EmailProperties props, DecisionEngine engine) {
        return new EmailTemplates(props.templatesDir(), engine.policy().purposes());
    }

    /** The relay named by {@code caravan.email.relay}, from its adapter file; absent: the outbox delivers. */
    @Bean(destroyMethod = "close")
    @org.springframework.boot.autoconfigure.condition.ConditionalOnProperty("caravan.email.relay")
    SmtpRelay smtpRelay(EmailProperties props, io.caravan.mapping.MappingCatalog catalog, java.time.Clock clock) {
        io.caravan.mapping.AdapterProfile a = catalog.adapters().stream().filter(x -> x.id.equals(props.relay()))
                .findFirst().orElseThrow(() -> new IllegalStateException("caravan.email.relay names no adapter "
                        + props.relay() + " in the adapters folder"));
        if (!"smtp".equals(a.kind)) {
            throw new IllegalStateException("caravan.email.relay: adapter " + a.id + " is not of kind smtp");
        }
        if (!java.util.Set.of("signed", "not-applicable").contains(a.baa.status)) {
            // a relay handles messages with PHI (portal notices aside, S/MIME and PGP hide only the body)
            throw new IllegalStateException("caravan.email.relay: adapter " + a.id + " has no signed BAA");
        }
        // a date that is not one refuses the start here; an agreement that ended is the day's ERROR line
        RelayBaa.of(a.id, a.baa.expires).closed(java.time.LocalDate.now(clock.withZone(java.time.ZoneOffset.UTC)));
        SmtpRelay r = SmtpRelay.from(a, props.bounces().address(), clock);
        log.info("Email goes through SMTP relay {} (onward TLS {})", a.id, a.smtp.onwardTls);
        return r;
    }

    /**
     * Direct delivery to each recipient domain's MX hosts, honouring MTA-STS ({@code caravan.email.direct.enabled});
     * the alternative to a relay.
     */
    @Bean(destroyMethod = "close")
    @org.springframework.boot.autoconfigure.condition.ConditionalOnProperty("caravan.email.direct.enabled")
    DirectDelivery directDelivery(EmailProperties props, java.time.Clock clock) {
        if (props.relay() != null) {
            throw new IllegalStateException("caravan.email.relay and caravan.email.direct.enabled exclude each other");
        }
        log.info("Email goes directly to the recipients' MX hosts (MTA-STS honoured)");
        return DirectDelivery.from(props.direct(), props.bounces().address(), clock);
    }

    /** The relay's BAA end date, which the email channel checks before every send (none without a relay). */
    @Bean
    RelayBaa relayBaa(EmailProperties props, io.caravan.mapping.MappingCatalog catalog) {
        if (props.relay() == null) {
            return RelayBaa.NONE;
        }
        return catalog.adapters().stream().filter(x -> x.id.equals(props.relay())).findFirst()
                .map(a -> RelayBaa.of(a.id, a.baa == null ? null : a.baa.expires)).orElse(RelayBaa.NONE);
    }

    /** camel-mail's senders for the route's two smtp endpoints (verified / opportunistic TLS). */
    @Bean
    org.apache.camel.component.mail.JavaMailSender smtpVerified(
            org.springframework.beans.factory.ObjectProvider<SmtpDelivery> delivery) {
        SmtpDelivery d = delivery.getIfAvailable();
        return d == null ? PooledMailSender.none() : d.verified();
    }

    @Bean
    org.apache.camel.component.mail.JavaMailSender smtpOpportunistic(
            org.springframework.beans.factory.ObjectProvider<SmtpDelivery> delivery) {
        SmtpDelivery d = delivery.getIfAvailable();
        return d == null ? PooledMailSender.none() : d.opportunistic();
    }

    /**
     * The DKIM signer. The key file is read once; on the embedded default it is generated on first start (RSA-2048,
     * PKCS#8 PEM, 0600) and the TXT record to publish is logged (a public key: nothing secret in the log).
     */
    @Bean
    Dkim dkim(EmailProperties props, HubProperties hub) {
        EmailProperties.DkimKey d = props.dkim();
        if (!d.on()) {
            log.info("DKIM: not signed by the hub (caravan.email.dkim.enabled is false: the relay signs)");
            return Dkim.NONE;
        }
        Path file = d.keyFile() != null ? d.keyFile() : hub.dataDir().resolve("keys").resolve("dkim.pem");
        try {
            if (!Files.exists(file)) {
                generate(file);
            }
            RSAPrivateKey key = read(file);
            log.info("DKIM: publish at {}._domainkey.{} the TXT record \"{}\"", d.selector(), d.domain(),
                    Dkim.txtRecord(publicKey(key)));
            return new Dkim(d.domain(), d.selector(), key);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or create the DKIM key " + file, e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the DKIM key " + file + " is not an RSA PKCS#8 key", e);
        }
    }

    static RSAPrivateKey read(Path file) throws IOException, GeneralSecurityException {
        String pem = Files.readString(file, StandardCharsets.US_ASCII).replaceAll("-----[A-Z ]+-----", "")
                .replaceAll("\\s", "");
        return (RSAPrivateKey) KeyFactory.getInstance("RSA")
                .generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(pem)));
    }

    static RSAPublicKey publicKey(RSAPrivateKey key) throws GeneralSecurityException {
        RSAPrivateCrtKey crt = (RSAPrivateCrtKey) key;
        return (RSAPublicKey) KeyFactory.getInstance("RSA")
                .generatePublic(new RSAPublicKeySpec(crt.getModulus(), crt.getPublicExponent()));
    }

    private static void generate(Path file) throws IOException, GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        byte[] der = g.generateKeyPair().getPrivate().getEncoded();
        String pem = "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END PRIVATE KEY-----\n";
        Files.createDirectories(file.toAbsolutePath().getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tmp, pem, StandardCharsets.US_ASCII);
        Files.move(tmp, file);
    }
}
