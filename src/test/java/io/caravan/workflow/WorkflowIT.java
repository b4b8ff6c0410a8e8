package io.caravan.workflow;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import io.caravan.support.Hl7Messages;
import io.caravan.support.HubApi;
import io.caravan.support.Mailboxes;
import io.caravan.support.MllpTestClient;
import io.caravan.support.MovableClockConfig;
import io.caravan.support.MutableClock;
import io.caravan.support.TestHub;
import jakarta.mail.internet.MimeMessage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.context.annotation.Import;
import org.springframework.http.HttpStatus;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Patient journeys end to end: real HL7 messages over MLLP become trigger events, the shipped workflows turn them
 * into timed messages, and those reach a real SMTP server (GreenMail, through the relay adapter) - with the hub's
 * clock moved forward instead of waiting days.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@Import(MovableClockConfig.class)
@DirtiesContext
class WorkflowIT {

    static final TestHub HUB = TestHub.named("workflow");
    static final GreenMail SMTP;
    static final Path ADAPTERS;

    static {
        try {
            SMTP = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
            SMTP.start();
            ADAPTERS = io.caravan.support.RelayAdapters.smtp(Files.createTempDirectory("caravan-workflow-adapters"),
                    "mail", SMTP.getSmtp().getPort(), "");
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        HUB.register(r);
        r.add("caravan.mapping.adapters-dir", ADAPTERS::toString);
        r.add("caravan.email.relay", () -> "mail");
    }

    @AfterAll
    static void stop() {
        SMTP.stop();
    }

    @Autowired
    TestRestTemplate rest;
    @Autowired
    MutableClock clock;
    @Autowired
    org.springframework.jdbc.core.JdbcTemplate jdbc;

    @AfterEach
    void backToNow() {
        // journeys a test left waiting are settled before the clock goes back, so later tests start clean
        clock.ahead = Duration.ZERO;
    }

    TestRestTemplate integration() {
        return rest.withBasicAuth(TestHub.INTEGRATION, TestHub.USER_PASSWORD);
    }

    void send(String hl7) throws Exception {
        try (MllpTestClient c = new MllpTestClient(HUB.mllpPort)) {
            assertThat(MllpTestClient.msa1(c.exchange(hl7, 10_000))).isEqualTo("AA");
        }
    }

    OffsetDateTime hubNow() {
        return clock.instant().atOffset(ZoneOffset.ofHours(-5));
    }

    UUID patient(String mrn, String email) throws Exception {
        send(Hl7Messages.adt("A04", Hl7Messages.controlId(), mrn, "Journey", "Jo", email, hubNow()));
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> HubApi.JSON.readTree(
                rest.withBasicAuth("admin", HUB.adminPassword()).getForEntity("/api/contacts?identifier={i}",
                        String.class, "MERCY|" + mrn).getBody()).size() == 1);
        return HubApi.register(HUB, rest, mrn, "Journey", "Jo", email, "");
    }

    JsonNode journey(UUID contact, String workflow) throws Exception {
        JsonNode all = HubApi.JSON.readTree(integration().getForEntity("/api/contacts/{id}/journeys", String.class,
                contact).getBody());
        for (JsonNode j : all) {
            if (workflow.equals(j.get("workflow").asText())) {
                return j;
            }
        }
        return null;
    }

    JsonNode awaitJourney(UUID contact, String workflow, String status) {
        JsonNode[] j = new JsonNode[1];
        Awaitility.await().atMost(Duration.ofSeconds(15)).until(() -> {
            j[0] = journey(contact, workflow);
            return j[0] != null && status.equals(j[0].get("status").asText());
        });
        return j[0];
    }

    List<MimeMessage> mailTo(String address) {
        return Mailboxes.to(SMTP, address);
    }

    @Test
    void aBookingBecomesAReminder24HoursBeforeTheAppointment() throws Exception {
        UUID id = patient("WF-1", "booked@example.org");
        OffsetDateTime start = hubNow().plusHours(72).withSecond(0).withNano(0);
        send(Hl7Messages.s12(Hl7Messages.controlId(), "WF-1", Hl7Messages.ts(start)));
        JsonNode j = awaitJourney(id, "appointment-reminder", "active");
        assertThat(j.get("step").asText()).isEqualTo("day-before");
        Thread.sleep(600);
        assertThat(mailTo("booked@example.org")).as("nothing before T-24h").isEmpty();

        // T-24h02m at most: still waiting. The appointment's start is cut to the minute (HL7 TS), up to 59 s before
        // now + 72 h, and the test's own steps take seconds of real time: T-24h01m left as little as one second
        clock.ahead = Duration.ofHours(47).plusMinutes(58);
        Thread.sleep(800);
        assertThat(mailTo("booked@example.org")).isEmpty();
        clock.ahead = Duration.ofHours(48).plusSeconds(5);    // T-24h
        Awaitility.await().atMost(Duration.ofSeconds(15)).until(() -> mailTo("booked@example.org").size() == 1);
        assertThat(awaitJourney(id, "appointment-reminder", "completed").get("reason").asText())
                .isEqualTo("completed");
        // the reminder carries PHI and this relay offers no STARTTLS: the patient got the portal notice
        assertThat(mailTo("booked@example.org").get(0).getHeader("X-Caravan-Protection")[0]).isEqualTo("portal");

        JsonNode report = HubApi.JSON.readTree(integration().getForEntity("/api/workflows/appointment-reminder/report",
                String.class).getBody());
        assertThat(report.get("entered").asLong()).isPositive();
        assertThat(report.get("steps").get(1).get("sent").asLong()).isPositive();
    }

