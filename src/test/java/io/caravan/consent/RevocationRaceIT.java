package io.caravan.consent;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.audit.Disclosures;
import io.caravan.support.HubApi;
import io.caravan.support.TestHub;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.http.HttpStatus;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Revocation is immediate, including for messages already queued: a route decides when a message is planned, queues
 * it, and decides again at the moment of sending (the consent service, as production calls it, both times). A revocation committed
 * through the API before a send-time decision starts always wins.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
// a hub of its own: closed after the class so its threads, port and database go with it
@org.springframework.test.annotation.DirtiesContext
class RevocationRaceIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final TestHub HUB = TestHub.named("race");

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        HUB.register(r);
    }

    @Autowired
    TestRestTemplate rest;
    @Autowired
    CamelContext camel;
    @Autowired
    ProducerTemplate producer;

    /** What the send stage did: when its decision started, and whether the message went. */
    record Outcome(long decisionStartedNanos, boolean sent, List<String> denials) {
    }

    // static: the route, added once per context, keeps the first test instance's reference
    static final Queue<Outcome> outcomes = new ConcurrentLinkedQueue<>();

    @BeforeEach
    void routes() throws Exception {
        if (camel.getRoute("test-plan") != null) {
            return;
        }
        camel.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                from("direct:test-plan").routeId("test-plan")
                        .process(ex -> gate(ex, ConsentService.Stage.PLAN))
                        .filter(exchangeProperty(ALLOWED))
                        .to("seda:test-outbound?size=250&blockWhenFull=true");
                from("seda:test-outbound?size=250&concurrentConsumers=2").routeId("test-send").autoStartup(false)
                        .process(ex -> ex.setProperty("started", System.nanoTime()))
                        .process(ex -> gate(ex, ConsentService.Stage.SEND))
                        .process(ex -> {
                            Decision d = ex.getProperty(DECISION, Decision.class);
                            outcomes.add(new Outcome(ex.getProperty("started", Long.class), d.allowed(),
                                    d.denials()));
                        })
                        .filter(exchangeProperty(ALLOWED))
                        .setProperty(Disclosures.RECIPIENT, constant("race@example.org"))
                        .setProperty(Disclosures.DESCRIPTION, constant("Newsletter"))
                        .setProperty(Disclosures.PROTECTION, constant("tls"))
                        .to("direct:record-disclosure");
            }
        });
    }

    // the exchange properties record-disclosure reads, and the test routes' own
    static final String CONTACT = "CaravanContactId";
    static final String PURPOSE = "CaravanPurpose";
    static final String CHANNEL = "CaravanChannel";
    static final String DECISION = "CaravanDecision";
    static final String ALLOWED = "CaravanAllowed";

    @Autowired
    ConsentService consents;

    /** The gate as production calls it: the consent service, at planning and again at sending. */
    void gate(org.apache.camel.Exchange ex, ConsentService.Stage stage) {
        Decision d = consents.decide(ex.getProperty(CONTACT, UUID.class), new DecisionRequest(
                ex.getProperty(PURPOSE, String.class), ex.getProperty(CHANNEL, String.class), Decision.PHI, false,
                List.of()), "route:" + ex.getFromRouteId(), stage);
        ex.setProperty(DECISION, d);
        ex.setProperty(ALLOWED, d.allowed());
    }

    UUID patientWithAuthorization(String mrn) throws Exception {
        return HubApi.register(HUB, rest, mrn, "Race", "Rita", "rita@example.org", "");
    }

    String authorize(UUID id) throws Exception {
        return HubApi.authorize(rest, id);
    }

    void revoke(UUID id, String aid) {
        assertThat(HubApi.post(rest.withBasicAuth(TestHub.COMPLIANCE, TestHub.USER_PASSWORD),
                "/api/contacts/{id}/authorizations/{aid}/revocation", Map.of(), id, aid).getStatusCode())
                .isEqualTo(HttpStatus.OK);
    }

    void plan(UUID id) {
        producer.send("direct:test-plan", ex -> {
            ex.setProperty(CONTACT, id);
            ex.setProperty(PURPOSE, "marketing");
            ex.setProperty(CHANNEL, "email");
        });
    }

    @Test
    void messagesQueuedBeforeARevocationAreNotSent() throws Exception {
        UUID id = patientWithAuthorization("RACE-1");
        String aid = authorize(id);
        camel.getRouteController().stopRoute("test-send");
        outcomes.clear();
        for (int i = 0; i < 200; i++) {
            plan(id);
        }
        assertThat(camel.getEndpoint("seda:test-outbound", org.apache.camel.component.seda.SedaEndpoint.class)
                .getCurrentQueueSize()).as("all 200 were allowed when planned").isEqualTo(200);
        revoke(id, aid);
        camel.getRouteController().startRoute("test-send");
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> outcomes.size() == 200);
        camel.getRouteController().stopRoute("test-send");
        assertThat(outcomes).noneMatch(Outcome::sent);
        assertThat(outcomes).allMatch(o -> o.denials().equals(List.of("marketing-authorization")));
    }

    @Test
    void aRevocationCommittedBeforeASendAlwaysWins() throws Exception {
        UUID id = patientWithAuthorization("RACE-2");
        String aid = authorize(id);
        outcomes.clear();
        camel.getRouteController().startRoute("test-send");
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService planners = Executors.newFixedThreadPool(3);
        for (int t = 0; t < 3; t++) {
            planners.submit(() -> {
                while (!stop.get()) {
                    plan(id);
                }
            });
        }
        // and at least 100 planned and queued, so that 100 send-time decisions come after the revocation: how fast the
        // planners outrun the senders depends on the machine, and with sends as fast as plans the queue stayed short
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60))
                .until(() -> (outcomes.stream().filter(Outcome::sent).count() >= 50 || outcomes.size() > 500)
                        && camel.getEndpoint("seda:test-outbound", org.apache.camel.component.seda.SedaEndpoint.class)
                                .getCurrentQueueSize() >= 100);
        assertThat(outcomes.stream().limit(5).toList()).as("sent before the revocation").allMatch(Outcome::sent);
        revoke(id, aid);
        long revokedAt = System.nanoTime();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60))
                .until(() -> outcomes.stream().filter(o -> o.decisionStartedNanos() > revokedAt).count() >= 100);
        stop.set(true);
        planners.shutdown();
        assertThat(planners.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> camel
                .getEndpoint("seda:test-outbound", org.apache.camel.component.seda.SedaEndpoint.class)
                .getCurrentQueueSize() == 0);
        camel.getRouteController().stopRoute("test-send");

        List<Outcome> after = outcomes.stream().filter(o -> o.decisionStartedNanos() > revokedAt).toList();
        assertThat(after).hasSizeGreaterThanOrEqualTo(100).noneMatch(Outcome::sent);
        assertThat(outcomes.stream().filter(Outcome::sent).count()).as("messages went before the revocation")
                .isGreaterThanOrEqualTo(50);

        // every message that went is in the accounting of disclosures, and none after the revocation
        var acc = JSON.readTree(rest.withBasicAuth(TestHub.COMPLIANCE, TestHub.USER_PASSWORD)
                .getForEntity("/api/contacts/{id}/disclosures", String.class, id).getBody()).get("disclosures");
        assertThat(acc.size()).isEqualTo((int) outcomes.stream().filter(Outcome::sent).count());
    }
}
