package io.caravan.channel.sms;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.caravan.support.HubApi;
import io.caravan.support.TestHub;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Interoperability with an SMPP implementation that is not jsmpp: Debian's Net::SMPP (libnet-smpp-perl, installed by
 * .ci/run) is the SMSC. The hub binds as a transceiver, submits a GSM-7 text with a receipt requested, takes the
 * receipt Net::SMPP sends (delivered), and an MO "STOP" from the patient's number opts them out with one confirmation.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@DirtiesContext
class SmsNetSmppIT {

    static final TestHub HUB = TestHub.named("sms-net-smpp");
    static final int PORT = TestSmsc.freePort();
    static final List<String> SEEN = new CopyOnWriteArrayList<>();
    static Process smsc;

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) throws Exception {
        HUB.register(r);
        Path script = Path.of("src/test/resources/smpp/net-smpp-smsc.pl");
        smsc = new ProcessBuilder("/usr/bin/perl", script.toString(), String.valueOf(PORT), "Stop.")
                .redirectErrorStream(true).start();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(smsc.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    SEEN.add(line);
                }
            } catch (IOException e) {
                SEEN.add("READ-FAILED");
            }
        }, "net-smpp-stdout");
        reader.setDaemon(true);
        reader.start();
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> SEEN.contains("LISTENING")
                || !smsc.isAlive());
        assertThat(SEEN).as("Net::SMPP (libnet-smpp-perl) runs: .ci/run installs it").contains("LISTENING");

        SmsHub.adapter(HUB, r, "net-smpp", PORT, "program: Mercy Health reminders\n");
        r.add("caravan.sms.quiet-hours.window", () -> "00:00-23:59:59");
    }

    @AfterAll
    static void down() {
        System.out.println("Net::SMPP SMSC said: " + SEEN);
        if (smsc != null) {
            smsc.destroy();
        }
    }

    @Autowired
    TestRestTemplate rest;

    TestRestTemplate admin() {
        return rest.withBasicAuth("admin", HUB.adminPassword());
    }

    String status(String id) throws IOException {
        return HubApi.JSON.readTree(admin().getForEntity("/api/messages/{id}", String.class, id).getBody())
                .get("status").asText();
    }

    List<String> submits() {
        return SEEN.stream().filter(l -> l.startsWith("SUBMIT ")).toList();
    }

    @Test
    void theHubBindsSubmitsTakesTheReceiptAndHonoursAStopFromNetSmpp() throws Exception {
        UUID contact = SmsHub.patient(HUB, rest, "NET-1", "Perl", "5550401");
        String id = SmsHub.plan(HUB, rest, contact, "appointment-reminder", "treatment", SmsHub.REMINDER);

        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> "delivered".equals(status(id)));
        assertThat(SEEN).contains("BOUND transceiver caravan");
        String[] first = submits().get(0).split(" ");
        assertThat(first[2]).isEqualTo("12175550401");
        assertThat(first[3]).as("GSM default alphabet").isEqualTo("0");
        assertThat(first[4]).as("receipt requested").isEqualTo("1");
        assertThat(SmsText.decodeGsm7(HexFormat.of().parseHex(first[5]))).contains("2030-01-02 at 09:30");

        // Net::SMPP sent "Stop." from the patient's number after the first submit
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> submits().size() == 2);
        String[] confirmation = submits().get(1).split(" ");
        assertThat(confirmation[2]).isEqualTo("12175550401");
        assertThat(SmsText.decodeGsm7(HexFormat.of().parseHex(confirmation[5]))).contains("unsubscribed");
        JsonNode decision = HubApi.JSON.readTree(admin().getForEntity(
                "/api/contacts/{id}/decision?purpose=treatment&channel=sms", String.class, contact).getBody());
        assertThat(decision.get("allowed").asBoolean()).isFalse();
        assertThat(SEEN).filteredOn(l -> l.startsWith("DELIVER_SM_RESP")).allMatch(l -> l.endsWith(" 0"));
    }
}