    @Test
    void aCancellationEndsTheJourneyAndNothingIsSent() throws Exception {
        UUID id = patient("WF-2", "cancelled@example.org");
        OffsetDateTime start = hubNow().plusHours(72).withSecond(0).withNano(0);
        send(Hl7Messages.s12(Hl7Messages.controlId(), "WF-2", Hl7Messages.ts(start)));
        awaitJourney(id, "appointment-reminder", "active");
        send(Hl7Messages.s12(Hl7Messages.controlId(), "WF-2", Hl7Messages.ts(start)).replace("SIU^S12^SIU_S12",
                "SIU^S15^SIU_S12"));
        JsonNode j = awaitJourney(id, "appointment-reminder", "exited");
        assertThat(j.get("reason").asText()).isEqualTo("appointment-cancelled");
        clock.ahead = Duration.ofHours(49);
        Thread.sleep(1500);
        assertThat(mailTo("cancelled@example.org")).isEmpty();
    }

    @Test
    void aDischargeBecomesASurveyAndASecondMessageWhenTheFirstIsNotOpenedUnlessThePatientOptsOut() throws Exception {
        UUID id = patient("WF-3", "discharged@example.org");
        send(Hl7Messages.adt("A03", Hl7Messages.controlId(), "WF-3", "Journey", "Jo", "discharged@example.org",
                hubNow()));
        awaitJourney(id, "post-discharge-follow-up", "active");
        clock.ahead = Duration.ofDays(2).plusHours(20);   // past 10:00 two days after the discharge, whatever now is
        Awaitility.await().atMost(Duration.ofSeconds(15)).until(() -> mailTo("discharged@example.org").size() == 1);
        assertThat(mailTo("discharged@example.org").get(0).getSubject()).isEqualTo("How was your stay?");
        clock.ahead = Duration.ofDays(6);                 // three more days, the survey not opened
        Awaitility.await().atMost(Duration.ofSeconds(15)).until(() -> mailTo("discharged@example.org").size() == 2);
        assertThat(mailTo("discharged@example.org").get(1).getSubject()).startsWith("A reminder");
        assertThat(awaitJourney(id, "post-discharge-follow-up", "completed").get("reason").asText())
                .isEqualTo("reminder-sent");

        // a second patient opts out of email after the survey: the reminder is not sent, the journey ends
        clock.ahead = Duration.ZERO;
        UUID other = patient("WF-4", "optout@example.org");
        send(Hl7Messages.adt("A03", Hl7Messages.controlId(), "WF-4", "Journey", "Jo", "optout@example.org",
                hubNow()));
        awaitJourney(other, "post-discharge-follow-up", "active");
        clock.ahead = Duration.ofDays(2).plusHours(20);
        Awaitility.await().atMost(Duration.ofSeconds(15)).until(() -> mailTo("optout@example.org").size() == 1);
        assertThat(HubApi.post(rest.withBasicAuth(TestHub.COMPLIANCE, TestHub.USER_PASSWORD),
                "/api/contacts/{id}/opt-outs", Map.of("channel", "email", "purpose", "any", "evidence", "phone call"),
                other).getStatusCode()).isEqualTo(HttpStatus.CREATED);
        // the journey ends at the opt-out, not days later at its next send
        JsonNode ended = awaitJourney(other, "post-discharge-follow-up", "exited");
        assertThat(ended.get("reason").asText()).startsWith("blocked:").contains("opt-out");
        clock.ahead = Duration.ofDays(6);
        Thread.sleep(1000);
        assertThat(mailTo("optout@example.org")).hasSize(1);
    }

    @Test
    void aDischargeWithoutItsTimeEndsTheFollowUpSayingWhyInsteadOfFailingEveryMinute() throws Exception {
        UUID id = patient("WF-20", "notime@example.org");
        // neither PV1-45 nor EVN-2: the survey's wait has no discharge time to count from
        send(Hl7Messages.adt("A03", Hl7Messages.controlId(), "WF-20", "Journey", "Jo", "notime@example.org",
                hubNow()).replaceFirst("EVN\\|A03\\|[^\\r]*", "EVN|A03|"));
        JsonNode ended = awaitJourney(id, "post-discharge-follow-up", "exited");
        assertThat(ended.get("reason").asText()).isEqualTo("wait-time-missing:two-days");
        assertThat(ended.get("step").asText()).isEqualTo("two-days");
        assertThat(mailTo("notime@example.org")).isEmpty();
    }

