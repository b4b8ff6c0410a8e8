package io.caravan.channel;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.caravan.audit.Disclosures;
import io.caravan.contact.Contact;
import io.caravan.support.HubApi;
import io.caravan.support.TestHub;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.camel.builder.RouteBuilder;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.context.annotation.Bean;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * A channel defined only here - a {@link Channel} bean and its route {@code direct:deliver-recording} that records
 * what it got - is planned (through the API and through a workflow step), gated (an opt-out of it blocks), delivered
 * and disclosed by the hub's own planner, send path and workflow engine. The only configuration it needs is its name
 * in the consent policy's channels (the gate denies channels it does not know).
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@DirtiesContext
class RecordingChannelIT {

    static final TestHub HUB = TestHub.named("recording");

    /** What the recording channel's route received: the message id and the address it was given. */
    record Received(String messageId, String recipient, UUID contactId) {
    }

    static final Queue<Received> received = new ConcurrentLinkedQueue<>();
    /** Contacts whose messages the recording route fails on, with an exception it does not handle. */
    static final Set<UUID> failFor = java.util.concurrent.ConcurrentHashMap.newKeySet();

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) throws IOException {
        HUB.register(r);
        Path policies = HUB.dataDir.resolveSibling(HUB.dataDir.getFileName() + "-policies");
        Files.createDirectories(policies);
        for (String f : List.of("consent.yaml", "sensitive-categories.yaml")) {
            String text = Files.readString(Path.of("config/policies", f));
            Files.writeString(policies.resolve(f), text.replace("channels: [email, sms]",
                    "channels: [email, sms, recording]"));
        }
        r.add("caravan.consent.policies-dir", policies::toString);
        Path workflows = HUB.dataDir.resolveSibling(HUB.dataDir.getFileName() + "-workflows");
        Files.createDirectories(workflows);
        Files.writeString(workflows.resolve("recorded-welcome.yaml"), """
                id: recorded-welcome
                description: A note on the recording channel when a patient registers
                purpose: treatment
                channel: recording
                trigger:
                  event: patient.registered
                  when: "contact.name.family == 'Journey'"
                steps:
                  - id: note
                    send:
                      template: recording-note
                      data:
                        note: "'welcome'"
                  - id: done
                    exit:
                      reason: noted
                """);
        r.add("caravan.workflow.dir", workflows::toString);
    }

    @TestConfiguration
    static class RecordingChannel {

        @Bean
        Channel recording() {
            return new Channel() {
                @Override
                public String name() {
                    return "recording";
                }

                @Override
                public Optional<Template> template(String name) {
                    return "recording-note".equals(name)
                            ? Optional.of(new Template(name, "treatment", "phi-free", List.of("note")))
                            : Optional.empty();
                }

                @Override
                public Optional<String> address(Contact contact) {
                    return Optional.of("recording:" + contact.id);
                }

                @Override
                public Set<String> contentClasses() {
                    return Set.of("phi-free");
                }
            };
        }

        @Bean
        RouteBuilder deliverRecording() {
            return new RouteBuilder() {
                @Override
                public void configure() {
                    from("direct:deliver-recording").routeId("deliver-recording").routeConfigurationId("phi-safe")
                            .process(ex -> {
                                if (failFor.contains(ex.getProperty("CaravanContactId", UUID.class))) {
                                    throw new IllegalStateException("the recording device is full");
                                }
                                received.add(new Received(ex.getProperty(Disclosures.MESSAGE_ID, String.class),
                                        ex.getProperty(Disclosures.RECIPIENT, String.class),
                                        ex.getProperty("CaravanContactId", UUID.class)));
                                ex.setProperty(Deliveries.DELIVERED, true);
                            });
                }
            };
        }
    }

    @Autowired
    TestRestTemplate rest;

    TestRestTemplate admin() {
        return rest.withBasicAuth("admin", HUB.adminPassword());
    }

    ResponseEntity<String> plan(UUID contact, String template, String channel, Map<String, Object> data) {
        return HubApi.post(admin(), "/api/messages", Map.of("contactId", contact, "template", template,
                "channel", channel, "purpose", "treatment", "data", data));
    }

    JsonNode json(ResponseEntity<String> r) throws IOException {
        return HubApi.JSON.readTree(r.getBody());
    }

    JsonNode disclosures(UUID contact) throws IOException {
        return json(admin().getForEntity("/api/contacts/{id}/disclosures", String.class, contact));
    }

    @Test
    void aMessageOnATestChannelIsPlannedGatedDeliveredAndDisclosed() throws Exception {
        UUID c = HubApi.register(HUB, rest, "REC-1", "Quenby", "Rosa", "rec1@example.org", "");
        ResponseEntity<String> r = plan(c, "recording-note", "recording", Map.of("note", "hello"));
        assertThat(r.getStatusCode()).as(r.getBody()).isEqualTo(HttpStatus.ACCEPTED);
        String id = json(r).get("id").asText();

        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> received.stream()
                .anyMatch(x -> x.messageId().equals(id)));
        assertThat(received).filteredOn(x -> x.messageId().equals(id)).singleElement()
                .isEqualTo(new Received(id, "recording:" + c, c));
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> "sent".equals(json(admin()
                .getForEntity("/api/messages/{id}", String.class, id)).get("status").asText()));
        assertThat(disclosures(c).findValues("channel")).extracting(JsonNode::asText).contains("recording");
        assertThat(disclosures(c).findValues("recipient")).extracting(JsonNode::asText)
                .contains("recording:" + c);
    }

    @Test
    void anOptOutOfTheTestChannelBlocksIt() throws Exception {
        UUID c = HubApi.register(HUB, rest, "REC-2", "Quenby", "Sam", "rec2@example.org", "");
        assertThat(HubApi.post(rest.withBasicAuth(TestHub.COMPLIANCE, TestHub.USER_PASSWORD),
                "/api/contacts/{id}/opt-outs", Map.of("channel", "recording", "purpose", "any"), c)
                .getStatusCode()).isEqualTo(HttpStatus.CREATED);
        ResponseEntity<String> r = plan(c, "recording-note", "recording", Map.of("note", "hello"));
        assertThat(r.getStatusCode()).isEqualTo(HttpStatus.ACCEPTED);
        JsonNode m = json(r);
        assertThat(m.get("status").asText()).isEqualTo("blocked");
        assertThat(m.get("reasons").toString()).contains("opt-out");
        Thread.sleep(1000);
        assertThat(received).noneMatch(x -> x.contactId().equals(c));
        assertThat(disclosures(c).findValues("channel")).extracting(JsonNode::asText).doesNotContain("recording");
    }

    @Test
    void aWorkflowStepSendsOnTheTestChannel() throws Exception {
        UUID c = HubApi.register(HUB, rest, "REC-3", "Journey", "Tea", "rec3@example.org", "");
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> received.stream()
                .anyMatch(x -> c.equals(x.contactId())));
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> disclosures(c).findValues("channel")
                .stream().map(JsonNode::asText).toList().contains("recording"));
        JsonNode journeys = json(admin().getForEntity("/api/contacts/{id}/journeys", String.class, c));
        assertThat(journeys.findValues("workflow")).extracting(JsonNode::asText).contains("recorded-welcome");
    }

    @Test
    void aFailureTheChannelsRouteDoesNotHandleFailsTheMessageAndDisclosesNothing() throws Exception {
        UUID c = HubApi.register(HUB, rest, "REC-6", "Quenby", "Wanda", "rec6@example.org", "");
        failFor.add(c);
        ResponseEntity<String> r = plan(c, "recording-note", "recording", Map.of("note", "hello"));
        assertThat(r.getStatusCode()).isEqualTo(HttpStatus.ACCEPTED);
        String id = json(r).get("id").asText();
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> "failed".equals(json(admin()
                .getForEntity("/api/messages/{id}", String.class, id)).get("status").asText()));
        assertThat(json(admin().getForEntity("/api/messages/{id}", String.class, id)).get("reasons").toString())
                .contains("error:IllegalStateException");
        assertThat(disclosures(c).findValues("channel")).extracting(JsonNode::asText).doesNotContain("recording");
    }

    @Test
    void anUnknownChannelIsRefusedNamingItAndTheRegisteredOnes() throws Exception {
        UUID c = HubApi.register(HUB, rest, "REC-4", "Quenby", "Uma", "rec4@example.org", "");
        ResponseEntity<String> r = plan(c, "recording-note", "carrier-pigeon", Map.of("note", "hello"));
        assertThat(r.getStatusCode()).isEqualTo(HttpStatus.BAD_REQUEST);
        assertThat(r.getHeaders().getContentType().toString()).startsWith("application/problem+json");
        assertThat(json(r).get("detail").asText()).contains("carrier-pigeon").contains("email")
                .contains("recording");
    }

    @Test
    void aRequestWithoutTheDataItsTemplateRequiresIsRefusedNamingTheMissingFields() throws Exception {
        UUID c = HubApi.register(HUB, rest, "REC-5", "Quenby", "Vera", "rec5@example.org", "");
        ResponseEntity<String> r = plan(c, "appointment-reminder", "email", Map.of("provider", "Dr Who"));
        assertThat(r.getStatusCode()).as(r.getBody()).isEqualTo(HttpStatus.BAD_REQUEST);
        assertThat(r.getHeaders().getContentType().toString()).startsWith("application/problem+json");
        String detail = json(r).get("detail").asText();
        assertThat(detail).contains("appointmentDate", "appointmentTime", "clinicPhone").doesNotContain("provider");
        JsonNode messages = json(admin().getForEntity("/api/contacts/{id}/messages", String.class, c));
        assertThat(messages.size()).as("nothing was planned").isZero();

        ResponseEntity<String> ok = plan(c, "appointment-reminder", "email", Map.of("provider", "Dr Who",
                "appointmentDate", "2030-01-02", "appointmentTime", "09:30", "clinicPhone", "+1 217 555 0100"));
        assertThat(ok.getStatusCode()).isEqualTo(HttpStatus.ACCEPTED);
    }
}
