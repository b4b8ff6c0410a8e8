package io.caravan.channel.email;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.support.Bytes;
import io.caravan.support.HubApi;
import io.caravan.support.TestHub;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.http.HttpEntity;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Keys on file through the API: a patient's S/MIME certificate and OpenPGP key are validated, filed sealed, listed
 * without key material, used until expired by hand, and every change is audited.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@DirtiesContext
class RecipientKeysIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final TestHub HUB = TestHub.named("keys");

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        HUB.register(r);
    }

    @Autowired
    TestRestTemplate rest;
    @Autowired
    RecipientKeys keys;
    @Autowired
    JdbcTemplate jdbc;

    TestRestTemplate compliance() {
        return rest.withBasicAuth(TestHub.COMPLIANCE, TestHub.USER_PASSWORD);
    }

    UUID patient(String mrn) throws Exception {
        return HubApi.register(HUB, rest, mrn, "Key", "Kim", "kim@example.org", "");
    }

    ResponseEntity<String> put(TestRestTemplate t, String path, byte[] body, UUID id) {
        HttpHeaders h = new HttpHeaders();
        h.setContentType(MediaType.TEXT_PLAIN);
        return t.exchange(path, HttpMethod.PUT, new HttpEntity<>(body, h), String.class, id);
    }

    @Test
    void certificatesAndPgpKeysAreValidatedFiledSealedAndExpirable(@TempDir Path dir) throws Exception {
        UUID id = patient("KEYS-1");
        Path cert = RecipientTools.certificate(dir, "kim", "kim@example.org", 30, "keyEncipherment");
        byte[] pem = Files.readAllBytes(cert);

        assertThat(put(rest.withBasicAuth(TestHub.OPERATOR, TestHub.USER_PASSWORD), "/api/contacts/{id}/smime-certificate",
                pem, id).getStatusCode()).isEqualTo(HttpStatus.FORBIDDEN);
        ResponseEntity<String> bad = put(compliance(), "/api/contacts/{id}/smime-certificate",
                "not a certificate".getBytes(StandardCharsets.US_ASCII), id);
        assertThat(bad.getStatusCode()).isEqualTo(HttpStatus.BAD_REQUEST);
        assertThat(bad.getHeaders().getContentType().toString()).startsWith("application/problem+json");

        ResponseEntity<String> filed = put(compliance(), "/api/contacts/{id}/smime-certificate", pem, id);
        assertThat(filed.getStatusCode()).as(filed.getBody()).isEqualTo(HttpStatus.OK);
        JsonNode smime = JSON.readTree(filed.getBody());
        assertThat(smime.get("kind").asText()).isEqualTo("smime");
        assertThat(smime.get("fingerprint").asText()).hasSize(64);
        assertThat(keys.smimeFor(id)).isPresent();

        String armour = RecipientTools.gpgKey(dir, "Kim Key <kim@example.org>");
        ResponseEntity<String> pgp = put(compliance(), "/api/contacts/{id}/pgp-key",
                armour.getBytes(StandardCharsets.US_ASCII), id);
        assertThat(pgp.getStatusCode()).as(pgp.getBody()).isEqualTo(HttpStatus.OK);
        assertThat(keys.pgpFor(id)).isPresent();

        JsonNode list = JSON.readTree(compliance().getForEntity("/api/contacts/{id}/keys", String.class, id)
                .getBody());
        assertThat(list).extracting(k -> k.get("kind").asText()).containsExactly("smime", "pgp");
        assertThat(list.toString()).doesNotContain("BEGIN").doesNotContain("kim@example.org");
        assertThat(jdbc.queryForList("SELECT payload FROM recipient_key", byte[].class))
                .noneMatch(b -> Bytes.contains(b, "kim@example.org".getBytes(StandardCharsets.US_ASCII)));

        ResponseEntity<String> expired = compliance().postForEntity("/api/contacts/{id}/keys/{k}/expiry", null,
                String.class, id, smime.get("id").asText());
        assertThat(expired.getStatusCode()).isEqualTo(HttpStatus.OK);
        assertThat(JSON.readTree(expired.getBody()).get("expiredAt").isNull()).isFalse();
        assertThat(keys.smimeFor(id)).as("an expired certificate is not used").isEmpty();
        assertThat(keys.pgpFor(id)).isPresent();

        JsonNode trail = JSON.readTree(compliance().getForEntity("/api/audit?contact={id}&action=key.", String.class,
                id).getBody());
        assertThat(trail).extracting(e -> e.get("action").asText())
                .containsExactly("key.recorded", "key.recorded", "key.expired");
        assertThat(List.of(trail.get(0).get("actor").asText())).containsExactly(TestHub.COMPLIANCE);
    }
}
