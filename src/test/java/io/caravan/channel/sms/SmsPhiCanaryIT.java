package io.caravan.channel.sms;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.caravan.support.HubApi;
import io.caravan.support.TestHub;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.awaitility.Awaitility;
import org.jsmpp.util.DeliveryReceiptState;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * PHI canary for SMS: with the whole hub (Camel included) at DEBUG, a patient's number and the words of their texts
 * - sent, receipted, refused, deferred while the SMSC is down, and MO texts back - appear in no log line. camel-smpp
 * and jsmpp print PDUs at DEBUG; application.yaml keeps them at WARN whatever the root level is.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "logging.level.root=DEBUG", "logging.level.io.caravan=DEBUG", "logging.level.org.apache.camel=DEBUG",
        "logging.level.org.springframework.web.client=INFO", "logging.level.jdk.internal.httpclient=INFO"})
@ExtendWith(OutputCaptureExtension.class)
@org.springframework.test.annotation.DirtiesContext
class SmsPhiCanaryIT {

    static final TestHub HUB = TestHub.named("sms-canary");
    static final TestSmsc SMSC = new TestSmsc(TestSmsc.freePort());
    /** The canary number's last seven digits, and a word that only the patient's text contains. */
    static final String LINE = "5558" + (100 + (int) (System.nanoTime() % 800));
    static final String WORD = "Zanzibarquux";

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) throws IOException {
        HUB.register(r);
        SMSC.start();
        SmsHub.adapter(HUB, r, "canary-smsc", SMSC.port, "reconnectSeconds: 1\nreconnectMaxSeconds: 2\n");
        SmsHub.anyHourNoCap(r);
    }

    @AfterAll
    static void down() throws IOException {
        SMSC.close();
    }

    @Autowired
    TestRestTemplate rest;

    String status(String id) throws IOException {
        return HubApi.JSON.readTree(rest.withBasicAuth("admin", HUB.adminPassword())
                .getForEntity("/api/messages/{id}", String.class, id).getBody()).get("status").asText();
    }

    String plan(UUID c) throws IOException {
        JsonNode m = HubApi.JSON.readTree(HubApi.post(rest.withBasicAuth("admin", HUB.adminPassword()),
                "/api/messages", Map.of("contactId", c, "template", "appointment-reminder", "channel", "sms",
                        "purpose", "treatment", "data", Map.of("appointmentDate", "2030-01-02", "appointmentTime",
                                "09:30", "clinicPhone", WORD))).getBody());
        return m.get("id").asText();
    }

    @Test
    void numbersAndTextsReachNoLogLine(CapturedOutput out) throws Exception {
        UUID contact = SmsHub.patient(HUB, rest, "CAN-SMS-1", "Canary", LINE);

        String first = plan(contact);
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> "sent".equals(status(first)));
        SMSC.receipt(SMSC.submitted.get(0).id(), DeliveryReceiptState.DELIVRD, "000");
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> "delivered".equals(status(first)));

        SMSC.mo("1217" + LINE, "see you then " + WORD);
        SMSC.mo("1217" + LINE, "HELP");
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> SMSC.submitted.size() == 2);

        SMSC.refuse = 0x45; // submit failed: a generic SMSC error, deferred
        String refused = plan(contact);
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> "deferred".equals(status(refused)));
        SMSC.refuse = 0;

        SMSC.stop();
        String down = plan(contact);
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> "deferred".equals(status(down)));
        SMSC.start();
        Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> "sent".equals(status(down)));

        SMSC.mo("1217" + LINE, "STOP");
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> SMSC.submitted.size() >= 4);
        Thread.sleep(1000);

        String log = out.getAll();
        assertThat(log).as("the hub logged at DEBUG").contains("DEBUG");
        assertThat(log).doesNotContain(LINE).doesNotContain(WORD).doesNotContain(WORD.toLowerCase());
    }
}