    @Test
    void aMarketingJourneyWithoutAnAuthorizationIsBlockedWithTheReasonRecorded() throws Exception {
        UUID id = patient("WF-5", "birthday@example.org");
        awaitJourney(id, "birthday-screening", "active");
        // a workflow that begins by waiting gets its timer with the journey, in the trigger's own transaction: the
        // wait's record has the start's time, and the tick never ran the new journey only to learn when it is due
        Map<String, Object> started = jdbc.queryForMap("SELECT j.started_at, j.next_at, s.at FROM journey j JOIN"
                + " journey_step s ON s.journey_id = j.id AND s.step = 'until-birthday' AND s.outcome = 'waited'"
                + " WHERE j.contact_id = ? AND j.workflow_id = 'birthday-screening'", id);
        assertThat(started.get("at")).isEqualTo(started.get("started_at"));
        assertThat(((java.time.OffsetDateTime) started.get("next_at")).toInstant()).isAfter(clock.instant());
        // born 1 January: the greeting is due on the next 1 January, 09:00
        Instant newYear = OffsetDateTime.of(hubNow().getYear() + 1, 1, 1, 9, 1, 0, 0, ZoneOffset.UTC).toInstant();
        clock.ahead = Duration.between(Instant.now(), newYear);
        JsonNode j = awaitJourney(id, "birthday-screening", "exited");
        assertThat(j.get("reason").asText()).startsWith("blocked:").contains("marketing-authorization");
        assertThat(mailTo("birthday@example.org")).isEmpty();
        JsonNode report = HubApi.JSON.readTree(integration().getForEntity("/api/workflows/birthday-screening/report",
                String.class).getBody());
        assertThat(report.get("exitReasons").toString()).contains("marketing-authorization");
    }

    @Test
    void aType2DiabetesCodeStartsTheEducationSeriesForAnAuthorizedPatient() throws Exception {
        UUID id = patient("WF-6", "diabetes@example.org");
        HubApi.authorize(rest, id);
        send(Hl7Messages.adt("A08", Hl7Messages.controlId(), "WF-6", "Journey", "Jo", "diabetes@example.org",
                hubNow()) + "DG1|1||E11.9^Type 2 diabetes mellitus without complications^I10\r");
        Awaitility.await().atMost(Duration.ofSeconds(15)).until(() -> {
            JsonNode j = journey(id, "diabetes-education");
            return j != null && "a-week".equals(j.get("step").asText());
        });
        Awaitility.await().atMost(Duration.ofSeconds(15)).until(() -> mailTo("diabetes@example.org").size() == 1);
        // part 1 reveals a condition (PHI) and this relay proves no TLS: it waits in the portal
        assertThat(mailTo("diabetes@example.org").get(0).getHeader("X-Caravan-Protection")[0]).isEqualTo("portal");

        // the update step tagged the contact, through the contact writer, audited without values
        JsonNode contact = HubApi.JSON.readTree(integration().getForEntity("/api/contacts/{id}", String.class, id)
                .getBody());
        assertThat(contact.at("/attributes/tags").toString()).contains("diabetes-education");
        assertThat(contact.at("/attributes/diabetesEducationFrom").asText()).isNotBlank();
        JsonNode trail = HubApi.JSON.readTree(rest.withBasicAuth(TestHub.COMPLIANCE, TestHub.USER_PASSWORD)
                .getForEntity("/api/audit?contact={id}&action=contact.updated", String.class, id).getBody());
        assertThat(trail).hasSize(1);
        assertThat(trail.get(0).get("actor").asText()).isEqualTo("workflow:diabetes-education");

        clock.ahead = Duration.ofDays(7).plusMinutes(1);
        JsonNode done = awaitJourney(id, "diabetes-education", "completed");
        assertThat(done.get("reason").asText()).isEqualTo("completed");
        Awaitility.await().atMost(Duration.ofSeconds(15)).until(() -> mailTo("diabetes@example.org").size() == 2);
        // the tag keeps the series to once per patient: a later update with the same code starts nothing
        send(Hl7Messages.adt("A08", Hl7Messages.controlId(), "WF-6", "Journey", "Jo", "diabetes@example.org",
                hubNow()) + "DG1|1||E11.9^Type 2 diabetes mellitus without complications^I10\r");
        Thread.sleep(1500);
        JsonNode all = HubApi.JSON.readTree(integration().getForEntity("/api/contacts/{id}/journeys", String.class,
                id).getBody());
        assertThat(all.findValuesAsText("workflow")).containsOnlyOnce("diabetes-education");
    }

    @Test
    void theWorkflowsAreListedForOperatorsAndJourneysOnlyForRolesThatMayReadPhi() throws Exception {
        JsonNode all = HubApi.JSON.readTree(rest.withBasicAuth(TestHub.OPERATOR, TestHub.USER_PASSWORD)
                .getForEntity("/api/workflows", String.class).getBody());
        assertThat(all.size()).isEqualTo(4);
        assertThat(rest.withBasicAuth(TestHub.OPERATOR, TestHub.USER_PASSWORD).getForEntity(
                "/api/contacts/{id}/journeys", String.class, UUID.randomUUID()).getStatusCode())
                .isEqualTo(HttpStatus.FORBIDDEN);
    }
}
