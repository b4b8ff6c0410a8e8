package io.caravan.channel.email.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.caravan.channel.email.TestSmtpServers;
import io.caravan.mapping.AdapterProfile;
import jakarta.mail.Session;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A relay that takes credentials gets them only over TLS whose certificate checked out: subethasmtp servers offering
 * AUTH after STARTTLS, one with a self-signed certificate (anyone could be answering in the relay's place), one with a
 * certificate from the CA the adapter trusts.
 */
class SmtpRelayAuthTest {

    static final Map<String, String> ENV = Map.of("RELAY_USER", "caravan-hub", "RELAY_PASSWORD", "relay-secret");

    static SmtpRelay relay(int port, Path ca) {
        AdapterProfile a = new AdapterProfile();
        a.id = "auth-relay";
        a.kind = "smtp";
        a.smtp = new AdapterProfile.Smtp();
        a.smtp.host = "localhost";
        a.smtp.port = port;
        a.smtp.trustCertificates = ca.toString();
        a.smtp.usernameEnv = "RELAY_USER";
        a.smtp.passwordEnv = "RELAY_PASSWORD";
        a.smtp.connections = 1;
        return SmtpRelay.from(a, "bounces@caravan.localhost", Clock.systemUTC(), ENV::get);
    }

    static MimeMessage notice() throws Exception {
        MimeMessage m = new MimeMessage(Session.getInstance(new Properties()));
        m.setFrom(new InternetAddress("no-reply@caravan.localhost"));
        m.setRecipient(MimeMessage.RecipientType.TO, new InternetAddress("reader@example.org"));
        m.setSubject("A message is waiting for you");
        m.setText("Open the link to read it.");
        m.saveChanges();
        return m;
    }

    @Test
    void credentialsAreNeverSentOverTlsThatDidNotVerifyEvenForPhiFreeMail(@TempDir Path dir) throws Exception {
        Path ca = TestSmtpServers.caAndServer(dir);
        try (TestSmtpServers.StartTls selfSigned = new TestSmtpServers.StartTls(
                TestSmtpServers.tls(dir.resolve("selfsigned.p12")), true);
                TestSmtpServers.StartTls trusted = new TestSmtpServers.StartTls(
                        TestSmtpServers.tls(dir.resolve("server.p12")), true)) {
            SmtpRelay impostor = relay(selfSigned.port(), ca);
            try {
                assertThat(impostor.tls("reader@example.org")).isEqualTo(SmtpDelivery.Tls.UNAVAILABLE);
                assertThat(impostor.credentialsNeedVerifiedTls()).isTrue();
                // the opportunistic connection (PHI-free content) would take any certificate: not with credentials
                assertThatThrownBy(() -> impostor.opportunistic().send(notice()))
                        .satisfies(e -> assertThat(SmtpRelay.isTlsFailure(e)).isTrue());
                assertThat(selfSigned.logins).as("AUTH over an unverified connection").isEmpty();
                assertThat(selfSigned.received).isEmpty();
            } finally {
                impostor.close();
            }

            // the same adapter against a relay that proves its name: credentials go, over verified TLS
            SmtpRelay genuine = relay(trusted.port(), ca);
            try {
                genuine.opportunistic().send(notice());
                assertThat(trusted.logins).containsExactly("caravan-hub");
                assertThat(trusted.received).hasSize(1);
            } finally {
                genuine.close();
            }
        }
    }
}
