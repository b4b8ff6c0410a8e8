package io.caravan.ingest.fhir;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the hub reads from a FHIR server's answers: Retry-After in both forms, and failures without their text. */
class FhirHttpTest {

    static final Instant NOW = Instant.parse("2026-03-01T10:00:00Z");

    @Test
    void retryAfterIsReadAsSecondsOrAsAnHttpDate() {
        assertThat(FhirHttp.retryAfter("120", NOW)).isEqualTo(Duration.ofSeconds(120));
        assertThat(FhirHttp.retryAfter("Sun, 01 Mar 2026 10:00:30 GMT", NOW)).isEqualTo(Duration.ofSeconds(30));
        assertThat(FhirHttp.retryAfter("Sun, 01 Mar 2026 09:00:00 GMT", NOW)).as("a date past").isEqualTo(
                Duration.ZERO);
        assertThat(FhirHttp.retryAfter("soon", NOW)).isNull();
        assertThat(FhirHttp.retryAfter(null, NOW)).isNull();
    }

    @Test
    void aFailureIsSummarisedByStatusAndIssueCodesNeverTheServersText() {
        FhirHttp.Answer a = new FhirHttp.Answer(500, """
                {"resourceType":"OperationOutcome","issue":[
                  {"severity":"error","code":"exception","diagnostics":"Export failed at Patient Jane Doe, MRN 12345"},
                  {"severity":"error","code":"exception"},{"severity":"warning","code":"Jane Doe"}]}""", Map.of());
        String s = FhirHttp.summary(a);
        assertThat(s).isEqualTo("HTTP 500 (exception:2,unknown:1)");
        assertThat(FhirHttp.summary(new FhirHttp.Answer(404, "<html>Jane Doe</html>", Map.of())))
                .isEqualTo("HTTP 404");
    }

    @Test
    void aServersProgressTextIsKeptPrintableAndShort() {
        assertThat(FhirHttp.printable("50%\r\ncomplete\u0000", 100)).isEqualTo("50%??complete?");
        assertThat(FhirHttp.printable("x".repeat(300), 100)).hasSize(100);
    }
}
