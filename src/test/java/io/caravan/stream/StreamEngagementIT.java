package io.caravan.stream;

import static io.caravan.support.HubApi.JSON;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import com.sun.net.httpserver.HttpServer;
import io.caravan.support.Hl7Messages;
import io.caravan.support.HubApi;
import io.caravan.support.Mailboxes;
import io.caravan.support.MllpTestClient;
import io.caravan.support.TestHub;
import jakarta.mail.Multipart;
import jakarta.mail.Part;
import jakarta.mail.internet.MimeMessage;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.http.HttpEntity;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Message status, engagement and contact changes leave the hub on the streams that ask for them, through the event
 * log like trigger events: an email the hub sends through a real SMTP server (GreenMail) is reported sent, then
 * delivered (a delivery status notification in the bounce mailbox), then opened (the reader fetches the pixel) - to a
 * BAA destination with its listed fields only, and to one without a BAA de-identified. A demographics update reaches
 * the BAA destination as a contact change naming only the listed fields.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@DirtiesContext
class StreamEngagementIT {

    static final TestHub HUB = TestHub.named("stream-engagement");
    static final Map<String, Object> VISIT = Map.of("appointmentDate", "2026-12-03", "appointmentTime", "09:30",
            "provider", "Dr Oseifrancis", "clinicPhone", "+1 217 555 0100");
    static final GreenMail MAIL;
    /** The bounce mailbox, a server of its own as a relay's bounce address usually is. */
    static final GreenMail BOUNCES;
    static final Receiver RECEIVER = new Receiver();
    static final Path ADAPTERS;
    static final Pattern PIXEL = Pattern.compile("/t/o/([^\"'\\s<>]+)");

    /** Records every POST body by path; answers 200. */
    static final class Receiver {
        final HttpServer server;
        final List<String[]> received = Collections.synchronizedList(new ArrayList<>());

        Receiver() {
            try {
                server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
            server.createContext("/", x -> {
                byte[] body = x.getRequestBody().readAllBytes();
                received.add(new String[] {x.getRequestURI().getPath(), new String(body, StandardCharsets.UTF_8)});
                x.sendResponseHeaders(200, -1);
                x.close();
            });
            server.start();
        }

        /** The bodies one destination received, parsed, in arrival order. */
        List<JsonNode> at(String path) {
            List<JsonNode> out = new ArrayList<>();
            synchronized (received) {
                for (String[] r : received) {
                    if (r[0].equals(path)) {
                        try {
                            out.add(JSON.readTree(r[1]));
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    }
                }
            }
            return out;
        }

        List<String> raw(String path) {
            synchronized (received) {
                return received.stream().filter(r -> r[0].equals(path)).map(r -> r[1]).toList();
            }
        }
    }

    static {
        try {
            MAIL = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
            MAIL.start();
            BOUNCES = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_IMAP));
            BOUNCES.start();
            BOUNCES.setUser("bounces@caravan.localhost", "bounces", "bounce-secret");
            ADAPTERS = Files.createTempDirectory("caravan-engagement-adapters");
            Files.writeString(ADAPTERS.resolve("mail.yaml"), """
                    id: mail
                    kind: smtp
                    baa: { status: signed }
                    smtp: { host: 127.0.0.1, port: %d, tls: starttls }
                    """.formatted(MAIL.getSmtp().getPort()));
            int port = RECEIVER.server.getAddress().getPort();
            Files.writeString(ADAPTERS.resolve("care-crm.yaml"), """
                    id: care-crm
                    kind: webhook
                    baa: { status: signed, reference: BAA-7, expires: 2099-12-31 }
                    webhook: { url: "http://127.0.0.1:%d/crm", secretEnv: CARAVAN_TEST_SECRET }
                    stream:
                      events: [message.sent, message.delivered, message.opened, contact.changed]
                      purpose: operations
                      fields: [contact.email, event.occurredAt]
                    """.formatted(port));
            Files.writeString(ADAPTERS.resolve("analytics.yaml"), """
                    id: analytics
                    kind: webhook
                    baa: { status: none }
                    webhook: { url: "http://127.0.0.1:%d/analytics", secretEnv: CARAVAN_TEST_SECRET }
                    stream:
                      events: [message.sent, message.delivered, message.opened, message.unsubscribed]
                    """.formatted(port));
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        HUB.register(r);
        r.add("caravan.mapping.adapters-dir", ADAPTERS::toString);
        r.add("caravan.email.relay", () -> "mail");
        r.add("caravan.email.bounces.address", () -> "bounces@caravan.localhost");
        r.add("caravan.email.bounces.enabled", () -> "true");
        r.add("caravan.email.bounces.mailbox", () -> "imap://127.0.0.1:" + BOUNCES.getImap().getPort());
        r.add("caravan.email.bounces.username", () -> "bounces");
        r.add("caravan.email.bounces.password", () -> "bounce-secret");
        r.add("caravan.email.bounces.poll-millis", () -> "300");
        r.add("caravan.event-log.poll-interval", () -> "50ms");
        r.add("caravan.streams.webhook.poll-interval", () -> "50");
        r.add("CARAVAN_TEST_SECRET", () -> "a-webhook-signing-secret-for-tests-only");
    }

