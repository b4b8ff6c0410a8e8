package io.caravan.campaign;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.caravan.channel.Suppressions;
import io.caravan.support.Hl7Messages;
import io.caravan.support.HubApi;
import io.caravan.support.MllpTestClient;
import io.caravan.support.MovableClockConfig;
import io.caravan.support.MutableClock;
import io.caravan.support.TestHub;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.context.annotation.Import;
import org.springframework.http.HttpEntity;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Campaigns on a running hub: patients arrive over MLLP, a segment selects them, a campaign plans one newsletter per
 * recipient through the gate and the send path into the outbox - blocked recipients with their reasons, everyone
 * else exactly once; pause, resume, cancel; variants and holdout.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@Import(MovableClockConfig.class)
@DirtiesContext
class CampaignIT {

    static final TestHub HUB = TestHub.named("campaigns");
    /** The hour now in Honolulu: email quiet hours around it are quiet there and not in Illinois (4 hours on). */
    static final int HONOLULU = ZonedDateTime.now(ZoneId.of("Pacific/Honolulu")).getHour();

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        HUB.register(r);
        r.add("caravan.workflow.quiet-hours.email.from", () -> "%02d:00".formatted(Math.floorMod(HONOLULU - 1, 24)));
        r.add("caravan.workflow.quiet-hours.email.to", () -> "%02d:00".formatted(Math.floorMod(HONOLULU + 2, 24)));
        // no marketing message before these tests' own
        r.add("caravan.workflow.frequency-cap.marketing.per-day", () -> "1");
        r.add("caravan.workflow.frequency-cap.marketing.per-week", () -> "3");
    }

    @Autowired
    TestRestTemplate rest;
    @Autowired
    MutableClock clock;
    @Autowired
    Suppressions suppressions;
    @Autowired
    io.caravan.channel.Messages messages;
    @Autowired
    io.caravan.contact.ContactStore contacts;

    @AfterEach
    void backToNow() {
        clock.ahead = Duration.ZERO;
    }

    TestRestTemplate integration() {
        return rest.withBasicAuth(TestHub.INTEGRATION, TestHub.USER_PASSWORD);
    }

    TestRestTemplate compliance() {
        return rest.withBasicAuth(TestHub.COMPLIANCE, TestHub.USER_PASSWORD);
    }

    /** A patient with a code (the test's segment) and, optionally, a Honolulu mobile number. */
    UUID patient(String mrn, String code, boolean honolulu) throws Exception {
        String email = mrn.toLowerCase() + "@example.org";
        UUID id = HubApi.register(HUB, rest, mrn, "Camp", "Cam", email, "");
        String a08 = Hl7Messages.adt("A08", Hl7Messages.controlId(), mrn, "Camp", "Cam", email, OffsetDateTime.now())
                + "DG1|1||" + code + "^Exam^I10\r";
        try (MllpTestClient c = new MllpTestClient(HUB.mllpPort)) {
            assertThat(MllpTestClient.msa1(c.exchange(honolulu ? a08.replace("^217^", "^808^") : a08, 10_000)))
                    .isEqualTo("AA");
        }
        return id;
    }

    void segment(String id, String code) {
        ResponseEntity<String> r = HubApi.post(integration(), "/api/segments", Map.of("id", id, "purpose",
                "marketing", "when", "hasCode('" + code + "')"));
        assertThat(r.getStatusCode().value()).as(r.getBody()).isEqualTo(201);
    }

    long count(String segment) throws Exception {
        return HubApi.JSON.readTree(integration().getForEntity("/api/segments/{id}", String.class, segment).getBody())
                .get("count").asLong();
    }

    UUID campaign(Map<String, Object> body) throws Exception {
        ResponseEntity<String> r = HubApi.post(integration(), "/api/campaigns", body);
        assertThat(r.getStatusCode().value()).as(r.getBody()).isEqualTo(202);
        return UUID.fromString(HubApi.JSON.readTree(r.getBody()).get("id").asText());
    }

    static Map<String, Object> newsletter(String segment) {
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("name", "November newsletter");
        b.put("segment", segment);
        b.put("channel", "email");
        b.put("template", "newsletter");
        b.put("data", Map.of("headline", "Flu shots", "body", "Walk in any weekday.", "link",
                "https://www.example.org/flu"));
        return b;
    }

    JsonNode report(UUID id) throws Exception {
        return HubApi.JSON.readTree(integration().getForEntity("/api/campaigns/{id}", String.class, id).getBody());
    }

    /** How many of the outbox's messages go to an address. */
    long mailTo(String address) throws Exception {
        return mails(address).size();
    }

    /** The outbox's message files to an address. */
    List<Path> mails(String address) throws Exception {
        Path outbox = HUB.dataDir.resolve("outbox");
        if (!Files.isDirectory(outbox)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(outbox)) {
            return s.filter(p -> p.toString().endsWith(".eml")).filter(p -> {
                try {
                    return Files.readString(p).contains("To: " + address);
                } catch (java.io.IOException e) {
                    return false;
                }
            }).toList();
        }
    }

    /** Fetches the open pixel of the one message to an address as a client with this User-Agent would. */
    int fetchPixel(String address, String userAgent) throws Exception {
        jakarta.mail.internet.MimeMessage msg;
        try (java.io.InputStream in = Files.newInputStream(mails(address).get(0))) {
            msg = new jakarta.mail.internet.MimeMessage(jakarta.mail.Session.getInstance(new java.util.Properties()),
                    in);
        }
        java.util.regex.Matcher pixel = java.util.regex.Pattern.compile("<img src=\"[^\"]*(/t/o/[^\"]+)\"")
                .matcher(html(msg));
        assertThat(pixel.find()).isTrue();
        HttpHeaders h = new HttpHeaders();
        h.set(HttpHeaders.USER_AGENT, userAgent);
        return rest.exchange(pixel.group(1), HttpMethod.GET, new HttpEntity<>(h), byte[].class).getStatusCode()
                .value();
    }

    static String html(jakarta.mail.Part p) throws Exception {
        if (p.isMimeType("text/html")) {
            return (String) p.getContent();
        }
        if (p.getContent() instanceof jakarta.mail.Multipart m) {
            for (int i = 0; i < m.getCount(); i++) {
                String h = html(m.getBodyPart(i));
                if (h != null) {
                    return h;
                }
            }
        }
        return null;
    }

    /** The path of the one-click unsubscribe link in the one message to an address. */
    String unsubscribePath(String address) throws Exception {
        String eml = Files.readString(mails(address).get(0));
        String url = eml.substring(eml.indexOf("List-Unsubscribe: <") + 19);
        return url.substring(url.indexOf("/unsubscribe/"), url.indexOf('>'));
    }

    @Test
    void eachBlockedRecipientHasItsReasonAndEveryoneElseGetsItOnce() throws Exception {
        List<UUID> fine = new ArrayList<>();
        for (int i = 1; i <= 4; i++) {
            fine.add(patient("CMP-" + i, "Z00.00", false));
        }
        UUID optedOut = patient("CMP-5", "Z00.00", false);
        UUID unauthorized = patient("CMP-6", "Z00.00", false);
        UUID suppressed = patient("CMP-7", "Z00.00", false);
        UUID quiet = patient("CMP-8", "Z00.00", true);
        for (UUID u : List.of(fine.get(0), fine.get(1), fine.get(2), fine.get(3), optedOut, suppressed, quiet)) {
            HubApi.authorize(rest, u);
        }
        assertThat(HubApi.post(compliance(), "/api/contacts/{id}/opt-outs", Map.of("channel", "email",
                "purpose", "marketing"), optedOut).getStatusCode().is2xxSuccessful()).isTrue();
        suppressions.suppress("email", "cmp-7@example.org", "mailbox-unknown", null, suppressed, "test");
        segment("checkups", "Z00.00");
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> count("checkups") == 8);

        UUID id = campaign(newsletter("checkups"));
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> {
            JsonNode v = report(id).get("variants").get(0);
            return v.get("sent").asLong() == 4 && v.get("waiting").asLong() == 0;
        });
        JsonNode r = report(id);
        assertThat(r.get("targeted").asLong()).isEqualTo(8);
        JsonNode blocked = r.get("variants").get(0).get("blocked");
        assertThat(blocked.get("opt-out").asLong()).isEqualTo(1);
        assertThat(blocked.get("marketing-authorization").asLong()).isEqualTo(1);
        assertThat(blocked.get("address-suppressed").asLong()).isEqualTo(1);
        assertThat(blocked.get("quiet-hours").asLong()).isEqualTo(1);
        for (int i = 1; i <= 4; i++) {
            assertThat(mailTo("cmp-" + i + "@example.org")).as("patient %d", i).isEqualTo(1);
        }
        for (int i = 5; i <= 8; i++) {
            assertThat(mailTo("cmp-" + i + "@example.org")).as("patient %d", i).isZero();
        }
        assertThat(r.get("status").asText()).isEqualTo("running");

        // the quiet hours end in Honolulu: the last recipient gets it, once, and the campaign completes
        clock.ahead = Duration.ofHours(3);
        // planned once the campaign completes; sent once the send queue got to it
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> "completed".equals(report(id).get("status")
                .asText()) && report(id).get("variants").get(0).get("waiting").asLong() == 0);
        assertThat(mailTo("cmp-8@example.org")).isEqualTo(1);
        JsonNode done = report(id).get("variants").get(0);
        assertThat(done.get("sent").asLong()).isEqualTo(5);
        assertThat(done.get("blocked").has("quiet-hours")).isFalse();
        for (int i = 1; i <= 4; i++) {
            assertThat(mailTo("cmp-" + i + "@example.org")).isEqualTo(1);
        }
        assertThat(done.get("unsubscribed").asLong()).isZero();

        // patient 1 unsubscribes with the newsletter's own link, and the mail client posts it twice
        String path = unsubscribePath("cmp-1@example.org");
        for (int i = 0; i < 2; i++) {
            HttpHeaders form = new HttpHeaders();
            form.setContentType(MediaType.APPLICATION_FORM_URLENCODED);
            assertThat(rest.exchange(path, HttpMethod.POST, new HttpEntity<>("List-Unsubscribe=One-Click", form),
                    String.class).getStatusCode().value()).isEqualTo(200);
        }
        assertThat(report(id).get("variants").get(0).get("unsubscribed").asLong())
                .as("counted against the campaign's message, once").isOne();

        // patient 2's mail provider fetches the open pixel through its privacy proxy; patient 3 opens it in a client
        assertThat(fetchPixel("cmp-2@example.org", "Mozilla/5.0 (via ggpht.com GoogleImageProxy)")).isEqualTo(200);
        assertThat(fetchPixel("cmp-3@example.org", "Mozilla/5.0 (Macintosh) Thunderbird/128")).isEqualTo(200);
        JsonNode engaged = report(id).get("variants").get(0);
        assertThat(engaged.get("opened").asLong()).as("a person's open").isOne();
        assertThat(engaged.get("bots").get("opened").asLong()).as("the proxy's, apart").isOne();
        assertThat(engaged.get("bots").get("clicked").asLong()).isZero();
        // the same figures as metrics
        String metrics = rest.withBasicAuth(TestHub.OPERATOR, TestHub.USER_PASSWORD)
                .getForEntity("/actuator/prometheus", String.class).getBody();
        assertThat(metrics).contains("caravan_campaign_recipients_total{campaign=\"" + id
                + "\",outcome=\"planned\",variant=\"a\"} 6.0")
                .contains("caravan_campaign_messages{campaign=\"" + id + "\",figure=\"sent\",variant=\"a\"} 5.0");
    }

    @Test
    void aPausedCampaignPlansNothingUntilResumedAndACancelledOneNothingMore() throws Exception {
        List<UUID> ids = new ArrayList<>();
        for (int i = 1; i <= 12; i++) {
            ids.add(patient("CMQ-" + i, "Z00.01", false));
        }
        segment("paced", "Z00.01");
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> count("paced") == 12);
        Map<String, Object> body = newsletter("paced");
        body.put("rate", 2);
        UUID id = campaign(body);
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> report(id).get("pending").asLong() < 12
                && report(id).get("targeted").asLong() == 12);
        assertThat(HubApi.post(integration(), "/api/campaigns/{id}/pause", null, id).getStatusCode().value())
                .isEqualTo(200);
        Thread.sleep(1000);   // a plan already past its throttle finishes
        long pending = report(id).get("pending").asLong();
        Thread.sleep(2500);
        assertThat(report(id).get("pending").asLong()).as("nothing planned while paused").isEqualTo(pending);
        assertThat(report(id).get("status").asText()).isEqualTo("paused");
        assertThat(HubApi.post(integration(), "/api/campaigns/{id}/pause", null, id).getStatusCode().value())
                .isEqualTo(409);

        assertThat(HubApi.post(integration(), "/api/campaigns/{id}/resume", null, id).getStatusCode().value())
                .isEqualTo(200);
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> report(id).get("pending").asLong()
                < pending);
        assertThat(HubApi.post(integration(), "/api/campaigns/{id}/cancel", null, id).getStatusCode().value())
                .isEqualTo(200);
        Thread.sleep(1000);
        long left = report(id).get("pending").asLong();
        Thread.sleep(2500);
        JsonNode r = report(id);
        assertThat(r.get("status").asText()).isEqualTo("cancelled");
        assertThat(r.get("pending").asLong()).as("nothing planned once cancelled").isEqualTo(left).isPositive();
        assertThat(HubApi.post(integration(), "/api/campaigns/{id}/resume", null, id).getStatusCode().value())
                .isEqualTo(409);
    }

    @Test
    void variantsAndTheHoldoutSplitTheSegmentAndTheHoldoutGetsNothing() throws Exception {
        for (int i = 1; i <= 30; i++) {
            HubApi.authorize(rest, patient("CMV-" + i, "Z00.02", false));
        }
        segment("split", "Z00.02");
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> count("split") == 30);
        Map<String, Object> body = newsletter("split");
        body.remove("template");
        body.put("variants", List.of(Map.of("id", "a", "template", "newsletter", "share", 1),
                Map.of("id", "b", "template", "newsletter", "share", 1)));
        body.put("holdout", 20);
        UUID id = campaign(body);
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> "completed".equals(report(id).get("status")
                .asText()));
        JsonNode r = report(id);
        long a = r.get("variants").get(0).get("targeted").asLong();
        long b = r.get("variants").get(1).get("targeted").asLong();
        long held = r.get("holdout").get("targeted").asLong();
        assertThat(a + b + held).isEqualTo(30);
        assertThat(held).isBetween(1L, 14L);
        assertThat(a).isPositive();
        assertThat(b).isPositive();
        // planning is complete; the send queue may still hold the last messages
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> {
            JsonNode v = report(id).get("variants");
            return v.get(0).get("sent").asLong() + v.get(1).get("sent").asLong() == a + b;
        });
        long mailed = 0;
        for (int i = 1; i <= 30; i++) {
            mailed += mailTo("cmv-" + i + "@example.org");
        }
        assertThat(mailed).as("everyone but the holdout, once").isEqualTo(a + b);
    }

    @Test
    void aRecipientPlannedJustBeforeACrashIsNotPlannedAgain() throws Exception {
        UUID planned = patient("CMK-1", "Z00.04", false);
        patient("CMK-2", "Z00.04", false);
        ResponseEntity<String> s = HubApi.post(integration(), "/api/segments", Map.of("id", "resumed", "purpose",
                "treatment", "when", "hasCode('Z00.04')"));
        assertThat(s.getStatusCode().value()).as(s.getBody()).isEqualTo(201);
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> count("resumed") == 2);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("segment", "resumed");
        body.put("channel", "email");
        body.put("template", "appointment-reminder-notice");
        body.put("data", Map.of("clinicPhone", "+1 217 555 0100"));
        body.put("startAt", clock.instant().plus(Duration.ofHours(1)).toString());
        UUID id = campaign(body);
        // what a kill -9 between planning a recipient and marking its row leaves behind: the message, planned under
        // the recipient's key, and the row still pending
        messages.planAs(Assignment.messageId(id, planned), new io.caravan.channel.Messages.Request(planned,
                "appointment-reminder-notice", "email", "treatment", Map.of("clinicPhone", "+1 217 555 0100")),
                Campaigns.actor(id, "a"), contacts.findById(planned).orElseThrow());
        clock.ahead = Duration.ofHours(2);
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> {
            JsonNode r = report(id);
            return "completed".equals(r.get("status").asText())
                    && r.get("variants").get(0).get("waiting").asLong() == 0;
        });
        assertThat(report(id).get("variants").get(0).get("sent").asLong()).isEqualTo(2);
        JsonNode mine = HubApi.JSON.readTree(rest.withBasicAuth("admin", HUB.adminPassword())
                .getForEntity("/api/contacts/{id}/messages", String.class, planned).getBody());
        assertThat(mine.size()).as("one message for the recipient planned before the crash").isEqualTo(1);
        assertThat(mailTo("cmk-1@example.org")).isEqualTo(1);
        assertThat(mailTo("cmk-2@example.org")).isEqualTo(1);
    }

    @Test
    void aCampaignIsCheckedFieldByField() throws Exception {
        segment("checked", "Z00.03");
        Map<String, Object> body = newsletter("checked");
        body.put("segment", "nope");
        assertThat(HubApi.post(integration(), "/api/campaigns", body).getBody()).contains("segment");
        body = newsletter("checked");
        body.put("template", "appointment-reminder");
        ResponseEntity<String> r = HubApi.post(integration(), "/api/campaigns", body);
        assertThat(r.getStatusCode().value()).isEqualTo(400);
        assertThat(r.getBody()).contains("segment: checked is a marketing segment");
        body = newsletter("checked");
        body.put("holdout", 80);
        assertThat(HubApi.post(integration(), "/api/campaigns", body).getBody()).contains("holdout");
        assertThat(HubApi.post(rest.withBasicAuth(TestHub.OPERATOR, TestHub.USER_PASSWORD), "/api/campaigns",
                newsletter("checked")).getStatusCode().value()).isEqualTo(403);
    }
}
