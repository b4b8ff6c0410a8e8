package io.caravan.support;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.http.HttpEntity;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;

/** What the integration tests do to a running hub again and again: register a patient, post JSON, authorize. */
public final class HubApi {

    public static final ObjectMapper JSON = new ObjectMapper();

    private HubApi() {
    }

    /** Sends an ADT^A04 over MLLP (plus any extra segments), expects AA, and returns the contact's id. */
    public static UUID register(TestHub hub, TestRestTemplate rest, String mrn, String family, String given,
            String email, String extraSegments) throws Exception {
        try (MllpTestClient c = new MllpTestClient(hub.mllpPort)) {
            assertThat(MllpTestClient.msa1(c.exchange(Hl7Messages.a04(Hl7Messages.controlId(), mrn, family, given,
                    email) + extraSegments, 10_000))).isEqualTo("AA");
        }
        ResponseEntity<String> r = rest.withBasicAuth("admin", hub.adminPassword())
                .getForEntity("/api/contacts?identifier={id}", String.class, "MERCY|" + mrn);
        JsonNode found = JSON.readTree(r.getBody());
        assertThat(found.size()).as(r.toString()).isEqualTo(1);
        return UUID.fromString(found.get(0).get("id").asText());
    }

    /** POSTs {@code body} as JSON (no body when null). */
    public static ResponseEntity<String> post(TestRestTemplate t, String path, Object body, Object... vars) {
        HttpHeaders h = new HttpHeaders();
        h.setContentType(MediaType.APPLICATION_JSON);
        try {
            return t.exchange(path, HttpMethod.POST, new HttpEntity<>(body == null ? null
                    : JSON.writeValueAsString(body), h), String.class, vars);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A complete marketing authorization, signed in the past and in force for years. */
    public static Map<String, Object> marketingAuthorization(String evidence) {
        return Map.of("purpose", "marketing",
                "description", "Name and email address, to send the Mercy Health newsletter and offers",
                "recipients", List.of("Mercy Health marketing office"),
                "signedAt", "2026-01-01T00:00:00Z", "expiresAt", "2031-01-01T00:00:00Z", "evidence", evidence);
    }

    /** Records a marketing authorization as the compliance user; returns its id. */
    public static String authorize(TestRestTemplate rest, UUID contact) throws Exception {
        ResponseEntity<String> r = post(rest.withBasicAuth(TestHub.COMPLIANCE, TestHub.USER_PASSWORD),
                "/api/contacts/{id}/authorizations", marketingAuthorization("scanned-form:" + contact), contact);
        assertThat(r.getStatusCode().value()).as(r.getBody()).isEqualTo(201);
        return JSON.readTree(r.getBody()).get("id").asText();
    }
}