    @AfterAll
    static void stop() {
        MAIL.stop();
        BOUNCES.stop();
        RECEIVER.server.stop(0);
    }

    @Autowired
    TestRestTemplate rest;
    @Autowired
    Surrogates surrogates;

    TestRestTemplate integration() {
        return rest.withBasicAuth(TestHub.INTEGRATION, TestHub.USER_PASSWORD);
    }

    JsonNode message(String id) throws Exception {
        return JSON.readTree(integration().getForEntity("/api/messages/{id}", String.class, id).getBody());
    }

    /** The events of one type about one surrogate a destination received. */
    static List<JsonNode> of(List<JsonNode> all, String type, String surrogate) {
        return all.stream().filter(n -> type.equals(n.path("type").asText())
                && surrogate.equals(n.at("/contact/id").asText())).toList();
    }

    @Test
    void anEmailsSentDeliveredAndOpenedGoToTheBaaDestinationListedAndToTheOtherDeidentified() throws Exception {
        UUID id = HubApi.register(HUB, rest, "ENG-1", "Engelbrecht", "Edda", "edda@example.org", "");
        ResponseEntity<String> accepted = HubApi.post(integration(), "/api/messages", Map.of("contactId", id,
                "template", "appointment-reminder", "channel", "email", "purpose", "treatment", "data", VISIT));
        assertThat(accepted.getStatusCode()).as(accepted.getBody()).isEqualTo(HttpStatus.ACCEPTED);
        String messageId = JSON.readTree(accepted.getBody()).get("id").asText();
        await().atMost(Duration.ofSeconds(30)).until(() -> "sent".equals(message(messageId).get("status").asText()));
        String crm = surrogates.surrogate("care-crm", id).toString();
        String analytics = surrogates.surrogate("analytics", id).toString();
        await().atMost(Duration.ofSeconds(30)).until(() -> of(RECEIVER.at("/crm"), "message.sent", crm).size() == 1
                && of(RECEIVER.at("/analytics"), "message.sent", analytics).size() == 1);

        // the receiving server's delivery report (RFC 3464), read from the bounce mailbox
        deliverRaw("bounces@caravan.localhost", dsn("edda@example.org", messageId));
        await().atMost(Duration.ofSeconds(30)).until(
                () -> "delivered".equals(message(messageId).get("status").asText()));

        // the reader opens it, after the prefetch window, in a mail client
        MimeMessage mail = Mailboxes.to(MAIL, "edda@example.org").get(0);
        Matcher pixel = PIXEL.matcher(html(mail));
        assertThat(pixel.find()).as("a tracking pixel in the mail").isTrue();
        Thread.sleep(2_100);
        HttpHeaders ua = new HttpHeaders();
        ua.set(HttpHeaders.USER_AGENT, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Thunderbird/128.0");
        assertThat(rest.exchange("/t/o/" + pixel.group(1), HttpMethod.GET, new HttpEntity<>(ua), byte[].class)
                .getStatusCode()).isEqualTo(HttpStatus.OK);
        await().atMost(Duration.ofSeconds(30)).until(() -> of(RECEIVER.at("/crm"), "message.opened", crm).size() == 1
                && of(RECEIVER.at("/analytics"), "message.opened", analytics).size() == 1);

        List<String> types = List.of("message.sent", "message.delivered", "message.opened");
        List<JsonNode> toCrm = RECEIVER.at("/crm").stream().filter(n -> crm.equals(n.at("/contact/id").asText())
                && n.path("type").asText().startsWith("message.")).toList();
        assertThat(toCrm).extracting(n -> n.get("type").asText()).containsExactlyElementsOf(types);
        for (JsonNode n : toCrm) {
            assertThat(n.get("form").asText()).isEqualTo("baa");
            // the listed fields and nothing else of the contact
            assertThat(n.get("contact").get("email").asText()).isEqualTo("edda@example.org");
            assertThat(n.get("contact").has("name")).isFalse();
            assertThat(n.get("message").get("channel").asText()).isEqualTo("email");
            assertThat(n.get("message").get("template").asText()).isEqualTo("appointment-reminder");
            assertThat(n.get("message").get("ref").asText()).isEqualTo(toCrm.get(0).get("message").get("ref").asText())
                    .isNotEqualTo(messageId);
            assertThat(StreamSchemasTest.schema("message-status.baa.v1.json").validate(n)).isEmpty();
        }
        List<JsonNode> toAnalytics = RECEIVER.at("/analytics").stream()
                .filter(n -> analytics.equals(n.at("/contact/id").asText())).toList();
        assertThat(toAnalytics).extracting(n -> n.get("type").asText()).containsExactlyElementsOf(types);
        for (JsonNode n : toAnalytics) {
            assertThat(n.get("form").asText()).isEqualTo("deidentified");
            assertThat(StreamSchemasTest.schema("message-status.deidentified.v1.json").validate(n)).isEmpty();
            assertThat(n.get("message").get("ref").asText())
                    .isEqualTo(toAnalytics.get(0).get("message").get("ref").asText())
                    .isNotEqualTo(toCrm.get(0).get("message").get("ref").asText());
        }
        for (String body : RECEIVER.raw("/analytics")) {
            assertThat(body).doesNotContain("Engelbrecht", "Edda", "edda@", "ENG-1", messageId, id.toString(),
                    "Springfield", "Main St", "appointment-reminder", "Oseifrancis");
        }
        // the accounting of disclosures names each form that went
        String disclosures = rest.withBasicAuth(TestHub.COMPLIANCE, TestHub.USER_PASSWORD)
                .getForObject("/api/contacts/{id}/disclosures", String.class, id);
        assertThat(disclosures).contains("message.opened event, de-identified (Safe Harbor)",
                "message.delivered event, allow-listed fields under the BAA");
        // the contact's own events are still only what the feed said happened
        JsonNode events = JSON.readTree(rest.withBasicAuth("admin", HUB.adminPassword())
                .getForObject("/api/contacts/{id}/events", String.class, id));
        assertThat(events).extracting(n -> n.get("type").asText()).containsExactly("patient.registered");
    }

    @Test
    void aOneClickUnsubscribeGoesOutOnceAsTheMessagesUnsubscribedEvent() throws Exception {
        UUID id = HubApi.register(HUB, rest, "ENG-3", "Unterberg", "Una", "una@example.org", "");
        HubApi.authorize(rest, id);
        ResponseEntity<String> accepted = HubApi.post(integration(), "/api/messages", Map.of("contactId", id,
                "template", "newsletter", "channel", "email", "purpose", "marketing", "data", Map.of("headline",
                        "Flu shots", "body", "Walk in any weekday.", "link", "https://www.example.org/flu")));
        assertThat(accepted.getStatusCode()).as(accepted.getBody()).isEqualTo(HttpStatus.ACCEPTED);
        String messageId = JSON.readTree(accepted.getBody()).get("id").asText();
        await().atMost(Duration.ofSeconds(30)).until(() -> "sent".equals(message(messageId).get("status").asText()));
        String analytics = surrogates.surrogate("analytics", id).toString();
        await().atMost(Duration.ofSeconds(30)).until(() -> of(RECEIVER.at("/analytics"), "message.sent", analytics)
                .size() == 1);

        // the reader's mail client posts the message's own one-click link, and posts it again
        await().atMost(Duration.ofSeconds(10)).until(() -> !Mailboxes.to(MAIL, "una@example.org").isEmpty());
        String link = Mailboxes.to(MAIL, "una@example.org").get(0).getHeader("List-Unsubscribe")[0];
        String path = link.substring(link.indexOf("/unsubscribe/"), link.indexOf('>'));
        HttpHeaders form = new HttpHeaders();
        form.setContentType(org.springframework.http.MediaType.APPLICATION_FORM_URLENCODED);
        for (int i = 0; i < 2; i++) {
            assertThat(rest.exchange(path, HttpMethod.POST, new HttpEntity<>("List-Unsubscribe=One-Click", form),
                    String.class).getStatusCode()).isEqualTo(HttpStatus.OK);
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> of(RECEIVER.at("/analytics"), "message.unsubscribed",
                analytics).size() == 1);
        Thread.sleep(1_000);
        List<JsonNode> out = of(RECEIVER.at("/analytics"), "message.unsubscribed", analytics);
        assertThat(out).as("once, however often the link was posted").hasSize(1);
        assertThat(out.get(0).get("message").get("ref").asText()).as("the same message as its message.sent")
                .isEqualTo(of(RECEIVER.at("/analytics"), "message.sent", analytics).get(0).get("message").get("ref")
                        .asText());
        assertThat(StreamSchemasTest.schema("message-status.deidentified.v1.json").validate(out.get(0))).isEmpty();
    }

    @Test
    void aDemographicsUpdateReachesTheBaaDestinationAsAChangeOfItsListedFieldsOnly() throws Exception {
        UUID id = HubApi.register(HUB, rest, "ENG-2", "Changeling", "Cora", "cora@example.org", "");
        String crm = surrogates.surrogate("care-crm", id).toString();
        // a new name and a new email; only the email is listed for this destination
        try (MllpTestClient c = new MllpTestClient(HUB.mllpPort)) {
            assertThat(MllpTestClient.msa1(c.exchange(Hl7Messages.adt("A08", Hl7Messages.controlId(), "ENG-2",
                    "Newname", "Cora", "cora.new@example.org", OffsetDateTime.parse("2026-04-01T09:00:00-05:00")),
                    10_000))).isEqualTo("AA");
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> of(RECEIVER.at("/crm"), "contact.changed", crm).stream()
                .anyMatch(n -> "cora.new@example.org".equals(n.at("/contact/email").asText())));
        JsonNode change = of(RECEIVER.at("/crm"), "contact.changed", crm).stream()
                .filter(n -> "cora.new@example.org".equals(n.at("/contact/email").asText())).findFirst().orElseThrow();
        assertThat(change.get("form").asText()).isEqualTo("baa");
        assertThat(change.get("changed")).extracting(JsonNode::asText).containsExactly("email");
        assertThat(change.toString()).doesNotContain("Newname", "Changeling", "ENG-2", "Springfield", "name");
        assertThat(StreamSchemasTest.schema("contact-changed.baa.v1.json").validate(change)).isEmpty();
        // the workflow engine and the contact's events are untouched by the hub's own entries
        JsonNode events = JSON.readTree(rest.withBasicAuth("admin", HUB.adminPassword())
                .getForObject("/api/contacts/{id}/events", String.class, id));
        assertThat(events).extracting(n -> n.get("type").asText())
                .containsExactly("patient.registered", "patient.updated");
    }

    /** The text/html part of a mail, however deep. */
    static String html(Part p) throws Exception {
        if (p.isMimeType("text/html")) {
            return (String) p.getContent();
        }
        if (p.getContent() instanceof Multipart mp) {
            for (int i = 0; i < mp.getCount(); i++) {
                String h = html(mp.getBodyPart(i));
                if (h != null) {
                    return h;
                }
            }
        }
        return null;
    }

    /** A delivery report (RFC 3464) saying the message reached {@code recipient}. */
    static String dsn(String recipient, String messageId) {
        return """
                From: MAILER-DAEMON@mx.example.org
                To: bounces@caravan.localhost
                Subject: Successful Mail Delivery Report
                MIME-Version: 1.0
                Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

                --b1
                Content-Type: text/plain

                Your message was delivered.
                --b1
                Content-Type: message/delivery-status

                Reporting-MTA: dns; mx.example.org

                Final-Recipient: rfc822; %s
                Action: delivered
                Status: 2.0.0

                --b1
                Content-Type: text/rfc822-headers

                Message-ID: <%s@caravan>
                Subject: A reminder from your care team

                --b1--
                """.formatted(recipient, messageId).replace("\r\n", "\n").replace("\n", "\r\n");
    }

    static void deliverRaw(String to, String raw) throws Exception {
        MimeMessage m = new MimeMessage(jakarta.mail.Session.getInstance(new java.util.Properties()),
                new java.io.ByteArrayInputStream(raw.getBytes(StandardCharsets.US_ASCII)));
        BOUNCES.getUserManager().getUserByEmail(to).deliver(m);
    }
}
