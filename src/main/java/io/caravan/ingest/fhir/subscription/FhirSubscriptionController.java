package io.caravan.ingest.fhir.subscription;

import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.parser.IParser;
import io.caravan.ingest.fhir.FhirSource;
import io.caravan.mapping.AdapterProfile;
import jakarta.servlet.http.HttpServletRequest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.hl7.fhir.r4.model.OperationOutcome.IssueSeverity;
import org.hl7.fhir.r4.model.OperationOutcome.IssueType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code POST /fhir/subscriptions/{adapter}}: the rest-hook endpoint an EHR's topic-based Subscription posts its
 * notification Bundles to, authenticated by the adapter's shared secret in the header its Subscription sends (the
 * EHR holds no hub account). Answered 200 once the events' resources are committed, so an EHR resends anything else;
 * 503 when the store did not confirm. {@code GET /api/fhir/subscriptions/{adapter}} shows where each subscription
 * stands (numbers and times, no PHI).
 */
@RestController
class FhirSubscriptionController {

    private static final Logger log = LoggerFactory.getLogger(FhirSubscriptionController.class);

    private final FhirSubscriptions subscriptions;
    private final SubscriptionStore store;
    private final int maxBytes;

    FhirSubscriptionController(FhirSubscriptions subscriptions, SubscriptionStore store,
            @Value("${caravan.fhir.max-bytes:5242880}") int maxBytes) {
        this.subscriptions = subscriptions;
        this.store = store;
        this.maxBytes = maxBytes;
    }

    @PostMapping("/fhir/subscriptions/{adapter}")
    ResponseEntity<String> notify(@PathVariable String adapter, HttpServletRequest request)
            throws IOException, InterruptedException {
        boolean xml = request.getContentType() != null && request.getContentType().contains("xml");
        try {
            AdapterProfile a = subscriptions.authenticate(adapter, request::getHeader);
            Bundle bundle = parse(request, xml);
            FhirSubscriptions.Received r = subscriptions.receive(a, bundle);
            String text = r.type() + " received" + (r.events() == 0 ? "" : ": " + r.events() + " event(s), "
                    + r.applied() + " applied, " + r.duplicates() + " already applied, " + r.failed()
                    + " stored as failed");
            return answer(200, IssueSeverity.INFORMATION, IssueType.INFORMATIONAL, text, xml);
        } catch (FhirSubscriptions.Refused e) {
            if (e.status == 401) {
                log.warn("FHIR subscription notification refused: not authenticated");
            }
            return answer(e.status, IssueSeverity.ERROR, e.status == 401 ? IssueType.LOGIN
                    : e.status == 503 ? IssueType.TRANSIENT : IssueType.INVALID, e.getMessage(), xml);
        }
    }

    @GetMapping("/api/fhir/subscriptions/{adapter}")
    java.util.List<SubscriptionStore.State> status(@PathVariable String adapter) {
        return store.of(adapter);
    }

    private Bundle parse(HttpServletRequest request, boolean xml) throws IOException {
        byte[] body;
        try (InputStream in = request.getInputStream()) {
            body = in.readNBytes(maxBytes + 1);
        }
        if (body.length > maxBytes) {
            throw new FhirSubscriptions.Refused(413, "the body is larger than " + maxBytes + " bytes");
        }
        if (xml) {
            // a DTD is refused by the direct POST's checks; notifications are JSON in practice
            String text = new String(body, StandardCharsets.UTF_8);
            if (text.contains("<!DOCTYPE") || text.contains("<!ENTITY")) {
                throw new FhirSubscriptions.Refused(400, "a DTD or entity reference is not accepted");
            }
        }
        IParser p = xml ? FhirSource.xmlParser() : FhirSource.jsonParser();
        IBaseResource r;
        try {
            r = p.parseResource(new String(body, StandardCharsets.UTF_8));
        } catch (DataFormatException e) {
            throw new FhirSubscriptions.Refused(400, xml ? "malformed FHIR XML" : "malformed FHIR JSON");
        }
        if (!(r instanceof Bundle b)) {
            throw new FhirSubscriptions.Refused(400, "a notification is a Bundle");
        }
        return b;
    }

    private static ResponseEntity<String> answer(int status, IssueSeverity severity, IssueType type, String text,
            boolean xml) {
        OperationOutcome oo = new OperationOutcome();
        oo.addIssue().setSeverity(severity).setCode(type).setDiagnostics(text);
        IParser p = xml ? FhirSource.xmlParser() : FhirSource.jsonParser();
        return ResponseEntity.status(status).contentType(MediaType.parseMediaType(xml ? "application/fhir+xml"
                : "application/fhir+json")).body(p.encodeResourceToString(oo));
    }
}
