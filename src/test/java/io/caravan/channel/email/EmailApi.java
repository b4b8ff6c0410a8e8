package io.caravan.channel.email;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.caravan.support.HubApi;
import io.caravan.support.TestHub;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.awaitility.Awaitility;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;

/** The message API as the email tests use it: ask for a message, wait until it settles, read its status. */
final class EmailApi {

    private final TestRestTemplate rest;

    EmailApi(TestRestTemplate rest) {
        this.rest = rest;
    }

    TestRestTemplate as(String user) {
        return rest.withBasicAuth(user, TestHub.USER_PASSWORD);
    }

    ResponseEntity<String> send(String user, UUID contact, String template, String purpose, Map<String, Object> data) {
        return HubApi.post(as(user), "/api/messages", Map.of("contactId", contact, "template", template, "channel",
                "email", "purpose", purpose, "data", data));
    }

    /** Sends as the integration user and waits until the message is no longer planned (or deferred). */
    JsonNode sendAndSettle(UUID contact, String template, String purpose, Map<String, Object> data) throws Exception {
        return settled(send(TestHub.INTEGRATION, contact, template, purpose, data));
    }

    JsonNode settled(ResponseEntity<String> accepted) throws Exception {
        return settled(accepted, Set.of("planned"));
    }

    JsonNode settled(ResponseEntity<String> accepted, Set<String> passing) throws Exception {
        assertThat(accepted.getStatusCode()).as(accepted.getBody()).isEqualTo(HttpStatus.ACCEPTED);
        return until(HubApi.JSON.readTree(accepted.getBody()).get("id").asText(), passing);
    }

    /** The message once its status is none of {@code passing}. */
    JsonNode until(String id, Set<String> passing) {
        JsonNode[] last = new JsonNode[1];
        Awaitility.await().dontCatchUncaughtExceptions().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> {
            last[0] = message(id);
            return !passing.contains(last[0].get("status").asText());
        });
        return last[0];
    }

    JsonNode message(String id) throws Exception {
        return HubApi.JSON.readTree(as(TestHub.INTEGRATION).getForEntity("/api/messages/{id}", String.class, id)
                .getBody());
    }
}
