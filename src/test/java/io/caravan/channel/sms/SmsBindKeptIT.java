package io.caravan.channel.sms;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.caravan.support.HubApi;
import io.caravan.support.TestHub;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The hub keeps its bind to the SMSC: bound from the start, before it has anything to send, so a patient's STOP is
 * taken at once - and reaches the patient's consent record, since the number book follows the event log; and after the bind drops, bound again with waits that double from the adapter's
 * {@code reconnectSeconds} up to its {@code reconnectMaxSeconds} while the SMSC refuses - the texts meanwhile wait,
 * deferred, and go once it accepts.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@DirtiesContext
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SmsBindKeptIT {

    static final TestHub HUB = TestHub.named("sms-kept");
    static final TestSmsc SMSC = new TestSmsc(TestSmsc.freePort());

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) throws IOException {
        HUB.register(r);
        SMSC.start();
        SmsHub.adapter(HUB, r, "test-smsc", SMSC.port, """
                throughput: 200
                reconnectSeconds: 1
                reconnectMaxSeconds: 8
                program: Mercy Health reminders
                support: 217-555-0100
                """);
        SmsHub.anyHourNoCap(r);
    }

    @AfterAll
    static void down() throws IOException {
        SMSC.close();
    }

    @Autowired
    TestRestTemplate rest;

    @Autowired
    SmsNumberBook book;

    boolean allowed(UUID contact) throws IOException {
        return SmsHub.allowed(HUB, rest, contact);
    }

    @Test
    @Order(1)
    void aStopTextedBeforeTheHubSentAnythingIsTakenAtOnce() throws Exception {
        // nothing planned, nothing sent: the hub is bound all the same
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> SMSC.binds.get() == 1);
        assertThat(SMSC.submitted).isEmpty();
        assertThat(SMSC.bindTypes).containsExactly("BIND_TRX");

        UUID patient = SmsHub.patient(HUB, rest, "KEPT-1", "Keptbind", "5550401");
        // the number book learns the number from the registration, before any text to it
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> book.contacts("+12175550401").contains(patient));
        assertThat(allowed(patient)).isTrue();
        SMSC.mo("12175550401", "STOP");
        // the patient's own consent record, not only the number's block
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> !allowed(patient));
        // the one confirmation is the first submit the hub ever made
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> SMSC.submitted.size() == 1);
        assertThat(SMSC.submitted.get(0).destination()).isEqualTo("12175550401");
        assertThat(SmsText.decodeGsm7(SMSC.submitted.get(0).shortMessage())).contains("unsubscribed");
        JsonNode audit = HubApi.JSON.readTree(rest.withBasicAuth(TestHub.COMPLIANCE, TestHub.USER_PASSWORD)
                .getForEntity("/api/audit?contact={id}", String.class, patient).getBody());
        assertThat(audit.toString()).contains("consent.recorded", "sms-keyword");
        String after = SmsHub.plan(HUB, rest, patient, "appointment-reminder", "treatment", SmsHub.REMINDER);
        assertThat(SmsHub.message(HUB, rest, after).get("status").asText()).isEqualTo("blocked");
        assertThat(SmsHub.message(HUB, rest, after).get("reasons").toString()).contains("opt-out");
        assertThat(SMSC.submitted).hasSize(1);
    }

    @Test
    @Order(2)
    void aDroppedBindIsTriedAgainWithDoublingWaitsAndTheTextsWaitingGoOnceTheSmscAccepts() throws Exception {
        UUID patient = SmsHub.patient(HUB, rest, "KEPT-2", "Keptbind", "5550402");
        int attemptsBefore = SMSC.bindAttempts.size();
        SMSC.refuseBinds();

        String during = SmsHub.plan(HUB, rest, patient, "appointment-reminder", "treatment", SmsHub.REMINDER);
        SmsHub.awaitStatus(HUB, rest, during, "deferred");
        assertThat(SmsHub.message(HUB, rest, during).get("reasons").toString()).contains("connection");

        // tries at about 1, 2, 4, 8 and 8 s after each other (the cap): five refused binds after the drop
        Awaitility.await().atMost(Duration.ofSeconds(45)).pollInterval(Duration.ofMillis(200))
                .until(() -> SMSC.bindAttempts.size() - attemptsBefore >= 5);
        List<Long> tries = new ArrayList<>(SMSC.bindAttempts.subList(attemptsBefore, attemptsBefore + 5));
        long[] expected = {2_000, 4_000, 8_000, 8_000};
        for (int i = 0; i < expected.length; i++) {
            long gap = (tries.get(i + 1) - tries.get(i)) / 1_000_000;
            assertThat(gap).as("wait before try %d after the drop (ms)", i + 2)
                    .isBetween(expected[i] * 9 / 10, expected[i] + 1_500);
        }
        assertThat(SMSC.submitted).as("nothing went while the SMSC refused").hasSize(1);

        // the SMSC accepts again: bound at the next try (at most 8 s), and the deferred text goes at the next
        // message-retry round (every 5 s)
        SMSC.acceptBinds();
        long accepted = System.nanoTime();
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> SMSC.binds.get() == 2);
        SmsHub.awaitStatus(HUB, rest, during, "sent");
        assertThat((System.nanoTime() - accepted) / 1_000_000).as("ms from the SMSC accepting to the text sent")
                .isLessThan(16_000);
        assertThat(SMSC.submitted.stream().filter(s -> s.destination().equals("12175550402")).count()).isEqualTo(1);
        assertThat(SMSC.mostBoundAtOnce.get()).as("never two binds at once").isEqualTo(1);
        JsonNode m = SmsHub.message(HUB, rest, during);
        assertThat(m.get("status").asText()).isEqualTo("sent");
    }
}
