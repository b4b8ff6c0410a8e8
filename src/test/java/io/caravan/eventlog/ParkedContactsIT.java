package io.caravan.eventlog;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.contact.ContactStore.LoggedEvent;
import io.caravan.support.Hl7Messages;
import io.caravan.support.MllpTestClient;
import io.caravan.support.TestHub;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.http.HttpEntity;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * A parked contact as an operator meets it on a running hub (issue 17): a subscriber of the hub's event pump fails on
 * one patient's admission; the API, the Prometheus gauge, the MBean Hawtio reads through the read-only Jolokia and
 * {@code GET /api/cluster} show the contact parked with its held event; "retry" tries again at once; "skip" gives the
 * failed event up, is audited, and the held event is then acted on.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@Import(ParkedContactsIT.Subscribers.class)
@DirtiesContext
class ParkedContactsIT {

    static final TestHub HUB = TestHub.named("parked");
    static final ObjectMapper JSON = new ObjectMapper();
    static final String NAME = "it-parked";

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        HUB.register(r);
        // long enough that a second attempt within the test is the operator's retry, not the backoff's
        r.add("caravan.event-log.retry.first-backoff", () -> "10m");
        r.add("caravan.event-log.retry.max-backoff", () -> "30m");
    }

    /** Pumped like the hub's own subscribers; fails on admissions; records what it acted on and each attempt. */
    static class Failing implements EventSubscriber {
        final Set<String> failOn = Set.of("patient.admitted");
        final List<LoggedEvent> acted = new CopyOnWriteArrayList<>();
        final List<LoggedEvent> failed = new CopyOnWriteArrayList<>();

        @Override
        public String subscriberName() {
            return NAME;
        }

        @Override
        public void onEvent(LoggedEvent e) {
            if (failOn.contains(e.event().type())) {
                failed.add(e);
                throw new IllegalStateException("refused by the test");
            }
            acted.add(e);
        }
    }

    @TestConfiguration
    static class Subscribers {
        @Bean
        Failing failing() {
            return new Failing();
        }
    }

    @Autowired
    Failing subscriber;
    @Autowired
    TestRestTemplate rest;

    TestRestTemplate operator() {
        return rest.withBasicAuth(TestHub.OPERATOR, TestHub.USER_PASSWORD);
    }

    JsonNode parked() throws Exception {
        ResponseEntity<String> r = operator().getForEntity("/api/event-log/parked?subscriber=" + NAME, String.class);
        assertThat(r.getStatusCode()).as(r.toString()).isEqualTo(HttpStatus.OK);
        return JSON.readTree(r.getBody());
    }

    String prometheus() {
        return operator().getForEntity("/actuator/prometheus", String.class).getBody();
    }

    JsonNode jolokia(String request) throws Exception {
        HttpHeaders h = new HttpHeaders();
        h.setContentType(MediaType.APPLICATION_JSON);
        return JSON.readTree(operator().postForEntity("/actuator/jolokia", new HttpEntity<>(request, h), String.class)
                .getBody());
    }

    @Test
    void aParkedContactIsShownRetriedAndSkippedWhileOthersGoOn() throws Exception {
        String tag = UUID.randomUUID().toString().substring(0, 6);
        String mrn = "PARK-" + tag;
        String other = "FREE-" + tag;
        try (MllpTestClient c = new MllpTestClient(HUB.mllpPort)) {
            for (String hl7 : List.of(
                    Hl7Messages.adt("A01", Hl7Messages.controlId(), mrn, "Parkinson", "Pat", "pat@example.org",
                            OffsetDateTime.now()),
                    Hl7Messages.adt("A08", Hl7Messages.controlId(), mrn, "Parkinson", "Pat", "pat2@example.org",
                            OffsetDateTime.now()),
                    Hl7Messages.adt("A04", Hl7Messages.controlId(), other, "Freeman", "Fay", "fay@example.org",
                            OffsetDateTime.now()))) {
                assertThat(MllpTestClient.msa1(c.exchange(hl7, 10_000))).isEqualTo("AA");
            }
        }
        Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> subscriber.failed.size() == 1
                && subscriber.acted.stream().anyMatch(e -> e.event().type().equals("patient.registered")));
        LoggedEvent admitted = subscriber.failed.get(0);
        UUID contact = admitted.contactId();
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> parked().size() == 1
                && parked().get(0).get("events").size() == 2);
        assertThat(subscriber.acted).as("the patient's update waits behind the failed admission")
                .noneMatch(e -> e.contactId().equals(contact));

        JsonNode p = parked().get(0);
        assertThat(p.get("subscriber").asText()).isEqualTo(NAME);
        assertThat(p.get("contactId").asText()).isEqualTo(contact.toString());
        assertThat(p.get("events").get(0).get("eventId").asText()).isEqualTo(admitted.event().id().toString());
        assertThat(p.get("events").get(0).get("position").asLong()).isEqualTo(admitted.position());
        assertThat(p.get("attempts").asInt()).isEqualTo(1);
        assertThat(p.get("exhausted").asBoolean()).isFalse();
        assertThat(p.get("error").asText()).as("the class and where it arose, not the message")
                .startsWith("IllegalStateException at ParkedContactsIT$").doesNotContain("refused");
        assertThat(Instant.parse(p.get("nextAttempt").asText())).as("backed off")
                .isAfter(Instant.now().plus(Duration.ofMinutes(5)));
        assertThat(p.toString()).doesNotContain(mrn, "Parkinson", "pat@example.org", "refused");

        assertThat(prometheus()).contains("caravan_event_log_parked_contacts{subscriber=\"" + NAME + "\"} 1.0")
                .containsPattern("caravan_event_log_lag\\{subscriber=\"" + NAME + "\"} \\d");
        JsonNode mbean = jolokia("{\"type\":\"read\",\"mbean\":\"io.caravan:type=EventLog,subscriber=" + NAME
                + "\"}");
        assertThat(mbean.get("status").asInt()).as(mbean.toString()).isEqualTo(200);
        assertThat(mbean.get("value").get("ParkedContacts").asLong()).isEqualTo(1);
        assertThat(mbean.get("value").has("Lag")).isTrue();
        JsonNode cluster = JSON.readTree(operator().getForEntity("/api/cluster", String.class).getBody());
        JsonNode mine = null;
        for (JsonNode s : cluster.get("subscribers")) {
            if (s.get("subscriber").asText().equals(NAME)) {
                mine = s;
            }
        }
        assertThat(mine).as(cluster.toString()).isNotNull();
        assertThat(mine.get("parkedContacts").asLong()).isEqualTo(1);

        ResponseEntity<String> retry = operator().postForEntity("/api/event-log/parked/" + NAME + "/" + contact
                + "/retry", null, String.class);
        assertThat(retry.getStatusCode()).as(retry.toString()).isEqualTo(HttpStatus.ACCEPTED);
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> subscriber.failed.size() == 2);
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> parked().get(0).get("attempts").asInt() == 2);

        ResponseEntity<String> skip = operator().postForEntity("/api/event-log/parked/" + NAME + "/" + contact
                + "/skip", null, String.class);
        assertThat(skip.getStatusCode()).as(skip.toString()).isEqualTo(HttpStatus.OK);
        JsonNode skipped = JSON.readTree(skip.getBody());
        assertThat(skipped.get("skipped").get("eventId").asText()).isEqualTo(admitted.event().id().toString());
        assertThat(skipped.get("released").asInt()).isEqualTo(1);
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> subscriber.acted.stream()
                .anyMatch(e -> e.contactId().equals(contact) && e.event().type().equals("patient.updated")));
        assertThat(subscriber.acted.stream().filter(e -> e.contactId().equals(contact)).toList())
                .as("the held update once, the skipped admission never").hasSize(1);
        assertThat(parked()).isEmpty();
        assertThat(prometheus()).contains("caravan_event_log_parked_contacts{subscriber=\"" + NAME + "\"} 0.0");

        String audit = rest.withBasicAuth(TestHub.COMPLIANCE, TestHub.USER_PASSWORD)
                .getForEntity("/api/audit?contact={id}", String.class, contact).getBody();
        assertThat(audit).contains("event-log.skipped", "event-log.retried", TestHub.OPERATOR,
                admitted.event().id().toString());

        ResponseEntity<String> again = operator().postForEntity("/api/event-log/parked/" + NAME + "/" + contact
                + "/skip", null, String.class);
        assertThat(again.getStatusCode()).as("no longer parked").isEqualTo(HttpStatus.NOT_FOUND);
    }
}
