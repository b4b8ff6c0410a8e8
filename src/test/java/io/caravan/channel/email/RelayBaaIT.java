package io.caravan.channel.email;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.caravan.support.HubApi;
import io.caravan.support.TestHub;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The relay's BAA ended (its adapter's {@code baa.expires} is in the past): the hub starts and takes its feeds, but no
 * message goes to the relay - each waits in the store, deferred with reason {@code relay-baa-expired}, without a
 * send decision or a disclosure, until an agreement is in force again.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@DirtiesContext
class RelayBaaIT {

    static final TestHub HUB = TestHub.named("relay-baa");
    static final TestSmtpServers.StartTls RELAY;
    static final Path ADAPTERS;

    static {
        try {
            Path certs = Files.createTempDirectory("caravan-relay-baa-certs");
            Path ca = TestSmtpServers.caAndServer(certs);
            RELAY = new TestSmtpServers.StartTls(TestSmtpServers.tls(certs.resolve("server.p12")));
            ADAPTERS = io.caravan.support.RelayAdapters.smtp(Files.createTempDirectory("caravan-relay-baa-adapters"),
                    "lapsed-relay", RELAY.port(), "trustCertificates: " + ca + "\nonwardTls: guaranteed",
                    "status: signed\nreference: BAA-2019-007\nexpires: 2020-06-30");
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        HUB.register(r);
        r.add("caravan.mapping.adapters-dir", ADAPTERS::toString);
        r.add("caravan.email.relay", () -> "lapsed-relay");
    }

    @AfterAll
    static void stop() {
        RELAY.close();
    }

    @Autowired
    TestRestTemplate rest;

    @Test
    void noMessageGoesToARelayWhoseBaaEndedAndNoneIsLost() throws Exception {
        UUID id = HubApi.register(HUB, rest, "BAA-LAPSED-1", "Quenby", "Marisol", "lapsed.baa@example.org", "");
        EmailApi api = new EmailApi(rest);
        JsonNode m = api.settled(api.send(TestHub.INTEGRATION, id, "appointment-reminder-notice", "treatment",
                Map.of("clinicPhone", "+1 217 555 0100")), Set.of("planned"));
        assertThat(m.get("status").asText()).as(m.toString()).isEqualTo("deferred");
        assertThat(m.get("reasons").toString()).contains("relay-baa-expired");

        Thread.sleep(2_000);
        assertThat(RELAY.received).as("the relay got nothing").isEmpty();
        // the contact's listing is indexed a moment after the trail commits: first the planning decision shows
        JsonNode[] audit = new JsonNode[1];
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(15)).until(() -> {
            audit[0] = HubApi.JSON.readTree(rest.withBasicAuth(TestHub.COMPLIANCE, TestHub.USER_PASSWORD)
                    .getForEntity("/api/audit?contact={id}", String.class, id).getBody());
            return audit[0].findValues("stage").stream().anyMatch(s -> "plan".equals(s.asText()));
        });
        for (JsonNode e : audit[0]) {
            assertThat(e.get("action").asText()).as(e.toString()).isNotEqualTo("disclosure");
            if ("decision".equals(e.get("action").asText())) {
                assertThat(e.get("details").get("stage").asText()).as("no send decision for a closed channel")
                        .isEqualTo("plan");
            }
        }
    }
}
