package io.caravan.channel.email;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.channel.email.protection.Dkim;
import io.caravan.channel.email.protection.Protection;
import io.caravan.channel.email.transport.Outbox;
import io.caravan.support.HubApi;
import io.caravan.support.TestHub;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
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
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * From an HL7 registration to a protected email in the outbox, read by the recipient's own tools: S/MIME for a
 * certificate on file (openssl), PGP/MIME for a key (gpg), the PHI-free variant when no key is on file, marketing
 * blocked without an authorization and, with one, carrying a working one-click unsubscribe.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@DirtiesContext
class SecureEmailIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final TestHub HUB = TestHub.named("email");
    static final Map<String, Object> VISIT = Map.of("appointmentDate", "2026-12-03", "appointmentTime", "09:30",
            "provider", "Dr Oseifrancis", "clinicPhone", "+1 217 555 0100");

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        HUB.register(r);
    }

    @Autowired
    TestRestTemplate rest;
    @Autowired
    Outbox outbox;
    @org.springframework.boot.test.web.server.LocalServerPort
    int port;

    TestRestTemplate as(String user) {
        return rest.withBasicAuth(user, TestHub.USER_PASSWORD);
    }

    UUID patient(String mrn, String email) throws Exception {
        return HubApi.register(HUB, rest, mrn, "Quenby", "Marisol", email, "");
    }

    ResponseEntity<String> send(String user, UUID contact, String template, String purpose, Map<String, Object> data) {
        return new EmailApi(rest).send(user, contact, template, purpose, data);
    }

    JsonNode settled(ResponseEntity<String> accepted) throws Exception {
        return new EmailApi(rest).settled(accepted);
    }

    String eml(JsonNode message) throws Exception {
        return Files.readString(outbox.dir().resolve(message.get("id").asText() + ".eml"), StandardCharsets.ISO_8859_1);
    }

    @Test
    void aPatientWithACertificateGetsSmimeThatOpensslOpens(@TempDir Path dir) throws Exception {
        UUID id = patient("MAIL-1", "marisol@example.org");
        Path cert = RecipientTools.certificate(dir, "m", "marisol@example.org", 30, "keyEncipherment");
        HttpHeaders h = new HttpHeaders();
        h.setContentType(MediaType.TEXT_PLAIN);
        assertThat(as(TestHub.COMPLIANCE).exchange("/api/contacts/{id}/smime-certificate", HttpMethod.PUT,
                new HttpEntity<>(Files.readAllBytes(cert), h), String.class, id).getStatusCode())
                .isEqualTo(HttpStatus.OK);

        JsonNode m = settled(send(TestHub.INTEGRATION, id, "appointment-reminder", "treatment", VISIT));
        assertThat(m.get("status").asText()).as(m.toString()).isEqualTo("sent");
        assertThat(m.get("protection").asText()).isEqualTo("smime");
        String eml = eml(m);
        assertThat(eml).contains("X-Caravan-Protection: smime").contains("To: marisol@example.org")
                .contains("authEnveloped-data").doesNotContain("Oseifrancis").doesNotContain("Quenby");
        Path f = dir.resolve("in.eml");
        Files.writeString(f, eml, StandardCharsets.ISO_8859_1);
        String clear = RecipientTools.run(dir, List.of("openssl", "cms", "-decrypt", "-in", f.toString(), "-recip",
                cert.toString(), "-inkey", "m.key"), null);
        assertThat(clear).contains("Dr Oseifrancis").contains("Hello Marisol");

        JsonNode acc = JSON.readTree(as(TestHub.COMPLIANCE).getForEntity("/api/contacts/{id}/disclosures",
                String.class, id).getBody()).get("disclosures");
        assertThat(acc).singleElement().satisfies(d -> {
            assertThat(d.get("recipient").asText()).isEqualTo("marisol@example.org");
            assertThat(d.get("protection").asText()).isEqualTo("smime");
            assertThat(d.get("exempt").asBoolean()).isTrue();
        });
    }

    @Test
    void aPatientWithAnOpenPgpKeyGetsPgpMimeThatGpgOpens(@TempDir Path dir) throws Exception {
        UUID id = patient("MAIL-2", "pgp.user@example.org");
        String armour = RecipientTools.gpgKey(dir, "Pgp User <pgp.user@example.org>");
        HttpHeaders h = new HttpHeaders();
        h.setContentType(MediaType.TEXT_PLAIN);
        as(TestHub.COMPLIANCE).exchange("/api/contacts/{id}/pgp-key", HttpMethod.PUT,
                new HttpEntity<>(armour.getBytes(StandardCharsets.US_ASCII), h), String.class, id);
        JsonNode m = settled(send(TestHub.INTEGRATION, id, "appointment-reminder", "treatment", VISIT));
        assertThat(m.get("protection").asText()).as(m.toString()).isEqualTo("pgp");
        String eml = eml(m);
        assertThat(eml).contains("multipart/encrypted").doesNotContain("Oseifrancis");
        Files.writeString(dir.resolve("data.asc"), eml.substring(eml.indexOf("-----BEGIN PGP MESSAGE-----"),
                eml.indexOf("-----END PGP MESSAGE-----") + 25));
        assertThat(RecipientTools.run(dir, List.of("gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase",
                "", "--decrypt", "data.asc"), null)).contains("Dr Oseifrancis");
    }

    @Test
    void withoutAKeyOnFileThePhiStaysInTheHubAndOnlyAPortalNoticeGoes() throws Exception {
        UUID id = patient("MAIL-3", "nokey@example.org");
        JsonNode m = settled(send(TestHub.INTEGRATION, id, "appointment-reminder", "treatment", VISIT));
        assertThat(m.get("status").asText()).as(m.toString()).isEqualTo("sent");
        assertThat(m.get("protection").asText()).isEqualTo("portal");
        assertThat(m.get("reasons").toString()).contains("portal-notice");
        assertThat(eml(m)).contains("X-Caravan-Protection: portal").contains("/portal/")
                .contains("secure message").doesNotContain("Oseifrancis").doesNotContain("2026-12-03")
                .doesNotContain("Marisol").doesNotContain(id.toString());
    }

    @Test
    void marketingIsBlockedWithoutAnAuthorizationAndCarriesAWorkingUnsubscribeWithOne(@TempDir Path dkimDir)
            throws Exception {
        UUID id = patient("MAIL-4", "news@example.org");
        Map<String, Object> news = Map.of("headline", "Flu shots are here", "body", "Walk in any weekday.", "link",
                "https://www.example.org/flu");
        JsonNode blocked = settled(send(TestHub.INTEGRATION, id, "newsletter", "marketing", news));
        assertThat(blocked.get("status").asText()).isEqualTo("blocked");
        assertThat(blocked.get("reasons").toString()).contains("marketing-authorization");

        HubApi.authorize(rest, id);
        JsonNode sent = settled(send(TestHub.INTEGRATION, id, "newsletter", "marketing", news));
        assertThat(sent.get("status").asText()).as(sent.toString()).isEqualTo("sent");
        String eml = eml(sent);
        assertThat(eml).contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click").doesNotContain(id.toString());
        // DKIM-signed with the hub's own key (generated on first start), over the unsubscribe headers too
        Path f = dkimDir.resolve("news.eml");
        Files.writeString(f, eml, StandardCharsets.ISO_8859_1);
        String txt = Dkim.txtRecord(EmailConfig.publicKey(EmailConfig.read(HUB.dataDir.resolve("keys/dkim.pem"))));
        assertThat(RecipientTools.dkimVerify(dkimDir, f, "caravan", "caravan.localhost", txt)).isEqualTo("pass");
        assertThat(eml.substring(eml.indexOf("DKIM-Signature:"))).containsIgnoringCase("h=List-Unsubscribe-Post:");
        String url = eml.substring(eml.indexOf("List-Unsubscribe: <") + 19);
        String path = url.substring(url.indexOf("/unsubscribe/"), url.indexOf('>'));
        HttpHeaders form = new HttpHeaders();
        form.setContentType(MediaType.APPLICATION_FORM_URLENCODED);
        assertThat(rest.exchange(path, HttpMethod.POST, new HttpEntity<>("List-Unsubscribe=One-Click", form),
                String.class).getStatusCode()).isEqualTo(HttpStatus.OK);
        JsonNode after = settled(send(TestHub.INTEGRATION, id, "newsletter", "marketing", news));
        assertThat(after.get("status").asText()).isEqualTo("blocked");
        assertThat(after.get("reasons").toString()).contains("opt-out");

        assertThat(send(TestHub.OPERATOR, id, "newsletter", "marketing", news).getStatusCode())
                .isEqualTo(HttpStatus.FORBIDDEN);
        assertThat(send(TestHub.INTEGRATION, id, "newsletter", "treatment", news).getStatusCode())
                .as("a template is sent only for its own purpose").isEqualTo(HttpStatus.BAD_REQUEST);
    }

    java.net.http.HttpResponse<String> fetch(String url, String userAgent) throws Exception {
        java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder()
                .followRedirects(java.net.http.HttpClient.Redirect.NEVER).build();
        String local = url.replace("http://localhost:8080", "http://127.0.0.1:" + port);
        return http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(local)).header("User-Agent",
                userAgent).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void opensAndClicksAreTrackedThroughOpaqueLinksAndMachinesDoNotCount() throws Exception {
        UUID id = patient("MAIL-5", "reader@example.org");
        HubApi.authorize(rest, id);
        JsonNode sent = settled(send(TestHub.INTEGRATION, id, "newsletter", "marketing", Map.of("headline", "News",
                "body", "Hello", "link", "https://www.example.org/flu?season=2026&lang=en")));
        assertThat(sent.get("status").asText()).isEqualTo("sent");
        jakarta.mail.internet.MimeMessage msg;
        try (java.io.InputStream in = Files.newInputStream(outbox.dir().resolve(sent.get("id").asText() + ".eml"))) {
            msg = new jakarta.mail.internet.MimeMessage(jakarta.mail.Session.getInstance(new java.util.Properties()),
                    in);
        }
        String html = (String) ((jakarta.mail.internet.MimeMultipart) msg.getContent()).getBodyPart(1).getContent();
        java.util.regex.Matcher pixel = java.util.regex.Pattern.compile("<img src=\"([^\"]+/t/o/[^\"]+)\"")
                .matcher(html);
        java.util.regex.Matcher click = java.util.regex.Pattern.compile("href=\"([^\"]+/t/c/[^\"]+)\"").matcher(html);
        assertThat(pixel.find()).as(html).isTrue();
        assertThat(click.find()).as(html).isTrue();
        for (String url : List.of(pixel.group(1), click.group(1))) {
            assertThat(url).doesNotContain(id.toString()).doesNotContain("example.org").doesNotContain("reader");
        }
        assertThat(html).contains("/unsubscribe/").as("the hub's own links are not redirected");

        assertThat(fetch(pixel.group(1), "Mozilla/5.0 (via ggpht.com GoogleImageProxy)").statusCode()).isEqualTo(200);
        Thread.sleep(2100);
        assertThat(status(sent)).as("a privacy proxy's fetch is not a reader's open").isEqualTo("sent");
        java.net.http.HttpResponse<String> opened = fetch(pixel.group(1), "Mozilla/5.0 (Macintosh) Thunderbird/128");
        assertThat(opened.statusCode()).isEqualTo(200);
        assertThat(opened.headers().firstValue("Content-Type")).hasValue("image/gif");
        assertThat(status(sent)).isEqualTo("opened");

        java.net.http.HttpResponse<String> scanned = fetch(click.group(1), "Mozilla/5.0 (compatible; SafeLinks)");
        assertThat(scanned.statusCode()).isEqualTo(302);
        assertThat(status(sent)).as("a link scanner is not a reader").isEqualTo("opened");
        java.net.http.HttpResponse<String> clicked = fetch(click.group(1), "Mozilla/5.0 (X11) Firefox/133.0");
        assertThat(clicked.statusCode()).isEqualTo(302);
        assertThat(clicked.headers().firstValue("Location")).hasValue("https://www.example.org/flu?season=2026&lang=en");
        assertThat(status(sent)).isEqualTo("clicked");

        String forged = click.group(1).substring(0, click.group(1).length() - 4) + "AAAA";
        assertThat(fetch(forged, "Mozilla/5.0").statusCode()).isEqualTo(404);
    }

    String status(JsonNode message) throws Exception {
        return JSON.readTree(as(TestHub.INTEGRATION).getForEntity("/api/messages/{id}", String.class,
                message.get("id").asText()).getBody()).get("status").asText();
    }
}
