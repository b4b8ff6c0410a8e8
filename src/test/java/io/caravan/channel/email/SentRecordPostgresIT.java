package io.caravan.channel.email;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.caravan.channel.Deliveries;
import io.caravan.support.HubApi;
import io.caravan.support.PostgresSupport;
import io.caravan.support.TestHub;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.http.ResponseEntity;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * PostgreSQL goes away after the relay took a message and before the hub recorded it (the SMTP server stops the
 * database while it answers the DATA): the message went, so it must end {@code sent} with its disclosure recorded once
 * - not {@code failed}, and not left planned to go a second time.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@DirtiesContext
class SentRecordPostgresIT {

    static final TestHub HUB = TestHub.namedPostgres("sent-record");
    static final TestSmtpServers.StartTls RELAY;
    static final Path ADAPTERS;
    /** Set by the test: the next message the relay takes stops PostgreSQL before the relay answers 250. */
    static final AtomicBoolean STOP_ON_DATA = new AtomicBoolean();
    static final CompletableFuture<Void> STOPPED = new CompletableFuture<>();
    /** Set by a test: run when the relay takes the next message, before it answers 250. */
    static final java.util.concurrent.atomic.AtomicReference<Runnable> ON_DATA =
            new java.util.concurrent.atomic.AtomicReference<>();

    static {
        try {
            Path certs = Files.createTempDirectory("caravan-sent-record-certs");
            Path ca = TestSmtpServers.caAndServer(certs);
            RELAY = new TestSmtpServers.StartTls(TestSmtpServers.tls(certs.resolve("server.p12")));
            RELAY.verdict = r -> {
                if (STOP_ON_DATA.getAndSet(false)) {
                    STOPPED.complete(null);
                    PostgresSupport.stopOrStartPrivateCluster(false);
                }
                Runnable hook = ON_DATA.getAndSet(null);
                if (hook != null) {
                    hook.run();
                }
                return 0;
            };
            ADAPTERS = io.caravan.support.RelayAdapters.smtp(Files.createTempDirectory("caravan-sent-record-adapters"),
                    "test-relay", RELAY.port(), "trustCertificates: " + ca + "\nonwardTls: guaranteed");
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        HUB.register(r);
        r.add("caravan.mapping.adapters-dir", ADAPTERS::toString);
        r.add("caravan.email.relay", () -> "test-relay");
    }

    @AfterAll
    static void stop() {
        RELAY.close();
    }

    @Autowired
    TestRestTemplate rest;
    @Autowired
    Deliveries deliveries;
    @Autowired
    io.caravan.audit.AuditLog audit;

    @Test
    void aMessageThatWentWhileTheDatabaseStoppedIsRecordedSentOnceWhenItIsBack() throws Exception {
        Assumptions.assumeTrue(System.getenv("CARAVAN_TEST_PG_URL") == null,
                "stops the private PostgreSQL cluster; a server named by CARAVAN_TEST_PG_URL is not the test's");
        EmailApi api = new EmailApi(rest);
        UUID id = HubApi.register(HUB, rest, "SENTREC-1", "Quenby", "Marisol", "sent.record@example.org", "");
        JsonNode before = api.sendAndSettle(id, "appointment-reminder-notice", "treatment",
                Map.of("clinicPhone", "+1 217 555 0100"));
        assertThat(before.get("status").asText()).as("a message while all is well").isEqualTo("sent");

        STOP_ON_DATA.set(true);
        ResponseEntity<String> accepted = api.send(TestHub.INTEGRATION, id, "appointment-reminder-notice", "treatment",
                Map.of("clinicPhone", "+1 217 555 0100"));
        String messageId = HubApi.JSON.readTree(accepted.getBody()).get("id").asText();
        STOPPED.get(30, TimeUnit.SECONDS);
        try {
            // the relay has it; the hub cannot write: its record waits on the node
            Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> deliveries.unrecorded() == 1);
            Thread.sleep(3_000);
            assertThat(deliveries.unrecorded()).as("still waiting while the database is down").isEqualTo(1);
        } finally {
            PostgresSupport.stopOrStartPrivateCluster(true);
        }
        Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> deliveries.unrecorded() == 0);
        JsonNode m = api.until(messageId, Set.of("planned", "deferred"));
        assertThat(m.get("status").asText()).as(m.toString()).isEqualTo("sent");
        assertThat(m.get("protection").asText()).isEqualTo("tls");

        // one copy at the relay, and one disclosure for it in the accounting, beside the first message's
        Thread.sleep(2_000);
        assertThat(RELAY.received.stream().filter(r -> r.to().equals("sent.record@example.org")).count())
                .isEqualTo(2);
        assertDisclosedTo(id, "sent.record@example.org", 2);
    }

    /**
     * The trail's writer is held up past the sender's wait (a database that answers again only after the wait gave
     * up): the disclosure's entry is still queued when the sender retries, and the writer commits it later. The retry
     * must wait for that entry, not queue a second one - the message went once and is accounted for once.
     */
    @Test
    void aRecordThatOutwaitedTheTrailIsAccountedForOnce() throws Exception {
        EmailApi api = new EmailApi(rest);
        UUID id = HubApi.register(HUB, rest, "SENTREC-2", "Quenby", "Marisol", "outwaited@example.org", "");
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        // an entry whose change holds the writer's transaction: the disclosure queued behind it waits longer than
        // the sender does (10 s)
        ON_DATA.set(() -> audit.append(io.caravan.audit.AuditDraft.of("test", "hold"), c -> {
            try {
                release.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        ResponseEntity<String> accepted = api.send(TestHub.INTEGRATION, id, "appointment-reminder-notice", "treatment",
                Map.of("clinicPhone", "+1 217 555 0100"));
        String messageId = HubApi.JSON.readTree(accepted.getBody()).get("id").asText();
        try {
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> deliveries.unrecorded() == 1);
            // the sender's retries come round (after 1 s, 2 s, 4 s) while the writer is still held
            Thread.sleep(8_000);
        } finally {
            release.countDown();
        }
        Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> deliveries.unrecorded() == 0);
        JsonNode m = api.until(messageId, Set.of("planned", "deferred"));
        assertThat(m.get("status").asText()).as(m.toString()).isEqualTo("sent");
        Thread.sleep(2_000);
        assertThat(RELAY.received.stream().filter(r -> r.to().equals("outwaited@example.org")).count())
                .isEqualTo(1);
        assertDisclosedTo(id, "outwaited@example.org", 1);
    }

    /** The patient's accounting of disclosures names the recipient {@code times} times. */
    void assertDisclosedTo(UUID contact, String recipient, long times) throws Exception {
        JsonNode disclosures = HubApi.JSON.readTree(rest.withBasicAuth(TestHub.COMPLIANCE, TestHub.USER_PASSWORD)
                .getForEntity("/api/contacts/{id}/disclosures", String.class, contact).getBody());
        assertThat(disclosures.findValuesAsText("recipient").stream().filter(recipient::equals).count())
                .as(disclosures.toString()).isEqualTo(times);
    }
}
