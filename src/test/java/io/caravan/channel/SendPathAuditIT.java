package io.caravan.channel;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.caravan.audit.AuditLog;
import io.caravan.support.HubApi;
import io.caravan.support.TestHub;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The send path's bookkeeping: a message costs the planner one wait for the audit trail (the planning decision
 * committed with the message row) and the sender one (the disclosure committed with the status sent; the send-time
 * decision's entry commits while the channel encrypts and signs) - and the trail still holds every fact it held when
 * each was a commit of its own: both decisions with their rules, the disclosure with recipient, protection and
 * purpose, a chain that verifies, the same accounting of disclosures.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@DirtiesContext
class SendPathAuditIT {

    static final TestHub HUB = TestHub.named("sendpath");

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) throws Exception {
        HUB.register(r);
        // no shipped workflow plans messages of its own for the test's patients while the test counts
        Path none = Files.createTempDirectory("caravan-no-workflows");
        r.add("caravan.workflow.dir", none::toString);
    }

    @Autowired
    TestRestTemplate rest;
    @Autowired
    Messages messages;
    @Autowired
    MessageStore store;
    @Autowired
    AuditLog audit;
    @Autowired
    io.caravan.contact.ContactStore contacts;

    TestRestTemplate compliance() {
        return rest.withBasicAuth(TestHub.COMPLIANCE, TestHub.USER_PASSWORD);
    }

    @Test
    void aSentMessageWaitsForTheTrailOnceWhenPlannedAndOnceWhenSent() throws Exception {
        List<UUID> contacts = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            contacts.add(HubApi.register(HUB, rest, "SEND-" + i, "Quenby", "Marisol", "send" + i + "@example.org",
                    ""));
        }
        long before = audit.waitedAppends();
        List<UUID> sent = new ArrayList<>();
        for (UUID c : contacts) {
            sent.add(messages.plan(new Messages.Request(c, "appointment-reminder-notice", "email", "treatment",
                    Map.of("clinicPhone", "+1 217 555 0100")), "test").id());
        }
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> sent.stream()
                .allMatch(id -> MessageStatus.SENT.equals(store.find(id).orElseThrow().status())));
        // three durable entries per message, each waited for, before (plan decision, send decision, disclosure)
        assertThat(audit.waitedAppends() - before).as("waits for the trail, 5 messages").isEqualTo(2 * 5);
    }

    @Test
    void aRunOfMessagesPlannedTogetherWaitsForTheTrailOnceAndKeepsEachPlanningDecision() throws Exception {
        List<UUID> contacts = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            contacts.add(HubApi.register(HUB, rest, "RUN-" + i, "Quenby", "Marisol", "run" + i + "@example.org",
                    ""));
        }
        long before = audit.waitedAppends();
        List<UUID> sent = messages.planAll(contacts.stream().map(c -> new Messages.Request(c,
                "appointment-reminder-notice", "email", "treatment", Map.of("clinicPhone", "+1 217 555 0100")))
                .toList(), "test").stream().map(OutboundMessage::id).toList();
        assertThat(sent).hasSize(5).doesNotHaveDuplicates();
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> sent.stream()
                .allMatch(id -> MessageStatus.SENT.equals(store.find(id).orElseThrow().status())));
        // one wait for the run's planning, one per message when it is sent
        assertThat(audit.waitedAppends() - before).as("waits for the trail, a run of 5").isEqualTo(1 + 5);
        for (UUID c : contacts) {
            Awaitility.await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
                List<String> stages = new ArrayList<>();
                for (JsonNode e : HubApi.JSON.readTree(compliance().getForEntity("/api/audit?contact={id}",
                        String.class, c).getBody())) {
                    if ("decision".equals(e.get("action").asText())) {
                        stages.add(e.get("details").get("stage").asText());
                    }
                }
                assertThat(stages).containsExactlyInAnyOrder("plan", "send");
            });
        }
    }

    @Test
    void aBatchOfPlansKeepsEachDecisionAndSendsEachMessageOnce() throws Exception {
        List<UUID> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ids.add(HubApi.register(HUB, rest, "BATCH-" + i, "Quenby", "Marisol", "batch" + i + "@example.org", ""));
        }
        Map<UUID, io.caravan.contact.Contact> read = contacts.findAllForSend(ids);
        for (UUID c : ids) {
            assertThat(contacts.findForSend(c).orElseThrow()).as("read for the batch: the gate holds it")
                    .isSameAs(read.get(c));
        }
        List<Messages.PlanAs> plans = new ArrayList<>();
        for (UUID c : ids) {
            plans.add(new Messages.PlanAs(io.caravan.system.Ids.next(), new Messages.Request(c,
                    "appointment-reminder-notice", "email", "treatment", Map.of("clinicPhone", "+1 217 555 0100")),
                    read.get(c), "test-batch"));
        }
        List<OutboundMessage> planned = messages.planAllAs(plans);
        assertThat(planned).extracting(OutboundMessage::status).containsOnly(MessageStatus.PLANNED);
        // asked again, as a campaign does after a crash: the messages already planned, not second ones
        assertThat(messages.planAllAs(plans)).extracting(OutboundMessage::id)
                .containsExactlyElementsOf(planned.stream().map(OutboundMessage::id).toList());
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> planned.stream()
                .allMatch(m -> MessageStatus.SENT.equals(store.find(m.id()).orElseThrow().status())));
        for (UUID c : ids) {
            Awaitility.await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
                List<JsonNode> entries = new ArrayList<>();
                HubApi.JSON.readTree(compliance().getForEntity("/api/audit?contact={id}", String.class, c)
                        .getBody()).forEach(entries::add);
                assertThat(entries).filteredOn(e -> "disclosure".equals(e.get("action").asText()))
                        .as("sent once").hasSize(1);
                assertThat(entries).filteredOn(e -> "decision".equals(e.get("action").asText())
                        && "send".equals(e.get("details").get("stage").asText())).hasSize(1);
                assertThat(entries).filteredOn(e -> "decision".equals(e.get("action").asText())
                        && "plan".equals(e.get("details").get("stage").asText()))
                        .as("each planning's decision, with its rules").isNotEmpty()
                        .allSatisfy(e -> {
                            assertThat(e.get("actor").asText()).isEqualTo("test-batch");
                            assertThat(e.get("outcome").asText()).isEqualTo("allow");
                            assertThat(e.get("details").get("rules").size()).isPositive();
                        });
            });
        }
    }

    @Test
    void theSendPathDecryptsAContactAgainOnlyWhenItChanged() throws Exception {
        UUID c = HubApi.register(HUB, rest, "CACHE-1", "Quenby", "Marisol", "before@example.org", "");
        io.caravan.contact.Contact first = contacts.findForSend(c).orElseThrow();
        assertThat(contacts.findForSend(c).orElseThrow()).as("unchanged: held, not decrypted again").isSameAs(first);
        OutboundMessage one = messages.plan(new Messages.Request(c, "appointment-reminder-notice", "email",
                "treatment", Map.of("clinicPhone", "+1 217 555 0100")), "test");
        Awaitility.await().atMost(Duration.ofSeconds(30))
                .until(() -> MessageStatus.SENT.equals(store.find(one.id()).orElseThrow().status()));

        // the feed moves the patient to another address: the next message goes there, not to the one held
        try (io.caravan.support.MllpTestClient mllp = new io.caravan.support.MllpTestClient(HUB.mllpPort)) {
            assertThat(io.caravan.support.MllpTestClient.msa1(mllp.exchange(io.caravan.support.Hl7Messages.adt("A08",
                    io.caravan.support.Hl7Messages.controlId(), "CACHE-1", "Quenby", "Marisol", "after@example.org",
                    java.time.OffsetDateTime.parse("2026-03-02T09:00:00-05:00")), 10_000))).isEqualTo("AA");
        }
        assertThat(contacts.findForSend(c).orElseThrow().email).isEqualTo("after@example.org");
        OutboundMessage two = messages.plan(new Messages.Request(c, "appointment-reminder-notice", "email",
                "treatment", Map.of("clinicPhone", "+1 217 555 0100")), "test");
        Awaitility.await().atMost(Duration.ofSeconds(30))
                .until(() -> MessageStatus.SENT.equals(store.find(two.id()).orElseThrow().status()));
        JsonNode accounting = HubApi.JSON.readTree(compliance().getForEntity("/api/contacts/{id}/disclosures",
                String.class, c).getBody()).get("disclosures");
        assertThat(accounting).extracting(d -> d.get("recipient").asText())
                .containsExactly("before@example.org", "after@example.org");
    }

    @Test
    void theTrailKeepsBothDecisionsAndTheDisclosureOfEachMessage() throws Exception {
        UUID c = HubApi.register(HUB, rest, "FACTS-1", "Quenby", "Marisol", "facts1@example.org", "");
        OutboundMessage m = messages.plan(new Messages.Request(c, "appointment-reminder-notice", "email",
                "treatment", Map.of("clinicPhone", "+1 217 555 0100")), "test");
        Awaitility.await().atMost(Duration.ofSeconds(30))
                .until(() -> MessageStatus.SENT.equals(store.find(m.id()).orElseThrow().status()));
        OutboundMessage done = store.find(m.id()).orElseThrow();

        List<JsonNode> decisions = new ArrayList<>();
        List<JsonNode> disclosures = new ArrayList<>();
        Awaitility.await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
            decisions.clear();
            disclosures.clear();
            for (JsonNode e : HubApi.JSON.readTree(compliance().getForEntity("/api/audit?contact={id}", String.class,
                    c).getBody())) {
                if ("decision".equals(e.get("action").asText())) {
                    decisions.add(e);
                } else if ("disclosure".equals(e.get("action").asText())) {
                    disclosures.add(e);
                }
            }
            assertThat(disclosures).hasSize(1);
        });
        assertThat(decisions).extracting(e -> e.get("details").get("stage").asText())
                .containsExactly("plan", "send");
        for (JsonNode d : decisions) {
            assertThat(d.get("actor").asText()).isIn("test", "route:message-send");
            assertThat(d.get("outcome").asText()).isEqualTo("allow");
            assertThat(d.get("purpose").asText()).isEqualTo("treatment");
            assertThat(d.get("channel").asText()).isEqualTo("email");
            assertThat(d.get("details").get("rules").size()).isPositive();
            assertThat(d.get("details").get("content").asText()).isNotBlank();
        }
        assertThat(decisions.get(1).get("seq").asLong()).as("the send decision before its disclosure")
                .isLessThan(disclosures.get(0).get("seq").asLong());
        JsonNode disclosure = disclosures.get(0);
        assertThat(disclosure.get("actor").asText()).isEqualTo("route:message-send");
        assertThat(disclosure.get("purpose").asText()).isEqualTo("treatment");
        assertThat(disclosure.get("outcome").asText()).isEqualTo(done.protection() == null ? "none"
                : done.protection());
        assertThat(disclosure.get("details").get("recipient").asText()).isEqualTo("facts1@example.org");
        assertThat(disclosure.get("details").get("messageId").asText()).isEqualTo(m.id().toString());
        assertThat(disclosure.get("details").get("description").asText())
                .isEqualTo("email appointment-reminder-notice");

        JsonNode accounting = HubApi.JSON.readTree(compliance().getForEntity("/api/contacts/{id}/disclosures",
                String.class, c).getBody()).get("disclosures");
        assertThat(accounting).hasSize(1);
        assertThat(accounting.get(0).get("recipient").asText()).isEqualTo("facts1@example.org");
        assertThat(accounting.get(0).get("purpose").asText()).isEqualTo("treatment");
        assertThat(accounting.get(0).get("exempt").asBoolean()).isTrue();

        JsonNode verify = HubApi.JSON.readTree(compliance().getForEntity("/api/audit/verify", String.class)
                .getBody());
        assertThat(verify.get("valid").asBoolean()).isTrue();
    }
}
