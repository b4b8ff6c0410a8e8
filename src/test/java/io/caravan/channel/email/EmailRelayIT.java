package io.caravan.channel.email;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import io.caravan.channel.email.protection.Dkim;
import io.caravan.channel.email.protection.Protection;
import io.caravan.channel.email.transport.SmtpRelay;
import io.caravan.support.HubApi;
import io.caravan.support.Mailboxes;
import io.caravan.support.TestHub;
import jakarta.mail.internet.MimeMessage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Delivery through an SMTP relay (adapters/*.yaml, kind smtp) with real servers behind it: a STARTTLS server with a
 * certificate from a CA the adapter trusts, the same with a self-signed certificate, GreenMail without STARTTLS, and a
 * connection dropped in the middle of DATA. In each case the right choice - deliver over verified TLS, fall back to
 * the portal, defer and retry, bounce, or drop per policy - and never clear PHI on the wire.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@DirtiesContext
class EmailRelayIT {

    static final TestHub HUB = TestHub.named("relay");
    static final Map<String, Object> VISIT = Map.of("appointmentDate", "2026-12-03", "appointmentTime", "09:30",
            "provider", "Dr Oseifrancis", "clinicPhone", "+1 217 555 0100");
    static final String PHI = "Oseifrancis";
    static final Path CERTS;
    static final SmtpSwitchboard SWITCHBOARD;
    static final TestSmtpServers.StartTls TRUSTED;
    static final TestSmtpServers.StartTls SELF_SIGNED;
    static final GreenMail PLAIN;
    static final Path ADAPTERS;

    static {
        try {
            CERTS = Files.createTempDirectory("caravan-relay-certs");
            Path ca = TestSmtpServers.caAndServer(CERTS);
            TRUSTED = new TestSmtpServers.StartTls(TestSmtpServers.tls(CERTS.resolve("server.p12")));
            SELF_SIGNED = new TestSmtpServers.StartTls(TestSmtpServers.tls(CERTS.resolve("selfsigned.p12")));
            PLAIN = new GreenMail(new ServerSetup[] {new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP),
                    new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_IMAP)});
            PLAIN.start();
            PLAIN.setUser("bounces@caravan.localhost", "bounces", "bounce-secret");
            SWITCHBOARD = new SmtpSwitchboard();
            ADAPTERS = Files.createTempDirectory("caravan-relay-adapters");
            // the relay's contract guarantees onward TLS: a verified connection to it counts as enforced TLS
            Files.writeString(ADAPTERS.resolve("test-relay.yaml"), """
                    id: test-relay
                    name: Test relay
                    kind: smtp
                    baa:
                      status: signed
                    smtp:
                      host: localhost
                      port: %d
                      tls: starttls
                      trustCertificates: %s
                      onwardTls: guaranteed
                      connections: 4
                    """.formatted(SWITCHBOARD.port(), ca));
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        HUB.register(r);
        r.add("caravan.mapping.adapters-dir", ADAPTERS::toString);
        r.add("caravan.email.relay", () -> "test-relay");
        r.add("caravan.email.retry.backoff", () -> "1s,1s,1s");
        r.add("caravan.email.protection.marketing.tls-exclusive", () -> "true");
        r.add("caravan.email.bounces.address", () -> "bounces@caravan.localhost");
        r.add("caravan.email.bounces.enabled", () -> "true");
        r.add("caravan.email.bounces.mailbox", () -> "imap://127.0.0.1:" + PLAIN.getImap().getPort());
        r.add("caravan.email.bounces.username", () -> "bounces");
        r.add("caravan.email.bounces.password", () -> "bounce-secret");
        r.add("caravan.email.bounces.poll-millis", () -> "500");
    }

    @AfterAll
    static void stop() throws Exception {
        TRUSTED.close();
        SELF_SIGNED.close();
        PLAIN.stop();
        SWITCHBOARD.close();
    }

    @Autowired
    TestRestTemplate rest;
    @Autowired
    SmtpRelay relay;

    EmailApi api;

    @BeforeEach
    void reset() {
        api = new EmailApi(rest);
    }

    /** Points the relay address at another server; the hub's pooled connections and TLS knowledge start afresh. */
    void relayIs(int port) {
        SWITCHBOARD.connectTo(port);
        relay.close();
        relay.forget();
    }

    UUID patient(String mrn, String email) throws Exception {
        return HubApi.register(HUB, rest, mrn, "Quenby", "Marisol", email, "");
    }

    @Test
    void aRelayProvingStartTlsWithAValidCertificateCarriesPhiAsEnforcedTls(@TempDir Path dir) throws Exception {
        relayIs(TRUSTED.port());
        UUID id = patient("RELAY-1", "tls.reader@example.org");
        JsonNode m = api.sendAndSettle(id, "appointment-reminder", "treatment", VISIT);
        assertThat(m.get("status").asText()).as(m.toString()).isEqualTo("sent");
        assertThat(m.get("protection").asText()).isEqualTo("tls");
        TestSmtpServers.Received r = TRUSTED.received.stream().filter(x -> x.to().equals("tls.reader@example.org"))
                .findFirst().orElseThrow();
        assertThat(r.text()).contains("X-Caravan-Protection: tls").contains(PHI)
                .contains("Message-ID: <" + m.get("id").asText() + "@caravan>");
        assertThat(SWITCHBOARD.wire()).as("PHI only inside TLS").contains("STARTTLS").doesNotContain(PHI);
        // DKIM still verifies after the relay hop
        Path f = dir.resolve("tls.eml");
        Files.write(f, r.data());
        String txt = Dkim.txtRecord(EmailConfig.publicKey(EmailConfig.read(HUB.dataDir.resolve("keys/dkim.pem"))));
        assertThat(RecipientTools.dkimVerify(dir, f, "caravan", "caravan.localhost", txt)).isEqualTo("pass");

        // several messages reuse the pooled connections: far fewer TLS handshakes than messages
        UUID other = patient("RELAY-1B", "tls.many@example.org");
        for (int i = 0; i < 12; i++) {
            api.send(TestHub.INTEGRATION, other, "appointment-reminder", "treatment", VISIT);
        }
        Awaitility.await().dontCatchUncaughtExceptions().atMost(Duration.ofSeconds(30)).until(() -> TRUSTED.received.stream()
                .filter(x -> x.to().equals("tls.many@example.org")).count() == 12);
        int handshakes = SWITCHBOARD.wire().split("STARTTLS", -1).length - 1;
        assertThat(handshakes).as("connections opened for 12 messages").isLessThanOrEqualTo(4);
    }

    @Test
    void aSelfSignedCertificateIsNotTrustedSoPhiGoesToThePortalAndTlsExclusiveMarketingIsDropped() throws Exception {
        relayIs(SELF_SIGNED.port());
        UUID id = patient("RELAY-2", "selfsigned.reader@example.org");
        JsonNode m = api.sendAndSettle(id, "appointment-reminder", "treatment", VISIT);
        assertThat(m.get("status").asText()).as(m.toString()).isEqualTo("sent");
        assertThat(m.get("protection").asText()).isEqualTo("portal");
        TestSmtpServers.Received notice = SELF_SIGNED.received.stream()
                .filter(x -> x.to().equals("selfsigned.reader@example.org")).findFirst().orElseThrow();
        assertThat(notice.text()).contains("X-Caravan-Protection: portal").contains("/portal/").doesNotContain(PHI);
        assertThat(SWITCHBOARD.wire()).doesNotContain(PHI);

        HubApi.authorize(rest, id);
        JsonNode news = api.sendAndSettle(id, "newsletter", "marketing", Map.of("headline", "Flu shots", "body",
                "Walk in.", "link", "https://www.example.org/flu"));
        assertThat(news.get("status").asText()).as(news.toString()).isEqualTo("blocked");
        assertThat(news.get("reasons").toString()).contains("tls-unavailable");
    }

    @Test
    void aRelayWithoutStartTlsGetsOnlyThePortalNoticeNeverThePhi() throws Exception {
        relayIs(PLAIN.getSmtp().getPort());
        UUID id = patient("RELAY-3", "plain.reader@example.org");
        JsonNode m = api.sendAndSettle(id, "appointment-reminder", "treatment", VISIT);
        assertThat(m.get("protection").asText()).as(m.toString()).isEqualTo("portal");
        Awaitility.await().dontCatchUncaughtExceptions().atMost(Duration.ofSeconds(10)).until(() -> received("plain.reader@example.org").size() == 1);
        String wire = SWITCHBOARD.wire();
        assertThat(wire).as("the notice went in clear, so the wire shows it").contains("/portal/").doesNotContain(PHI)
                .doesNotContain("2026-12-03");
    }

    @Test
    void aConnectionDroppedMidDataIsRetriedWithTheSameMessageIdAndArrivesOnce() throws Exception {
        relayIs(PLAIN.getSmtp().getPort());
        SWITCHBOARD.cutDuringData(1);
        UUID id = patient("RELAY-4", "dropped.reader@example.org");
        JsonNode first = api.settled(api.send(TestHub.INTEGRATION, id, "appointment-reminder-notice", "treatment",
                Map.of("clinicPhone", "+1 217 555 0100")), Set.of("planned"));
        assertThat(first.get("status").asText()).as(first.toString()).isEqualTo("deferred");
        assertThat(first.get("reasons").toString()).contains("connection");
        JsonNode sent = api.until(first.get("id").asText(), Set.of("deferred", "planned"));
        assertThat(sent.get("status").asText()).as(sent.toString()).isEqualTo("sent");
        Thread.sleep(500);
        List<MimeMessage> got = received("dropped.reader@example.org");
        assertThat(got).hasSize(1);
        assertThat(got.get(0).getMessageID()).isEqualTo("<" + sent.get("id").asText() + "@caravan>");
    }

    @Test
    void a4xxDefersWithBackoffAndA5xxRefusingTheMailboxBouncesAndSuppressesTheAddress() throws Exception {
        relayIs(TRUSTED.port());
        TRUSTED.verdict = r -> r.to().equals("busy@example.org") && TRUSTED.tries.get(r.to()) == 1 ? 451 : 0;
        TRUSTED.rcptTo = t -> t.equals("gone@example.org")
                ? "550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown" : null;
        try {
            UUID busy = patient("RELAY-5", "busy@example.org");
            JsonNode deferred = api.settled(api.send(TestHub.INTEGRATION, busy, "appointment-reminder", "treatment",
                    VISIT), Set.of("planned"));
            assertThat(deferred.get("status").asText()).as(deferred.toString()).isEqualTo("deferred");
            assertThat(deferred.get("reasons").toString()).contains("smtp:451");
            JsonNode later = api.until(deferred.get("id").asText(), Set.of("deferred", "planned"));
            assertThat(later.get("status").asText()).isEqualTo("sent");

            UUID gone = patient("RELAY-6", "gone@example.org");
            JsonNode bounced = api.sendAndSettle(gone, "appointment-reminder", "treatment", VISIT);
            assertThat(bounced.get("status").asText()).as(bounced.toString()).isEqualTo("bounced");
            assertThat(bounced.get("reasons").toString()).contains("smtp:550");
            JsonNode next = api.sendAndSettle(gone, "appointment-reminder", "treatment", VISIT);
            assertThat(next.get("status").asText()).isEqualTo("blocked");
            assertThat(next.get("reasons").toString()).contains("address-suppressed");
            assertThat(TRUSTED.tries.get("gone@example.org")).as("nothing more was offered to the relay").isEqualTo(1);
        } finally {
            TRUSTED.verdict = r -> 0;
            TRUSTED.rcptTo = t -> null;
        }
    }

    @Test
    void relayWideRefusalsDeferTheMessageRaiseAnOperatorErrorAndNeverSuppressTheRecipient() throws Exception {
        relayIs(TRUSTED.port());
        // each refusal once, the way a relay answers while its configuration is wrong, then accepts
        AtomicInteger mailFromRefusals = new AtomicInteger(1);
        TRUSTED.mailFrom = f -> mailFromRefusals.getAndDecrement() > 0
                ? "530 5.7.0 Must issue a STARTTLS command first" : null;
        Map<String, String> rcptRefusals = new java.util.concurrent.ConcurrentHashMap<>(Map.of(
                "wide.two@example.org", "554 5.7.1 <wide.two@example.org>: Relay access denied",
                "wide.three@example.org", "550 relaying denied"));
        TRUSTED.rcptTo = t -> rcptRefusals.remove(t);
        try {
            for (String address : List.of("wide.one@example.org", "wide.two@example.org", "wide.three@example.org")) {
                UUID id = patient("RELAY-W-" + address.substring(5, 8), address);
                JsonNode first = api.settled(api.send(TestHub.INTEGRATION, id, "appointment-reminder", "treatment",
                        VISIT), Set.of("planned"));
                assertThat(first.get("status").asText()).as(address + " " + first).isEqualTo("deferred");
                assertThat(first.get("reasons").toString()).contains("relay-refused");
                JsonNode later = api.until(first.get("id").asText(), Set.of("deferred", "planned"));
                assertThat(later.get("status").asText()).as(later.toString()).isEqualTo("sent");
                JsonNode next = api.sendAndSettle(id, "appointment-reminder", "treatment", VISIT);
                assertThat(next.get("status").asText()).as("not suppressed: " + next).isEqualTo("sent");
            }
            String metrics = rest.withBasicAuth(TestHub.OPERATOR, TestHub.USER_PASSWORD)
                    .getForObject("/actuator/prometheus", String.class);
            assertThat(metrics).containsPattern("caravan_email_relay_refusals_total\\{[^}]*code=\"530\"[^}]*stage=\"mail\"")
                    .containsPattern("caravan_email_relay_refusals_total\\{[^}]*code=\"554\"[^}]*stage=\"rcpt\"")
                    .doesNotContain("wide.");
        } finally {
            TRUSTED.mailFrom = f -> null;
            TRUSTED.rcptTo = t -> null;
        }
    }

    @Test
    void aComplianceOfficerLiftsASuppressionAuditedAndTheAddressGetsMailAgain() throws Exception {
        relayIs(TRUSTED.port());
        AtomicInteger refusals = new AtomicInteger(1);
        TRUSTED.rcptTo = t -> t.equals("lifted@example.org") && refusals.getAndDecrement() > 0
                ? "550 5.1.1 mailbox unavailable" : null;
        try {
            UUID id = patient("RELAY-L", "lifted@example.org");
            assertThat(api.sendAndSettle(id, "appointment-reminder", "treatment", VISIT).get("status").asText())
                    .isEqualTo("bounced");
            assertThat(api.sendAndSettle(id, "appointment-reminder", "treatment", VISIT).get("reasons").toString())
                    .contains("address-suppressed");
            String path = "/api/contacts/{id}/email-suppression";
            for (String user : List.of(TestHub.OPERATOR, TestHub.INTEGRATION)) {
                assertThat(api.as(user).exchange(path, HttpMethod.DELETE, null, String.class, id).getStatusCode())
                        .as(user).isEqualTo(HttpStatus.FORBIDDEN);
            }
            ResponseEntity<String> lifted = api.as(TestHub.COMPLIANCE).exchange(path, HttpMethod.DELETE, null,
                    String.class, id);
            assertThat(lifted.getStatusCode()).as(lifted.getBody()).isEqualTo(HttpStatus.OK);
            assertThat(lifted.getBody()).contains("smtp:550").doesNotContain("lifted@");
            JsonNode again = api.sendAndSettle(id, "appointment-reminder", "treatment", VISIT);
            assertThat(again.get("status").asText()).as(again.toString()).isEqualTo("sent");

            ResponseEntity<String> none = api.as(TestHub.COMPLIANCE).exchange(path, HttpMethod.DELETE, null,
                    String.class, id);
            assertThat(none.getStatusCode()).isEqualTo(HttpStatus.NOT_FOUND);
            assertThat(none.getHeaders().getContentType().toString()).startsWith("application/problem+json");
            assertThat(api.as(TestHub.COMPLIANCE).exchange(path, HttpMethod.DELETE, null, String.class,
                    UUID.randomUUID()).getStatusCode()).isEqualTo(HttpStatus.NOT_FOUND);

            JsonNode trail = HubApi.JSON.readTree(api.as(TestHub.COMPLIANCE).getForObject(
                    "/api/audit?contact={id}&action=email.", String.class, id));
            List<JsonNode> entries = new java.util.ArrayList<>();
            trail.forEach(e -> {
                if (e.get("action").asText().startsWith("email.suppress")) {
                    entries.add(e);
                }
            });
            assertThat(entries).extracting(e -> e.get("action").asText())
                    .containsExactly("email.suppressed", "email.suppression.lifted");
            assertThat(entries.get(1).get("actor").asText()).isEqualTo(TestHub.COMPLIANCE);
            assertThat(trail.toString()).doesNotContain("lifted@");
        } finally {
            TRUSTED.rcptTo = t -> null;
        }
    }

    @Test
    void aDeliveryReportSuppressesOnlyTheRecipientOfAMessageTheHubSent() throws Exception {
        relayIs(TRUSTED.port());
        UUID victim = patient("RELAY-V", "victim@example.org");
        UUID mallory = patient("RELAY-M", "mallory@example.org");
        JsonNode toVictim = api.sendAndSettle(victim, "appointment-reminder", "treatment", VISIT);
        JsonNode toMallory = api.sendAndSettle(mallory, "appointment-reminder", "treatment", VISIT);
        assertThat(toVictim.get("status").asText()).isEqualTo("sent");
        assertThat(toMallory.get("status").asText()).isEqualTo("sent");
        String bounces = "bounces@caravan.localhost";
        // forged: an id of our form the hub never used, naming the victim
        deliverRaw(bounces, dsn("victim@example.org", "Message-ID: <" + UUID.randomUUID() + "@caravan>"));
        // misattributed: a message the hub did send, to someone else, naming the victim
        deliverRaw(bounces, dsn("victim@example.org", "Message-ID: <" + toMallory.get("id").asText() + "@caravan>"));
        // the victim's message id only quoted (References) in the headers of a message that is not ours
        deliverRaw(bounces, dsn("victim@example.org", "Message-ID: <x1@mallory.example>\r\nReferences: <"
                + toVictim.get("id").asText() + "@caravan>"));
        // and a genuine report last: once it took effect the mailbox has been read past the others
        deliverRaw(bounces, dsn("mallory@example.org", "Message-ID: <" + toMallory.get("id").asText() + "@caravan>"));
        JsonNode bounced = api.until(toMallory.get("id").asText(), Set.of("sent"));
        assertThat(bounced.get("status").asText()).isEqualTo("bounced");

        assertThat(api.message(toVictim.get("id").asText()).get("status").asText()).isEqualTo("sent");
        JsonNode next = api.sendAndSettle(victim, "appointment-reminder", "treatment", VISIT);
        assertThat(next.get("status").asText()).as("the victim is not suppressed: " + next).isEqualTo("sent");
        assertThat(api.sendAndSettle(mallory, "appointment-reminder", "treatment", VISIT).get("reasons").toString())
                .as("the genuine report's recipient is").contains("address-suppressed");
    }

    /** A failed-delivery report (RFC 3464) about {@code finalRecipient}, returning the given headers. */
    static String dsn(String finalRecipient, String returnedHeaders) {
        return """
                From: MAILER-DAEMON@mx.example.org
                To: bounces@caravan.localhost
                Subject: Undelivered Mail Returned to Sender
                MIME-Version: 1.0
                Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

                --b1
                Content-Type: text/plain

                Your message could not be delivered.
                --b1
                Content-Type: message/delivery-status

                Reporting-MTA: dns; mx.example.org

                Final-Recipient: rfc822; %s
                Action: failed
                Status: 5.1.1
                Diagnostic-Code: smtp; 550 5.1.1 user unknown

                --b1
                Content-Type: text/rfc822-headers

                %s
                Subject: A reminder from your care team

                --b1--
                """.formatted(finalRecipient, returnedHeaders).replace("\r\n", "\n").replace("\n", "\r\n");
    }

    @Test
    void aDeliveryStatusNotificationInTheBounceMailboxBouncesTheMessageAndSuppressesTheAddress() throws Exception {
        relayIs(TRUSTED.port());
        UUID id = patient("RELAY-7", "later.bounce@example.org");
        JsonNode sent = api.sendAndSettle(id, "appointment-reminder", "treatment", VISIT);
        assertThat(sent.get("status").asText()).isEqualTo("sent");
        String messageId = sent.get("id").asText();
        // what a receiving MTA sends back to the envelope sender, hours later (RFC 3464)
        String dsn = dsn("later.bounce@example.org", "Message-ID: <" + messageId + "@caravan>");
        deliverRaw("bounces@caravan.localhost", dsn);
        JsonNode bounced = api.until(messageId, Set.of("sent"));
        assertThat(bounced.get("status").asText()).isEqualTo("bounced");
        assertThat(bounced.get("reasons").toString()).contains("dsn:5.1.1");
        JsonNode next = api.sendAndSettle(id, "appointment-reminder", "treatment", VISIT);
        assertThat(next.get("reasons").toString()).contains("address-suppressed");
    }

    void deliverRaw(String to, String raw) throws Exception {
        MimeMessage m = new MimeMessage(jakarta.mail.Session.getInstance(new java.util.Properties()),
                new java.io.ByteArrayInputStream(raw.getBytes(StandardCharsets.US_ASCII)));
        PLAIN.getUserManager().getUserByEmail(to).deliver(m);
    }

    List<MimeMessage> received(String to) {
        return Mailboxes.to(PLAIN, to);
    }
}
