package io.caravan.channel;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.channel.email.transport.Outbox;
import io.caravan.support.HubApi;
import io.caravan.support.TestHub;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.camel.CamelContext;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Planning: a full send queue never holds up whoever plans (a workflow's due steps, an API call) and never loses a
 * message - what does not fit waits in the store, planned, and goes when the senders have room, each message once;
 * a message planned under a key (a workflow step's) is planned once however often it is asked for.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@DirtiesContext
class MessagePlanningIT {

    static final TestHub HUB = TestHub.named("overflow");

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        HUB.register(r);
        r.add("caravan.email.send-queue", () -> "4");
        r.add("caravan.email.domain-rates.slow.example", () -> "2");
    }

    @Autowired
    TestRestTemplate rest;
    @Autowired
    Messages messages;
    @Autowired
    MessageStore store;
    @Autowired
    Outbox outbox;
    @Autowired
    CamelContext camel;
    @Autowired
    io.caravan.contact.ContactStore contactStore;
    @Autowired
    org.springframework.jdbc.core.JdbcTemplate jdbc;
    @Autowired
    io.micrometer.core.instrument.MeterRegistry meters;

    static final Map<String, Object> DATA = Map.of("clinicPhone", "+1 217 555 0100");

    /** Registers {@code n} patients, {@code <prefix><i>@<domain>}, and returns their contact ids. */
    List<UUID> register(String prefix, int n, String domain) throws Exception {
        List<UUID> contacts = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            contacts.add(HubApi.register(HUB, rest, prefix + "-" + i, "Quenby", "Marisol",
                    prefix.toLowerCase(java.util.Locale.ROOT) + i + "@" + domain, ""));
        }
        return contacts;
    }

    static Messages.Request reminder(UUID contact) {
        return new Messages.Request(contact, "appointment-reminder-notice", "email", "treatment", DATA);
    }

    /** A run planned together (a bulk send: the bulk lane). */
    List<UUID> planRun(List<UUID> contacts) {
        return messages.planAll(contacts.stream().map(MessagePlanningIT::reminder).toList(), "test").stream()
                .map(OutboundMessage::id).toList();
    }

    void awaitSent(List<UUID> ids) {
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> ids.stream()
                .allMatch(id -> MessageStatus.SENT.equals(store.find(id).orElseThrow().status())));
    }

    void assertOneMessageEach(List<UUID> contacts) {
        for (UUID c : contacts) {
            assertThat(store.forContact(c)).as("one message per contact, sent once").hasSize(1);
        }
    }

    void awaitAWaitForASlot(List<UUID> ids) {
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> ids.stream().anyMatch(id -> store.find(id)
                .orElseThrow().reasons().contains(Deliveries.DESTINATION_RATE)));
    }

    @Test
    void aMessagePlannedUnderAKeyIsPlannedOnce() throws Exception {
        UUID c = HubApi.register(HUB, rest, "KEY-1", "Quenby", "Marisol", "key1@example.org", "");
        io.caravan.contact.Contact contact = contactStore.findById(c).orElseThrow();
        UUID key = UUID.nameUUIDFromBytes("journey:test:step".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        Messages.Request r = new Messages.Request(c, "appointment-reminder-notice", "email", "treatment",
                Map.of("clinicPhone", "+1 217 555 0100"));
        OutboundMessage first = messages.planAs(key, r, "test", contact);
        OutboundMessage again = messages.planAs(key, r, "test", contact);
        assertThat(again.id()).isEqualTo(first.id()).isEqualTo(key);
        assertThat(store.forContact(c)).hasSize(1);
        Awaitility.await().atMost(Duration.ofSeconds(15)).until(() -> Files.exists(outbox.dir().resolve(key + ".eml")));
    }

    @Test
    @org.junit.jupiter.api.Timeout(120)   // before parking, the fifth plan waited for the senders for ever
    void whatTheQueueCannotTakeWaitsInTheStoreAndGoesOnceThereIsRoom() throws Exception {
        List<UUID> contacts = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            contacts.add(HubApi.register(HUB, rest, "OVF-" + i, "Quenby", "Marisol", "ovf" + i + "@example.org", ""));
        }
        // the senders stop: the queue (4 places) fills and stays full
        camel.getRouteController().stopRoute("send-prompt");
        List<UUID> planned = new ArrayList<>();
        long t0 = System.nanoTime();
        for (UUID c : contacts) {
            planned.add(messages.plan(new Messages.Request(c, "appointment-reminder-notice", "email", "treatment",
                    Map.of("clinicPhone", "+1 217 555 0100")), "test").id());
        }
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("planning did not wait for the senders")
                .isLessThan(Duration.ofSeconds(5));
        assertThat(planned).allSatisfy(id -> assertThat(store.find(id).orElseThrow().status())
                .isEqualTo(MessageStatus.PLANNED));

        camel.getRouteController().startRoute("send-prompt");
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> planned.stream()
                .allMatch(id -> MessageStatus.SENT.equals(store.find(id).orElseThrow().status())));
        for (UUID id : planned) {
            assertThat(outbox.dir().resolve(id + ".eml")).exists();
        }
        for (UUID c : contacts) {
            assertThat(store.forContact(c)).as("one message per contact, sent once").hasSize(1);
        }
    }

    @Test
    @org.junit.jupiter.api.Timeout(120)
    void aBulkBacklogNeverHoldsUpAMessagePlannedOnItsOwn() throws Exception {
        List<UUID> contacts = register("LANE", 16, "example.org");
        camel.getRouteController().stopRoute("send-bulk");
        camel.getRouteController().stopRoute("send-prompt");
        List<UUID> bulk;
        List<UUID> prompt = new ArrayList<>();
        try {
            // a bulk send of 10: 4 fill the bulk lane's queue, 6 wait in the store, parked first
            bulk = planRun(contacts.subList(0, 10));
            // then 6 planned one at a time: 4 fill the prompt lane's queue, 2 are parked after the bulk ones
            for (UUID c : contacts.subList(10, 16)) {
                prompt.add(messages.plan(reminder(c), "test").id());
            }
            assertThat(meters.get("caravan.send.queued").tag("lane", "bulk").gauge().value()).isEqualTo(4);
            assertThat(meters.get("caravan.send.queued").tag("lane", "prompt").gauge().value()).isEqualTo(4);
            camel.getRouteController().startRoute("send-prompt");
            // the two parked ones come from the store on the retry sweep, past six bulk ones due earlier whose lane
            // is full
            awaitSent(prompt);
            assertThat(bulk).as("the bulk lane is held, its messages wait").allSatisfy(id -> assertThat(
                    store.find(id).orElseThrow().status()).isEqualTo(MessageStatus.PLANNED));
        } finally {
            camel.getRouteController().startRoute("send-prompt");
            camel.getRouteController().startRoute("send-bulk");
        }
        awaitSent(bulk);
        assertOneMessageEach(contacts);
    }

    @Test
    @org.junit.jupiter.api.Timeout(120)
    void aLimitedDomainGetsBulkMessagesAtItsRateAndAPromptOneAtOnce() throws Exception {
        List<UUID> contacts = register("RATE", 7, "Slow.Example");
        // slow.example takes 2 messages/s: a bulk run of 6 gets slots 500 ms apart, the last 2.5 s after the first
        List<UUID> bulk = planRun(contacts.subList(0, 6));
        awaitAWaitForASlot(bulk);
        long planned = System.nanoTime();
        UUID prompt = messages.plan(reminder(contacts.get(6)), "test").id();
        Awaitility.await().atMost(Duration.ofSeconds(4)).until(() -> MessageStatus.SENT.equals(store.find(prompt)
                .orElseThrow().status()));
        assertThat(Duration.ofNanos(System.nanoTime() - planned)).as("the prompt one did not wait for a slot")
                .isLessThan(Duration.ofSeconds(4));
        awaitSent(bulk);
        List<java.time.Instant> sent = bulk.stream().map(id -> store.find(id).orElseThrow().updatedAt()).sorted()
                .toList();
        assertThat(Duration.between(sent.get(0), sent.get(5))).as("6 messages at 2/s").isGreaterThanOrEqualTo(
                Duration.ofSeconds(2));
        for (UUID id : bulk) {
            assertThat(outbox.dir().resolve(id + ".eml")).exists();
        }
        assertOneMessageEach(contacts);
    }

    @Test
    @org.junit.jupiter.api.Timeout(120)
    void aHeldBulkLaneKeepsItsMessagesInTheStoreUntilItGoesAgain() throws Exception {
        List<UUID> contacts = register("HOLD", 3, "slow.example");
        // at 2/s the second and third wait in the store for their slots, deferred
        List<UUID> bulk = planRun(contacts);
        awaitAWaitForASlot(bulk);
        camel.getRouteController().stopRoute("send-bulk");
        List<UUID> waiting = bulk.stream().filter(id -> store.find(id).orElseThrow().status()
                != MessageStatus.SENT).toList();
        try {
            assertThat(waiting).isNotEmpty();
            // their slots pass and a retry sweep runs: nothing goes into a queue no sender reads, nothing is leased
            Thread.sleep(7_000);
            assertThat(camel.getEndpoint("seda:send-queue-bulk", org.apache.camel.component.seda.SedaEndpoint.class)
                    .getCurrentQueueSize()).isZero();
            assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM outbound_message WHERE next_attempt_at > ?"
                    + " AND id IN (" + String.join(",", java.util.Collections.nCopies(waiting.size(), "?")) + ")",
                    Integer.class, java.util.stream.Stream.concat(java.util.stream.Stream.of(java.sql.Timestamp
                            .from(java.time.Instant.now().plusSeconds(60))), waiting.stream()).toArray()))
                    .as("left due in the store, not leased").isZero();
            assertThat(waiting).allSatisfy(id -> assertThat(store.find(id).orElseThrow().status())
                    .isEqualTo(MessageStatus.DEFERRED));
        } finally {
            camel.getRouteController().startRoute("send-bulk");
        }
        awaitSent(bulk);
        assertOneMessageEach(contacts);
    }
}
