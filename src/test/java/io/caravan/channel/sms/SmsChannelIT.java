package io.caravan.channel.sms;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.caravan.support.HubApi;
import io.caravan.support.TestHub;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.jsmpp.util.DeliveryReceiptState;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * SMS end to end against an SMSC built on jsmpp in the test: the hub binds as a transceiver, submits the PHI-free
 * text encoded and segmented, takes delivery receipts (one status per message, whatever its segments), suppresses a
 * number the carrier refused, and keeps texts deferred - not lost - while the SMSC is down or the bind dropped.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@DirtiesContext
class SmsChannelIT {

    static final TestHub HUB = TestHub.named("sms");
    static final TestSmsc SMSC = new TestSmsc(TestSmsc.freePort());
    static final AtomicInteger NUMBERS = new AtomicInteger(100);

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) throws IOException {
        HUB.register(r);
        SMSC.start();
        SmsHub.adapter(HUB, r, "test-smsc", SMSC.port, """
                passwordEnv: CARAVAN_TEST_SMPP_PASSWORD
                throughput: 200
                reconnectSeconds: 1
                reconnectMaxSeconds: 2
                program: Mercy Health reminders
                support: 217-555-0100
                """);
        SmsHub.anyHourNoCap(r);
        r.add("CARAVAN_TEST_SMPP_PASSWORD", () -> "secret");
        Path templates = HUB.dataDir.resolveSibling(HUB.dataDir.getFileName() + "-sms-templates");
        org.springframework.util.FileSystemUtils.copyRecursively(Path.of("config/templates/sms"), templates);
        Files.createDirectories(templates.resolve("long-note"));
        Files.writeString(templates.resolve("long-note/template.yaml"),
                "purpose: operations\ncontent: phi-free\nlanguages: [en]\nrequires: [note]\nmaxSegments: 3\n");
        Files.writeString(templates.resolve("long-note/en.txt.peb"), "{{ note }}\n");
        Files.createDirectories(templates.resolve("long-treatment"));
        Files.writeString(templates.resolve("long-treatment/template.yaml"),
                "purpose: treatment\ncontent: phi-free\nlanguages: [en]\nrequires: [note]\nmaxSegments: 3\n");
        Files.writeString(templates.resolve("long-treatment/en.txt.peb"), "{{ note }}\n");
        r.add("caravan.sms.templates-dir", templates::toString);
        // one workflow that sends by email and then by SMS: the engine takes the channel per step, unchanged
        Path workflows = HUB.dataDir.resolveSibling(HUB.dataDir.getFileName() + "-workflows");
        Files.createDirectories(workflows);
        Files.writeString(workflows.resolve("both-channels.yaml"), """
                id: both-channels
                description: A reminder by email, then the same by text
                purpose: treatment
                trigger:
                  event: patient.registered
                  when: "contact.name.family == 'Twochannel'"
                steps:
                  - id: by-email
                    send:
                      template: appointment-reminder
                      data:
                        appointmentDate: "'2030-01-02'"
                        appointmentTime: "'09:30'"
                        provider: "'your care team'"
                        clinicPhone: "'217-555-0100'"
                  - id: by-text
                    send:
                      channel: sms
                      template: appointment-reminder
                      data:
                        appointmentDate: "'2030-01-02'"
                        appointmentTime: "'09:30'"
                        clinicPhone: "'217-555-0100'"
                  - id: done
                    exit:
                      reason: reminded
                """);
        // a patient's text back starts a journey: the workflow sees the keyword class, never the words
        Files.writeString(workflows.resolve("text-back.yaml"), """
                id: text-back
                description: A patient texted back something that is not a keyword
                purpose: operations
                trigger:
                  event: sms.received
                  when: "event.data.keyword == 'none'"
                steps:
                  - id: flag
                    update:
                      tag: [texted-back]
                """);
        r.add("caravan.workflow.dir", workflows::toString);
    }

    @AfterAll
    static void down() throws IOException {
        SMSC.close();
    }

    @Autowired
    TestRestTemplate rest;

    TestRestTemplate admin() {
        return rest.withBasicAuth("admin", HUB.adminPassword());
    }

    /** Registers a patient with a mobile of their own (suppressions are per number); returns id and E.164 digits. */
    record Patient(UUID id, String digits) {
    }

    Patient patient(String mrn) throws Exception {
        return patient(mrn, "Textor");
    }

    Patient patient(String mrn, String family) throws Exception {
        String line = "555" + String.format("%04d", NUMBERS.incrementAndGet());
        return new Patient(SmsHub.patient(HUB, rest, mrn, family, line), "1217" + line);
    }

    String plan(UUID contact, String template, Map<String, Object> data) throws IOException {
        return SmsHub.plan(HUB, rest, contact, template, template.equals("long-note") ? "operations" : "treatment",
                data);
    }

    JsonNode message(String id) throws IOException {
        return SmsHub.message(HUB, rest, id);
    }

    void awaitStatus(String id, String status) {
        SmsHub.awaitStatus(HUB, rest, id, status);
    }

    List<TestSmsc.Submitted> to(Patient p) {
        return SMSC.submitted.stream().filter(s -> s.destination().equals(p.digits())).toList();
    }

    static final Map<String, Object> REMINDER = SmsHub.REMINDER;

    @Test
    void aTextGoesOverATransceiverBindAsGsm7AndIsRecordedWithItsEncodingAndDisclosed() throws Exception {
        Patient p = patient("SMS-1");
        String id = plan(p.id(), "appointment-reminder", REMINDER);
        awaitStatus(id, "sent");
        assertThat(SMSC.bindTypes).contains("BIND_TRX");
        TestSmsc.Submitted s = to(p).get(0);
        assertThat(s.dataCoding()).isEqualTo((byte) 0);
        assertThat(s.registeredDelivery() & 1).as("receipt requested").isEqualTo(1);
        assertThat(SmsText.decodeGsm7(s.shortMessage())).contains("2030-01-02 at 09:30").contains("Reply STOP");
        assertThat(message(id).get("reasons").toString()).contains("gsm-7", "segments:1");
        JsonNode disclosures = HubApi.JSON.readTree(admin().getForEntity("/api/contacts/{id}/disclosures",
                String.class, p.id()).getBody());
        assertThat(disclosures.findValues("channel")).extracting(JsonNode::asText).contains("sms");
    }

    @Test
    void aLongTextGoesAsConcatenatedSegmentsAndIsDeliveredOnceEveryReceiptIsIn() throws Exception {
        Patient p = patient("SMS-2");
        String id = plan(p.id(), "long-note", Map.of("note", "Bring your insurance card. ".repeat(8)));
        awaitStatus(id, "sent");
        List<TestSmsc.Submitted> parts = to(p);
        assertThat(parts).hasSize(2);
        assertThat(parts).allMatch(x -> (x.esmClass() & 0x40) != 0, "UDHI set");
        assertThat(Arrays.copyOf(parts.get(0).shortMessage(), 6)).containsExactly(5, 0, 3,
                parts.get(0).shortMessage()[3], 2, 1);
        assertThat(message(id).get("reasons").toString()).contains("segments:2");

        SMSC.receipt(parts.get(0).id(), DeliveryReceiptState.DELIVRD, "000");
        Thread.sleep(1500);
        assertThat(message(id).get("status").asText()).as("one segment is not the message").isEqualTo("sent");
        SMSC.receipt(parts.get(0).id(), DeliveryReceiptState.DELIVRD, "000"); // a repeated receipt changes nothing
        SMSC.receipt(parts.get(1).id(), DeliveryReceiptState.DELIVRD, "000");
        awaitStatus(id, "delivered");
    }

    @Test
    void receiptsThatOvertakeTheirTextsSentStatusStillDeliverEachTextOnce() throws Exception {
        SMSC.receiptAtOnce = DeliveryReceiptState.DELIVRD;
        try {
            List<String> ids = new java.util.ArrayList<>();
            for (int i = 0; i < 6; i++) {
                Patient p = patient("SMS-EARLY-" + i);
                ids.add(plan(p.id(), "long-note", Map.of("note", i % 2 == 0 ? "Bring your card. ".repeat(12)
                        : "Bring your card.")));
            }
            for (String id : ids) {
                awaitStatus(id, "delivered");
            }
            Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(jdbc.queryForObject(
                    "SELECT COUNT(*) FROM sms_receipt_early", Integer.class)).as("no receipt left waiting").isZero());
        } finally {
            SMSC.receiptAtOnce = null;
        }
    }

    @Autowired
    org.springframework.jdbc.core.JdbcTemplate jdbc;

    @Test
    void aTreatmentTextOver160CharactersIsNotSent() throws Exception {
        Patient p = patient("SMS-13");
        String id = plan(p.id(), "long-treatment", Map.of("note", "x".repeat(161)));
        awaitStatus(id, "failed");
        assertThat(message(id).get("reasons").toString()).contains("treatment-over-160");
        awaitStatus(plan(p.id(), "long-treatment", Map.of("note", "x".repeat(160))), "sent");
        assertThat(to(p)).hasSize(1);
    }

    @Test
    void anExpiredReceiptMarksTheMessageExpired() throws Exception {
        Patient p = patient("SMS-3");
        String id = plan(p.id(), "appointment-reminder", REMINDER);
        awaitStatus(id, "sent");
        SMSC.receipt(to(p).get(0).id(), DeliveryReceiptState.EXPIRED, "000");
        awaitStatus(id, "expired");
    }

    @Test
    void aPermanentCarrierErrorMakesTheTextUndeliverableAndSuppressesTheNumber() throws Exception {
        Patient p = patient("SMS-4");
        String id = plan(p.id(), "appointment-reminder", REMINDER);
        awaitStatus(id, "sent");
        SMSC.receipt(to(p).get(0).id(), DeliveryReceiptState.UNDELIV, "001");
        awaitStatus(id, "undeliverable");
        String next = plan(p.id(), "appointment-reminder", REMINDER);
        awaitStatus(next, "blocked");
        assertThat(message(next).get("reasons").toString()).contains("sms-number-suppressed");
        assertThat(to(p)).hasSize(1);
    }

    @Test
    void anSmscRefusingTheDestinationMakesTheTextUndeliverableAndSuppressesTheNumber() throws Exception {
        Patient p = patient("SMS-5");
        SMSC.refuse = 0x0B;
        try {
            String id = plan(p.id(), "appointment-reminder", REMINDER);
            awaitStatus(id, "undeliverable");
            assertThat(message(id).get("reasons").toString()).contains("smpp:0xb");
        } finally {
            SMSC.refuse = 0;
        }
        String next = plan(p.id(), "appointment-reminder", REMINDER);
        awaitStatus(next, "blocked");
    }

    @Test
    void aThrottlingSmscDefersTheTextWhichGoesWhenItStops() throws Exception {
        Patient p = patient("SMS-6");
        SMSC.refuse = 0x58;
        String id;
        try {
            id = plan(p.id(), "appointment-reminder", REMINDER);
            awaitStatus(id, "deferred");
            assertThat(message(id).get("reasons").toString()).contains("smpp:0x58");
        } finally {
            SMSC.refuse = 0;
        }
        awaitStatus(id, "sent");
    }

    @Test
    void textsWaitDeferredWhileTheSmscIsDownAndGoOnceTheHubHasBoundAgain() throws Exception {
        Patient p = patient("SMS-7");
        String first = plan(p.id(), "appointment-reminder", REMINDER);
        awaitStatus(first, "sent");
        int binds = SMSC.binds.get();

        SMSC.dropBinds();
        SMSC.stop();
        String during = plan(p.id(), "appointment-reminder", REMINDER);
        awaitStatus(during, "deferred");
        assertThat(message(during).get("reasons").toString()).contains("connection");

        SMSC.start();
        awaitStatus(during, "sent");
        assertThat(SMSC.binds.get()).as("bound again").isGreaterThan(binds);
        assertThat(to(p)).hasSize(2);
    }

    @Autowired
    SmsNumberBook book;

    boolean allowed(UUID contact) throws IOException {
        return SmsHub.allowed(HUB, rest, contact);
    }

    List<String> repliesTo(Patient p) {
        return to(p).stream().map(s -> SmsText.decodeGsm7(s.shortMessage())).toList();
    }

    @Test
    void stopOptsTheNumberOutAtOnceAuditedWithExactlyOneConfirmation() throws Exception {
        Patient p = patient("SMS-8");
        awaitStatus(plan(p.id(), "appointment-reminder", REMINDER), "sent");
        assertThat(allowed(p.id())).isTrue();

        SMSC.mo(p.digits(), "  Stop.  ");
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> !allowed(p.id()));
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> repliesTo(p).size() == 2);
        assertThat(repliesTo(p).get(1)).contains("unsubscribed").doesNotContainIgnoringCase("offer");
        // the same STOP again, as an SMSC sends it when the hub died before answering its deliver_sm (mo returns
        // once the hub has answered this one)
        SMSC.mo(p.digits(), "  Stop.  ");
        Thread.sleep(2000);
        assertThat(repliesTo(p)).as("the reminder, then one confirmation").hasSize(2);
        JsonNode audit = HubApi.JSON.readTree(rest.withBasicAuth(TestHub.COMPLIANCE, TestHub.USER_PASSWORD)
                .getForEntity("/api/audit?contact={id}", String.class, p.id()).getBody());
        assertThat(audit.toString()).contains("consent.recorded", "sms-keyword");

        String after = plan(p.id(), "appointment-reminder", REMINDER);
        assertThat(message(after).get("status").asText()).isEqualTo("blocked");
        assertThat(message(after).get("reasons").toString()).contains("opt-out");
    }

    @Test
    void aCampaignsReportCountsAStopAgainstTheTextItAnswered() throws Exception {
        Patient a = patient("SMS-30", "Flushot");
        Patient b = patient("SMS-31", "Flushot");
        TestRestTemplate compliance = rest.withBasicAuth(TestHub.COMPLIANCE, TestHub.USER_PASSWORD);
        for (Patient p : List.of(a, b)) {
            HubApi.authorize(rest, p.id());
            // TCPA: marketing texts need prior express written consent for SMS
            assertThat(HubApi.post(compliance, "/api/contacts/{id}/consents", Map.of("channel", "sms", "purpose",
                    "marketing", "form", "written", "evidence", "web-form:TCPA-" + p.digits(), "text",
                    "I agree to receive marketing texts"), p.id()).getStatusCode().value()).isEqualTo(201);
        }
        TestRestTemplate integration = rest.withBasicAuth(TestHub.INTEGRATION, TestHub.USER_PASSWORD);
        assertThat(HubApi.post(integration, "/api/segments", Map.of("id", "flu-texts", "purpose", "marketing",
                "when", "id == '" + a.id() + "' or id == '" + b.id() + "'")).getStatusCode().value()).isEqualTo(201);
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> HubApi.JSON.readTree(integration
                .getForEntity("/api/segments/flu-texts", String.class).getBody()).get("count").asLong() == 2);
        var created = HubApi.post(integration, "/api/campaigns", Map.of("name", "Flu clinic", "segment", "flu-texts",
                "channel", "sms", "template", "flu-clinic", "data", Map.of("date", "Saturday")));
        assertThat(created.getStatusCode().value()).as(created.getBody()).isEqualTo(202);
        String campaign = HubApi.JSON.readTree(created.getBody()).get("id").asText();
        java.util.concurrent.Callable<JsonNode> report = () -> HubApi.JSON.readTree(integration.getForEntity(
                "/api/campaigns/{id}", String.class, campaign).getBody()).get("variants").get(0);
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> report.call().get("sent").asLong() == 2);
        assertThat(report.call().get("unsubscribed").asLong()).isZero();

        SMSC.mo(a.digits(), "STOP");
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> repliesTo(a).size() == 2);
        assertThat(report.call().get("unsubscribed").asLong()).as("a's STOP answered the flu-clinic text").isOne();
        // delivered again by the SMSC: counted once
        SMSC.mo(a.digits(), "STOP");
        assertThat(report.call().get("unsubscribed").asLong()).isOne();
    }

    @Test
    void aStopConfirmationTheSmscRefusedAtFirstIsSentOnceItAcceptsAgain() throws Exception {
        Patient p = patient("SMS-17");
        awaitStatus(plan(p.id(), "appointment-reminder", REMINDER), "sent");
        SMSC.refuse = 0x58; // throttled: the confirmation's first submit is refused
        try {
            SMSC.mo(p.digits(), "STOP");
            Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> !allowed(p.id()));
            Thread.sleep(1500);
            assertThat(repliesTo(p)).as("not yet: the SMSC refuses").hasSize(1);
        } finally {
            SMSC.refuse = 0;
        }
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> repliesTo(p).size() == 2);
        assertThat(repliesTo(p).get(1)).contains("unsubscribed");
        Thread.sleep(3000);
        assertThat(repliesTo(p)).as("exactly one confirmation").hasSize(2);
    }

    @Test
    void aPlainLanguageRequestOptsOutAndStartResubscribes() throws Exception {
        Patient p = patient("SMS-9");
        awaitStatus(plan(p.id(), "appointment-reminder", REMINDER), "sent");
        SMSC.mo(p.digits(), "please stop texting me");
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> !allowed(p.id()));
        SMSC.mo(p.digits(), "START");
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> allowed(p.id()));
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> repliesTo(p).size() == 3);
        assertThat(repliesTo(p).get(2)).contains("resubscribed");
        awaitStatus(plan(p.id(), "appointment-reminder", REMINDER), "sent");
    }

    @Test
    void helpIsAnsweredWithTheAdaptersProgramSupportRatesAndHowToOptOut() throws Exception {
        Patient p = patient("SMS-10");
        awaitStatus(plan(p.id(), "appointment-reminder", REMINDER), "sent");
        SMSC.mo(p.digits(), "help?");
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> repliesTo(p).size() == 2);
        assertThat(repliesTo(p).get(1)).contains("Mercy Health reminders", "217-555-0100",
                "Msg & data rates may apply", "STOP");
        assertThat(allowed(p.id())).isTrue();
    }

    @Test
    void anOrdinaryTextIsKeptForWorkflowsAndOptsNothingOut() throws Exception {
        Patient p = patient("SMS-11");
        awaitStatus(plan(p.id(), "appointment-reminder", REMINDER), "sent");
        SMSC.mo(p.digits(), "I stopped by the clinic, see you Monday");
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> book.inboundCount(p.id()) == 1);
        assertThat(allowed(p.id())).isTrue();
        assertThat(repliesTo(p)).hasSize(1);
    }

    List<JsonNode> events(UUID contact, String type) throws IOException {
        List<JsonNode> out = new java.util.ArrayList<>();
        HubApi.JSON.readTree(admin().getForEntity("/api/contacts/{id}/events", String.class, contact).getBody())
                .forEach(e -> {
                    if (type.equals(e.get("type").asText())) {
                        out.add(e);
                    }
                });
        return out;
    }

    JsonNode journey(UUID contact, String workflow) throws IOException {
        for (JsonNode j : HubApi.JSON.readTree(admin().getForEntity("/api/contacts/{id}/journeys", String.class,
                contact).getBody())) {
            if (workflow.equals(j.get("workflow").asText())) {
                return j;
            }
        }
        return null;
    }

    @Test
    void anOrdinaryTextIsAnEventOnTheContactsLogThatStartsAWorkflowWithoutItsWords() throws Exception {
        Patient p = patient("SMS-15");
        awaitStatus(plan(p.id(), "appointment-reminder", REMINDER), "sent");
        SMSC.mo(p.digits(), "Running late, Quixotic traffic");
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> events(p.id(), "sms.received").size() == 1);
        JsonNode e = events(p.id(), "sms.received").get(0);
        assertThat(e.at("/data/keyword").asText()).isEqualTo("none");
        assertThat(e.at("/data/adapter").asText()).isEqualTo("test-smsc");
        assertThat(e.at("/data/inboundText").asText()).isNotBlank();
        assertThat(e.toString()).doesNotContain("Quixotic").doesNotContain(p.digits().substring(4));
        assertThat(book.inboundCount(p.id())).as("the words kept, sealed, beside the event").isEqualTo(1);

        Awaitility.await().atMost(Duration.ofSeconds(40)).until(() -> journey(p.id(), "text-back") != null
                && "completed".equals(journey(p.id(), "text-back").get("status").asText()));
        JsonNode contact = HubApi.JSON.readTree(admin().getForEntity("/api/contacts/{id}", String.class, p.id())
                .getBody());
        assertThat(contact.at("/attributes/tags").toString()).contains("texted-back");
    }

    @Test
    void keywordsAreNoInboundEvent() throws Exception {
        Patient p = patient("SMS-16");
        awaitStatus(plan(p.id(), "appointment-reminder", REMINDER), "sent");
        SMSC.mo(p.digits(), "HELP");
        SMSC.mo(p.digits(), "STOP");
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> !allowed(p.id()));
        SMSC.mo(p.digits(), "see you");
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> events(p.id(), "sms.received").size() == 1);
        Thread.sleep(1000);
        assertThat(events(p.id(), "sms.received")).as("only the ordinary text").hasSize(1);
    }

    @Test
    void aTextPlannedBeforeAStopThatArrivesBeforeItsSendIsNotSent() throws Exception {
        Patient p = patient("SMS-12");
        awaitStatus(plan(p.id(), "appointment-reminder", REMINDER), "sent");
        SMSC.refuse = 0x58; // the SMSC holds the next text back: it waits, deferred, planned and allowed
        String pending;
        try {
            pending = plan(p.id(), "appointment-reminder", REMINDER);
            awaitStatus(pending, "deferred");
            SMSC.mo(p.digits(), "STOP");
            Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> !allowed(p.id()));
        } finally {
            SMSC.refuse = 0;
        }
        awaitStatus(pending, "blocked");
        assertThat(message(pending).get("reasons").toString()).contains("opt-out");
        // planned texts ask for a receipt; keyword replies do not
        assertThat(to(p)).filteredOn(x -> x.registeredDelivery() == 1).as("only the first text").hasSize(1);
    }

    @Test
    void aWorkflowSendsByEmailAndBySmsWithTheEngineUnchanged() throws Exception {
        Patient p = patient("SMS-14", "Twochannel");
        Awaitility.await().atMost(Duration.ofSeconds(40)).until(() -> to(p).size() == 1);
        assertThat(SmsText.decodeGsm7(to(p).get(0).shortMessage())).contains("2030-01-02 at 09:30");
        JsonNode messages = HubApi.JSON.readTree(admin().getForEntity("/api/contacts/{id}/messages", String.class,
                p.id()).getBody());
        assertThat(messages.findValues("channel")).extracting(JsonNode::asText).containsExactlyInAnyOrder("email",
                "sms");
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> HubApi.JSON.readTree(admin().getForEntity(
                "/api/contacts/{id}/journeys", String.class, p.id()).getBody()).findValues("status").stream()
                .anyMatch(x -> x.asText().equals("completed") || x.asText().equals("exited")));
    }
}
