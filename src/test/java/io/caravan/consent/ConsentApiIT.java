package io.caravan.consent;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.audit.Disclosures;
import io.caravan.support.Bytes;
import io.caravan.support.Hl7Messages;
import io.caravan.support.HubApi;
import io.caravan.support.MllpTestClient;
import io.caravan.support.TestHub;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
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
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The HIPAA gate as its users meet it, against the running hub: a compliance officer records and revokes
 * authorizations and opt-outs, a feed sends opt-outs in HL7, the decision follows at once, every PHI read and
 * disclosure is in the audit trail, each role sees exactly what it may, and a mail client unsubscribes in one click.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
// a hub of its own: closed after the class so its threads, port and database go with it
@org.springframework.test.annotation.DirtiesContext
class ConsentApiIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final TestHub HUB = TestHub.named("consent");

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        HUB.register(r);
    }

    @Autowired
    TestRestTemplate rest;
    @Autowired
    JdbcTemplate jdbc;
    @Autowired
    UnsubscribeTokens tokens;
    @Autowired
    Disclosures disclosures;
    @Autowired
    ConsentHooks hooks;

    TestRestTemplate admin() {
        return rest.withBasicAuth("admin", HUB.adminPassword());
    }

    TestRestTemplate as(String user) {
        return rest.withBasicAuth(user, TestHub.USER_PASSWORD);
    }

    TestRestTemplate compliance() {
        return as(TestHub.COMPLIANCE);
    }

    /** Registers a patient over MLLP (the message optionally carrying extra segments); returns the contact id. */
    UUID register(String mrn, String extraSegments) throws Exception {
        return HubApi.register(HUB, rest, mrn, "Canary", "Consent", mrn.toLowerCase() + "@example.org",
                extraSegments);
    }

    JsonNode decision(UUID id, String purpose, String channel) throws Exception {
        ResponseEntity<String> r = compliance().getForEntity("/api/contacts/{id}/decision?purpose={p}&channel={c}",
                String.class, id, purpose, channel);
        assertThat(r.getStatusCode()).as(r.toString()).isEqualTo(HttpStatus.OK);
        return JSON.readTree(r.getBody());
    }

    static List<String> rules(JsonNode decision, String effect) {
        List<String> out = new ArrayList<>();
        decision.get("reasons").forEach(r -> {
            if (effect.equals(r.get("effect").asText())) {
                out.add(r.get("rule").asText());
            }
        });
        return out;
    }

    ResponseEntity<String> post(TestRestTemplate t, String path, Object body, Object... vars) {
        return HubApi.post(t, path, body, vars);
    }

    static Map<String, Object> authorization() {
        return HubApi.marketingAuthorization("scanned-form:AUTH-2026-0042");
    }

    @Test
    void marketingIsDeniedWithoutAnAuthorizationAllowedWithOneAndDeniedAgainOnceRevoked() throws Exception {
        UUID id = register("CONS-1", "");
        JsonNode before = decision(id, "marketing", "email");
        assertThat(before.get("allowed").asBoolean()).isFalse();
        assertThat(before.get("content").asText()).isEqualTo("none");
        assertThat(rules(before, "deny")).containsExactly("marketing-authorization");
        assertThat(before.get("reasons").get(0).get("citation").asText()).contains("164.508(a)(3)");
        assertThat(decision(id, "treatment", "email").get("allowed").asBoolean()).isTrue();

        Map<String, Object> incomplete = new java.util.HashMap<>(authorization());
        incomplete.remove("recipients");
        incomplete.remove("expiresAt");
        ResponseEntity<String> bad = post(compliance(), "/api/contacts/{id}/authorizations", incomplete, id);
        assertThat(bad.getStatusCode()).isEqualTo(HttpStatus.BAD_REQUEST);
        assertThat(bad.getHeaders().getContentType().toString()).startsWith("application/problem+json");
        assertThat(bad.getBody()).contains("recipients").contains("expiresAt or expiryEvent");

        ResponseEntity<String> created = post(compliance(), "/api/contacts/{id}/authorizations", authorization(), id);
        assertThat(created.getStatusCode()).as(created.getBody()).isEqualTo(HttpStatus.CREATED);
        String aid = JSON.readTree(created.getBody()).get("id").asText();
        assertThat(created.getHeaders().getLocation().toString()).endsWith("/authorizations/" + aid);
        JsonNode allowed = decision(id, "marketing", "email");
        assertThat(allowed.get("allowed").asBoolean()).as(allowed.toString()).isTrue();
        assertThat(allowed.get("content").asText()).isEqualTo("phi");
        assertThat(rules(allowed, "allow")).contains("marketing-authorization");
        assertThat(decision(id, "marketing", "sms").get("allowed").asBoolean())
                .as("marketing texts also need written SMS consent").isFalse();

        ResponseEntity<String> revoked = post(compliance(),
                "/api/contacts/{id}/authorizations/{aid}/revocation", Map.of("reason", "patient called"), id, aid);
        assertThat(revoked.getStatusCode()).as(revoked.getBody()).isEqualTo(HttpStatus.OK);
        assertThat(JSON.readTree(revoked.getBody()).get("revokedAt").isNull()).isFalse();
        assertThat(decision(id, "marketing", "email").get("allowed").asBoolean()).isFalse();
        assertThat(post(compliance(), "/api/contacts/{id}/authorizations/{aid}/revocation", null, id, aid)
                .getStatusCode()).isEqualTo(HttpStatus.CONFLICT);

        // the whole story is in the audit trail, in order, without PHI in clear
        JsonNode trail = JSON.readTree(compliance().getForEntity("/api/audit?contact={id}&action=consent.",
                String.class, id).getBody());
        assertThat(trail).extracting(e -> e.get("action").asText())
                .containsExactly("consent.recorded", "consent.revoked");
        assertThat(trail.get(0).get("actor").asText()).isEqualTo(TestHub.COMPLIANCE);
        assertThat(trail.get(1).get("details").get("reason").asText()).isEqualTo("patient called");
        assertThat(rawAuditBytesContain("patient called")).isFalse();
        assertThat(rawAuditBytesContain("Mercy Health marketing office")).isFalse();
    }

    boolean rawAuditBytesContain(String text) {
        byte[] needle = text.getBytes(StandardCharsets.UTF_8);
        List<byte[]> blobs = new ArrayList<>(jdbc.queryForList("SELECT payload FROM audit_entry WHERE payload IS NOT NULL",
                byte[].class));
        blobs.addAll(jdbc.queryForList("SELECT payload FROM consent_record", byte[].class));
        return blobs.stream().anyMatch(b -> Bytes.contains(b, needle));
    }

    @Test
    void writtenSmsConsentAndOptOutsFromTheApi() throws Exception {
        UUID id = register("CONS-2", "");
        post(compliance(), "/api/contacts/{id}/authorizations", authorization(), id);
        ResponseEntity<String> verbal = post(compliance(), "/api/contacts/{id}/consents", Map.of("channel", "sms",
                "purpose", "marketing", "form", "verbal", "evidence", "call-recording:991"), id);
        assertThat(verbal.getStatusCode()).isEqualTo(HttpStatus.CREATED);
        assertThat(rules(decision(id, "marketing", "sms"), "deny")).containsExactly("sms-marketing-written-consent");
        post(compliance(), "/api/contacts/{id}/consents", Map.of("channel", "sms", "purpose", "marketing", "form",
                "written", "evidence", "web-form:TCPA-77", "text", "I agree to receive marketing texts"), id);
        JsonNode sms = decision(id, "marketing", "sms");
        assertThat(sms.get("allowed").asBoolean()).as(sms.toString()).isTrue();
        assertThat(sms.get("content").asText()).as("SMS never carries PHI").isEqualTo("phi-free");

        ResponseEntity<String> optOut = post(compliance(), "/api/contacts/{id}/opt-outs",
                Map.of("channel", "sms", "purpose", "any"), id);
        assertThat(optOut.getStatusCode()).isEqualTo(HttpStatus.CREATED);
        assertThat(rules(decision(id, "marketing", "sms"), "deny")).contains("opt-out");
        assertThat(decision(id, "treatment", "sms").get("allowed").asBoolean()).isFalse();
        assertThat(decision(id, "treatment", "email").get("allowed").asBoolean()).isTrue();
        String oid = JSON.readTree(optOut.getBody()).get("id").asText();
        assertThat(post(compliance(), "/api/contacts/{id}/opt-outs", Map.of("channel", "sms", "purpose", "any"), id)
                .getBody()).as("the same opt-out is not recorded twice").contains(oid);
        post(compliance(), "/api/contacts/{id}/opt-outs/{oid}/revocation", Map.of("reason", "texted START"), id, oid);
        assertThat(decision(id, "marketing", "sms").get("allowed").asBoolean()).isTrue();

        ResponseEntity<String> global = post(compliance(), "/api/contacts/{id}/opt-outs",
                Map.of("channel", "any", "purpose", "any"), id);
        assertThat(global.getStatusCode()).isEqualTo(HttpStatus.CREATED);
        assertThat(rules(decision(id, "treatment", "email"), "deny")).containsExactly("global-opt-out");

        assertThat(post(compliance(), "/api/contacts/{id}/opt-outs", Map.of("channel", "fax", "purpose", "any"), id)
                .getStatusCode()).isEqualTo(HttpStatus.BAD_REQUEST);
        JsonNode records = JSON.readTree(compliance().getForEntity("/api/contacts/{id}/consent-records",
                String.class, id).getBody());
        assertThat(records).hasSize(5);
        assertThat(records).anySatisfy(r -> {
            assertThat(r.path("form").asText()).isEqualTo("written");
            assertThat(r.get("details").get("text").asText()).isEqualTo("I agree to receive marketing texts");
            assertThat(r.get("details").get("evidence").asText()).isEqualTo("web-form:TCPA-77");
            assertThat(r.get("recordedBy").asText()).isEqualTo(TestHub.COMPLIANCE);
        });
    }

    @Test
    void aFeedsConsentSegmentOptsOutAtOnceAndTheChangeIsAudited() throws Exception {
        String refused = "CON|1|MKT^Marketing communications^L|||||||||R\r";
        UUID id = register("CONS-3", refused);
        post(compliance(), "/api/contacts/{id}/authorizations", authorization(), id);
        JsonNode d = decision(id, "marketing", "email");
        assertThat(rules(d, "deny")).as(d.toString()).containsExactly("opt-out");
        assertThat(decision(id, "treatment", "email").get("allowed").asBoolean()).isTrue();

        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).untilAsserted(() -> {
            JsonNode trail = JSON.readTree(compliance().getForEntity("/api/audit?contact={id}&action=consent.changed",
                    String.class, id).getBody());
            assertThat(trail).hasSize(1);
            assertThat(trail.get(0).get("actor").asText()).isEqualTo("hl7:default");
            assertThat(trail.get(0).get("details").get("raised").get(0).asText()).isEqualTo("opt-out:any:marketing");
        });

        // a later update with the consent active again lifts the opt-out
        String active = Hl7Messages.adt("A08", Hl7Messages.controlId(), "CONS-3", "Canary", "Consent",
                "cons-3@example.org", java.time.OffsetDateTime.parse("2026-03-05T09:00:00-05:00"))
                + "CON|1|MKT^Marketing communications^L|||||||||A\r";
        try (MllpTestClient c = new MllpTestClient(HUB.mllpPort)) {
            assertThat(MllpTestClient.msa1(c.exchange(active, 10_000))).isEqualTo("AA");
        }
        assertThat(decision(id, "marketing", "email").get("allowed").asBoolean()).isTrue();
    }

    @Test
    void everyReadOfPhiIsAuditedWithWhoAndWhat() throws Exception {
        UUID id = register("CONS-4", "");
        assertThat(as(TestHub.INTEGRATION).getForEntity("/api/contacts/{id}", String.class, id).getStatusCode())
                .isEqualTo(HttpStatus.OK);
        as(TestHub.INTEGRATION).getForEntity("/api/contacts/{id}/events", String.class, id);
        JsonNode reads = JSON.readTree(compliance().getForEntity("/api/audit?contact={id}&action=phi.read",
                String.class, id).getBody());
        assertThat(reads).anySatisfy(e -> {
            assertThat(e.get("actor").asText()).isEqualTo(TestHub.INTEGRATION);
            assertThat(e.get("outcome").asText()).isEqualTo("contact");
            assertThat(e.get("at").asText()).isNotBlank();
        });
        assertThat(reads).anySatisfy(e -> assertThat(e.get("outcome").asText()).isEqualTo("events"));
        assertThat(reads).anySatisfy(e -> {
            assertThat(e.get("actor").asText()).isEqualTo("admin");
            assertThat(e.get("details").get("via").asText()).isEqualTo("identifier");
        });
    }

    @Test
    void eachRoleSeesExactlyWhatItMay() throws Exception {
        UUID id = register("CONS-5", "");
        String[] paths = {"/api/contacts/" + id, "/api/contacts?identifier={identifier}",
                "/api/contacts/" + id + "/events", "/api/contacts/" + id + "/decision?purpose=treatment&channel=email",
                "/api/contacts/" + id + "/consent-records", "/api/contacts/" + id + "/disclosures", "/api/audit",
                "/api/audit/verify", "/actuator/prometheus"};
        // rows: user, then the expected status for each path above
        Object[][] table = {
                {TestHub.INTEGRATION, 200, 200, 200, 403, 403, 403, 403, 403, 200},
                {TestHub.OPERATOR, 403, 403, 403, 403, 403, 403, 403, 403, 200},
                {TestHub.COMPLIANCE, 200, 200, 403, 200, 200, 200, 200, 200, 403},
                {"admin", 200, 200, 200, 200, 200, 200, 200, 200, 200}};
        for (Object[] row : table) {
            String user = (String) row[0];
            TestRestTemplate t = user.equals("admin") ? admin() : as(user);
            for (int i = 0; i < paths.length; i++) {
                assertThat(t.getForEntity(paths[i], String.class, "MERCY|CONS-5").getStatusCode().value())
                        .as(user + " GET " + paths[i]).isEqualTo(row[i + 1]);
            }
        }
        assertThat(post(as(TestHub.INTEGRATION), "/api/contacts/{id}/opt-outs",
                Map.of("channel", "any", "purpose", "any"), id).getStatusCode()).isEqualTo(HttpStatus.FORBIDDEN);
        assertThat(post(as(TestHub.OPERATOR), "/api/contacts/{id}/authorizations", authorization(), id)
                .getStatusCode()).isEqualTo(HttpStatus.FORBIDDEN);
        assertThat(as(TestHub.OPERATOR).getForEntity("/hawtio/", String.class).getStatusCode().value())
                .isLessThan(400);
        assertThat(rest.withBasicAuth(TestHub.COMPLIANCE, "wrong").getForEntity("/api/audit", String.class)
                .getStatusCode()).isEqualTo(HttpStatus.UNAUTHORIZED);
    }

    @Test
    void theAccountingOfDisclosuresListsThemAndMarksTheExemptOnes() throws Exception {
        UUID id = register("CONS-6", "");
        disclosures.record(new Disclosures.Disclosure(id, "treatment", "email", "cons-6@example.org",
                "Appointment reminder", "tls", "msg-1", true), "test-channel");
        disclosures.record(new Disclosures.Disclosure(id, "marketing", "queue:analytics", "Acme Analytics Inc.",
                "Newsletter engagement data", "none", "msg-2", false), "test-channel");
        JsonNode acc = JSON.readTree(compliance().getForEntity("/api/contacts/{id}/disclosures", String.class, id)
                .getBody());
        JsonNode list = acc.get("disclosures");
        assertThat(list).hasSize(2);
        assertThat(list.get(0).get("recipient").asText()).isEqualTo("cons-6@example.org");
        assertThat(list.get(0).get("exempt").asBoolean()).isTrue();
        assertThat(list.get(0).get("exemptReason").asText()).contains("164.528(a)(1)(i)");
        assertThat(list.get(1).get("recipient").asText()).isEqualTo("Acme Analytics Inc.");
        assertThat(list.get(1).get("purpose").asText()).isEqualTo("marketing");
        assertThat(list.get(1).get("exempt").asBoolean()).isFalse();
        assertThat(list.get(1).get("date").asText()).isNotBlank();
        assertThat(rawAuditBytesContain("Acme Analytics")).isFalse();
    }

    @Test
    void oneClickUnsubscribeAsAMailClientAndALinkScannerCallIt() throws Exception {
        UUID id = register("CONS-7", "");
        post(compliance(), "/api/contacts/{id}/authorizations", authorization(), id);
        String token = tokens.issue(id, "email", "marketing");
        assertThat(token).doesNotContain(id.toString());
        String url = "/unsubscribe/" + token;

        // a link scanner or a person following the link: GET shows a page and changes nothing
        ResponseEntity<String> page = rest.getForEntity(url, String.class);
        assertThat(page.getStatusCode()).isEqualTo(HttpStatus.OK);
        assertThat(page.getBody()).contains("<form method=\"post\"").contains("One-Click").doesNotContain("Canary");
        rest.exchange(url, HttpMethod.HEAD, null, String.class);
        assertThat(decision(id, "marketing", "email").get("allowed").asBoolean()).isTrue();

        // a POST without the RFC 8058 body changes nothing either
        assertThat(form(url, "List-Unsubscribe=Maybe").getStatusCode()).isEqualTo(HttpStatus.BAD_REQUEST);
        assertThat(decision(id, "marketing", "email").get("allowed").asBoolean()).isTrue();

        // the mail client: a cookieless POST of List-Unsubscribe=One-Click, no credentials, no redirect followed
        ResponseEntity<String> done = form(url, "List-Unsubscribe=One-Click");
        assertThat(done.getStatusCode()).isEqualTo(HttpStatus.OK);
        assertThat(done.getHeaders().getLocation()).isNull();
        assertThat(done.getHeaders().get(HttpHeaders.SET_COOKIE)).isNull();
        JsonNode after = decision(id, "marketing", "email");
        assertThat(rules(after, "deny")).containsExactly("opt-out");
        assertThat(decision(id, "treatment", "email").get("allowed").asBoolean())
                .as("unsubscribing from marketing leaves care messages").isTrue();
        assertThat(form(url, "List-Unsubscribe=One-Click").getStatusCode()).isEqualTo(HttpStatus.OK);
        long optOuts = jdbc.queryForObject("SELECT COUNT(*) FROM consent_record WHERE contact_id = ? AND kind = 'opt-out'",
                Long.class, id);
        assertThat(optOuts).as("repeating the POST records nothing more").isEqualTo(1);

        String forged = token.substring(0, token.length() - 3) + (token.endsWith("AAA") ? "BBB" : "AAA");
        assertThat(form("/unsubscribe/" + forged, "List-Unsubscribe=One-Click").getStatusCode())
                .isEqualTo(HttpStatus.NOT_FOUND);
        assertThat(form("/unsubscribe/dek-1.bm90LWEtdG9rZW4", "List-Unsubscribe=One-Click").getStatusCode())
                .isEqualTo(HttpStatus.NOT_FOUND);
    }

    ResponseEntity<String> form(String url, String body) {
        HttpHeaders h = new HttpHeaders();
        h.setContentType(MediaType.APPLICATION_FORM_URLENCODED);
        return rest.exchange(url, HttpMethod.POST, new HttpEntity<>(body, h), String.class);
    }

    @Test
    void aStopTextAndAFhirDenyConsentBecomeAuditedOptOuts() throws Exception {
        UUID id = register("CONS-9", "");
        post(compliance(), "/api/contacts/{id}/authorizations", authorization(), id);
        post(compliance(), "/api/contacts/{id}/consents", Map.of("channel", "sms", "purpose", "marketing", "form",
                "written", "evidence", "web-form:1"), id);
        assertThat(decision(id, "marketing", "sms").get("allowed").asBoolean()).isTrue();
        assertThat(hooks.smsReceived(id, "Hello there", "sms-1")).isEqualTo(ConsentHooks.SmsKeyword.NONE);
        assertThat(decision(id, "marketing", "sms").get("allowed").asBoolean()).isTrue();
        assertThat(hooks.smsReceived(id, "stop", "sms-2")).isEqualTo(ConsentHooks.SmsKeyword.STOP);
        assertThat(rules(decision(id, "treatment", "sms"), "deny")).containsExactly("opt-out");
        assertThat(decision(id, "marketing", "email").get("allowed").asBoolean()).as("email is another channel")
                .isTrue();

        List<ConsentRecord> fromFhir = hooks.fhirConsent(id, new ConsentHooks.FhirConsentTerms("active", "deny",
                List.of("HMARKT"), null, null, null, "Consent/77"));
        assertThat(fromFhir).singleElement().satisfies(r -> {
            assertThat(r.kind()).isEqualTo(ConsentRecord.OPT_OUT);
            assertThat(r.purpose()).isEqualTo("marketing");
            assertThat(r.source()).isEqualTo("fhir");
        });
        assertThat(rules(decision(id, "marketing", "email"), "deny")).containsExactly("opt-out");
        assertThat(hooks.fhirConsent(id, new ConsentHooks.FhirConsentTerms("inactive", "deny", List.of("TREAT"),
                null, null, null, "Consent/78"))).as("an inactive Consent changes nothing").isEmpty();
        assertThat(decision(id, "treatment", "email").get("allowed").asBoolean()).isTrue();

        JsonNode trail = JSON.readTree(compliance().getForEntity("/api/audit?contact={id}&action=consent.recorded",
                String.class, id).getBody());
        assertThat(trail).extracting(e -> e.get("actor").asText())
                .containsExactly(TestHub.COMPLIANCE, TestHub.COMPLIANCE, "sms-keyword", "fhir");
    }

    @Test
    void consentRecordsFollowAnA40MergeStillTrustedAndTheRevokedOneStaysRevoked() throws Exception {
        UUID prior = register("CONS-M1", "");
        UUID survivor = register("CONS-M2", "");
        String aid = HubApi.authorize(rest, prior);
        post(compliance(), "/api/contacts/{id}/authorizations/{aid}/revocation", Map.of("reason", "patient called"),
                prior, aid);
        post(compliance(), "/api/contacts/{id}/opt-outs", Map.of("channel", "email", "purpose", "operations"), prior);
        try (MllpTestClient c = new MllpTestClient(HUB.mllpPort)) {
            assertThat(MllpTestClient.msa1(c.exchange(Hl7Messages.a40(Hl7Messages.controlId(), "CONS-M2", "CONS-M1"),
                    10_000))).isEqualTo("AA");
        }
        // the records are re-MACed for the survivor: believed, so the opt-out and the revocation still count
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(rules(decision(survivor, "operations", "email"), "deny")).containsExactly("opt-out"));
        assertThat(rules(decision(survivor, "marketing", "email"), "deny")).containsExactly("marketing-authorization");
        assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM consent_record WHERE contact_id = ?", Long.class,
                survivor)).isEqualTo(2);
        JsonNode v = JSON.readTree(compliance().getForEntity("/api/audit/verify", String.class).getBody());
        assertThat(v.get("valid").asBoolean()).as(v.toString()).isTrue();
    }

    @Test
    void theTrailVerifies() throws Exception {
        register("CONS-8", "");
        JsonNode v = JSON.readTree(compliance().getForEntity("/api/audit/verify", String.class).getBody());
        assertThat(v.get("valid").asBoolean()).as(v.toString()).isTrue();
        assertThat(v.get("verifiedEntries").asLong()).isPositive();
        ResponseEntity<String> since = compliance().getForEntity("/api/audit?from={f}&to={t}&action=phi.read",
                String.class, "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z");
        assertThat(since.getStatusCode()).isEqualTo(HttpStatus.OK);
        assertThat(JSON.readTree(since.getBody())).isNotEmpty()
                .allSatisfy(e -> assertThat(e.get("action").asText()).isEqualTo("phi.read"));
        ResponseEntity<String> future = compliance().getForEntity("/api/audit?from={f}", String.class,
                "2100-01-01T00:00:00Z");
        assertThat(JSON.readTree(future.getBody())).isEmpty();
        ResponseEntity<String> bad = compliance().getForEntity("/api/audit?from=yesterday", String.class);
        assertThat(bad.getStatusCode()).isEqualTo(HttpStatus.BAD_REQUEST);
        assertThat(bad.getHeaders().getContentType().toString()).startsWith("application/problem+json");
    }
}
