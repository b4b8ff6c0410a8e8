package io.caravan.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.support.Hl7Messages;
import io.caravan.support.MllpTestClient;
import io.caravan.support.TestHub;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.http.HttpEntity;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;

/** POST /api/hl7v2: an interface engine's HTTP sender gets the ACK MLLP would have sent. */
class HttpIntakeIT extends IntakeHub {

    @Autowired
    TestRestTemplate rest;

    ResponseEntity<String> post(TestRestTemplate client, String body, String contentType) {
        HttpHeaders h = new HttpHeaders();
        h.setContentType(MediaType.parseMediaType(contentType));
        return client.postForEntity("/api/hl7v2", new HttpEntity<>(body, h), String.class);
    }

    ResponseEntity<String> postAsIntegration(String body, String contentType) {
        return post(rest.withBasicAuth(TestHub.INTEGRATION, TestHub.USER_PASSWORD), body, contentType);
    }

    String overMllp(String message) throws Exception {
        try (MllpTestClient c = new MllpTestClient(hub().mllpPort)) {
            return c.exchange(message, 20_000);
        }
    }

    /** MSA and ERR with the acknowledged control id blanked: what the sender reads, without what must differ. */
    static List<String> answer(String ack, String controlId) {
        return Arrays.stream(ack.split("[\r\n]+")).filter(s -> s.startsWith("MSA") || s.startsWith("ERR"))
                .map(s -> s.replace("|" + controlId + "|", "|<ctl>|").replaceAll("\\|" + controlId + "$", "|<ctl>"))
                .toList();
    }

    void sameAnswerBothWays(UnaryOperator<String> message, String expectedCode) throws Exception {
        String viaMllp = Hl7Messages.controlId();
        String viaHttp = Hl7Messages.controlId();
        String mllpAck = overMllp(message.apply(viaMllp));
        ResponseEntity<String> r = postAsIntegration(message.apply(viaHttp), "x-application/hl7-v2+er7");
        assertThat(r.getStatusCode().value()).as(r.getBody()).isEqualTo(200);
        assertThat(r.getHeaders().getContentType().toString()).startsWith("x-application/hl7-v2+er7");
        assertThat(MllpTestClient.msa1(r.getBody())).isEqualTo(expectedCode);
        assertThat(answer(r.getBody(), viaHttp)).isEqualTo(answer(mllpAck, viaMllp)).isNotEmpty();
    }

    @Test
    void anAcceptedMessageIsAnsweredAaAfterCommitAsOverMllp() throws Exception {
        sameAnswerBothWays(ctl -> Hl7Messages.a04(ctl, "H-" + ctl, "Httpfamily", "Pat", "h@example.org"), "AA");
        String ctl = Hl7Messages.controlId();
        ResponseEntity<String> r = postAsIntegration(
                Hl7Messages.a04(ctl, "H-" + ctl, "Httpfamily", "Pat", "h@example.org"), "text/plain");
        assertThat(MllpTestClient.msa1(r.getBody())).isEqualTo("AA");
        // committed when answered: the contact is there at once
        ResponseEntity<String> found = rest.withBasicAuth("admin", hub().adminPassword())
                .getForEntity("/api/contacts?identifier={id}", String.class, "MERCY|H-" + ctl);
        assertThat(found.getBody()).contains("Httpfamily");
    }

    @Test
    void aMessageWithoutPatientIdentifierGetsTheSameErrorAsOverMllp() throws Exception {
        sameAnswerBothWays(ctl -> Hl7Messages.a04(ctl, "HX-" + ctl, "Nopid", "Pat", "x@example.org")
                .replace("PID|1||HX-" + ctl + "^^^MERCY^MR|", "PID|1|||"), "AE");
    }

    @Test
    void anUnsupportedMessageTypeGetsTheSameRejectionAsOverMllp() throws Exception {
        sameAnswerBothWays(ctl -> "MSH|^~\\&|REGADT|MERCY|CARAVAN|HUB|20260301090000-0500||MFN^M02^MFN_M02|" + ctl
                + "|P|2.5.1\rMFI|PRA\r", "AR");
    }

    @Test
    void anonymousIsUnauthorizedAndOtherRolesForbidden() {
        String msg = Hl7Messages.a04(Hl7Messages.controlId(), "HA-1", "Anon", "Pat", "a@example.org");
        assertThat(post(rest, msg, "text/plain").getStatusCode().value()).isEqualTo(401);
        assertThat(post(rest.withBasicAuth(TestHub.COMPLIANCE, TestHub.USER_PASSWORD), msg, "text/plain")
                .getStatusCode().value()).isEqualTo(403);
        assertThat(post(rest.withBasicAuth("admin", hub().adminPassword()), msg, "text/plain")
                .getStatusCode().value()).isEqualTo(200);
    }

    @Test
    void aWrongContentTypeIsAProblemDocument() {
        ResponseEntity<String> r = postAsIntegration("{\"resourceType\":\"Patient\"}", "application/json");
        assertThat(r.getStatusCode().value()).isEqualTo(415);
        assertThat(r.getHeaders().getContentType().toString()).startsWith("application/problem+json");
        assertThat(r.getBody()).contains("\"status\":415");
    }
}
