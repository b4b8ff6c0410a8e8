package io.caravan.ingest.fhir;

import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.parser.IParser;
import io.caravan.contact.SourceMessage;
import io.caravan.ingest.Intake;
import io.caravan.mapping.AdapterProfile;
import io.caravan.mapping.MappingCatalog;
import io.caravan.mapping.fhir.FhirMappings;
import jakarta.servlet.http.HttpServletRequest;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import javax.xml.stream.XMLInputFactory;
import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CapabilityStatement;
import org.hl7.fhir.r4.model.Enumerations;
import org.hl7.fhir.r4.model.MessageHeader;
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
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RestController;

/**
 * Direct FHIR R4 POST: {@code POST /fhir/{type}} (one resource) and {@code POST /fhir} (a Bundle), JSON or XML, each
 * resource read by the {@code fhir} intake source and committed through the intake step, answered with an
 * OperationOutcome (a Bundle of them, one per entry, for a Bundle). Input is checked before anything is stored -
 * size, nesting, XML without a DTD, a FHIR R4 resource of a known type - and a transaction whose entries do not all
 * map stores nothing. Answers name the problem and where (FHIRPath), never a value.
 */
@RestController
class FhirController {

    static final String FHIR_JSON = "application/fhir+json";
    static final String FHIR_XML = "application/fhir+xml";
    private static final Logger log = LoggerFactory.getLogger(FhirController.class);

    /** A problem with the request itself: answered with its status, nothing stored. */
    static final class Refused extends RuntimeException {
        final int status;
        final IssueType type;

        Refused(int status, IssueType type, String text) {
            super(text, null, false, false);
            this.status = status;
            this.type = type;
        }
    }

    private final FhirSource source;
    private final Intake intake;
    private final MappingCatalog catalog;
    private final int maxBytes;
    private final int maxDepth;

    FhirController(FhirSource source, Intake intake, MappingCatalog catalog,
            @Value("${caravan.fhir.max-bytes:5242880}") int maxBytes,
            @Value("${caravan.fhir.max-depth:64}") int maxDepth) {
        this.source = source;
        this.intake = intake;
        this.catalog = catalog;
        this.maxBytes = maxBytes;
        this.maxDepth = maxDepth;
    }

    @GetMapping(path = "/fhir/metadata", produces = {FHIR_JSON, FHIR_XML, MediaType.APPLICATION_JSON_VALUE})
    ResponseEntity<String> metadata(@RequestHeader(value = "Accept", required = false) String accept) {
        CapabilityStatement cs = new CapabilityStatement();
        cs.setStatus(Enumerations.PublicationStatus.ACTIVE);
        cs.setDate(new Date());
        cs.setKind(CapabilityStatement.CapabilityStatementKind.INSTANCE);
        cs.setFhirVersion(Enumerations.FHIRVersion._4_0_1);
        cs.addFormat("json").addFormat("xml");
        cs.getSoftware().setName("Caravan");
        var rest = cs.addRest().setMode(CapabilityStatement.RestfulCapabilityMode.SERVER);
        rest.setDocumentation("Takes resources in: create (POST) of the types below and Bundles of type transaction,"
                + " batch, collection and message at the base. Nothing can be read back.");
        rest.addInteraction().setCode(CapabilityStatement.SystemRestfulInteraction.TRANSACTION);
        rest.addInteraction().setCode(CapabilityStatement.SystemRestfulInteraction.BATCH);
        for (String type : source.mappings().resourceTypes()) {
            rest.addResource().setType(type).addInteraction()
                    .setCode(CapabilityStatement.TypeRestfulInteraction.CREATE);
        }
        return answer(200, cs, xml(accept));
    }

    @PostMapping(path = "/fhir/{type}")
    ResponseEntity<String> create(@PathVariable String type, HttpServletRequest request,
            @RequestHeader(value = "X-Caravan-Adapter", required = false) String adapterId) throws Exception {
        boolean xml = xml(request.getContentType());
        try {
            String adapter = adapter(adapterId);
            IBaseResource r = parse(request, xml);
            String actual = FhirMappings.R4.getResourceType(r);
            if (!actual.equals(type)) {
                throw new Refused(400, IssueType.INVALID, "the resource is a " + actual + ", not a " + safe(type));
            }
            if ("Bundle".equals(actual)) {
                return bundle((Bundle) r, adapter, xml);
            }
            Entry e = read(adapter, r);
            if (e.refusal != null) {
                throw e.refusal;
            }
            Intake.Outcome outcome = commit(e);
            return answer(status(outcome), outcome(e, outcome), xml);
        } catch (Refused e) {
            return answer(e.status, issue(IssueSeverity.ERROR, e.type, e.getMessage(), null), xml);
        }
    }

    @PostMapping(path = "/fhir")
    ResponseEntity<String> bundle(HttpServletRequest request,
            @RequestHeader(value = "X-Caravan-Adapter", required = false) String adapterId) throws Exception {
        boolean xml = xml(request.getContentType());
        try {
            String adapter = adapter(adapterId);
            IBaseResource r = parse(request, xml);
            if (!(r instanceof Bundle b)) {
                throw new Refused(400, IssueType.INVALID, "POST /fhir takes a Bundle; post a "
                        + FhirMappings.R4.getResourceType(r) + " to /fhir/" + FhirMappings.R4.getResourceType(r));
            }
            return bundle(b, adapter, xml);
        } catch (Refused e) {
            return answer(e.status, issue(IssueSeverity.ERROR, e.type, e.getMessage(), null), xml);
        }
    }

    private ResponseEntity<String> bundle(Bundle b, String adapter, boolean xml) throws InterruptedException {
        Bundle.BundleType type = b.getType();
        if (type != Bundle.BundleType.TRANSACTION && type != Bundle.BundleType.BATCH
                && type != Bundle.BundleType.COLLECTION && type != Bundle.BundleType.MESSAGE) {
            throw new Refused(422, IssueType.NOTSUPPORTED, "Bundle.type must be transaction, batch, collection or"
                    + " message");
        }
        resolveFullUrls(b);
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < b.getEntry().size(); i++) {
            Bundle.BundleEntryComponent be = b.getEntry().get(i);
            Entry e;
            if (be.getResource() == null) {
                e = Entry.refused(new Refused(400, IssueType.REQUIRED, "Bundle.entry[" + i + "] has no resource"));
            } else if (type == Bundle.BundleType.MESSAGE && be.getResource() instanceof MessageHeader) {
                // the envelope of a message Bundle: says who sent it, nothing to apply
                e = new Entry();
                e.header = true;
            } else {
                e = read(adapter, be.getResource());
                if (e.refusal != null && e.refusal.type == IssueType.NOTSUPPORTED) {
                    // an EHR's Bundle carries Practitioners, Organizations, Observations beside the Patient: a type
                    // the hub does not take is passed over, not a reason to refuse the rest
                    e.refusal = null;
                    e.passedOver = true;
                }
            }
            e.where = "Bundle.entry[" + i + "]";
            entries.add(e);
        }
        boolean transaction = type == Bundle.BundleType.TRANSACTION;
        Bundle response = new Bundle().setType(transaction ? Bundle.BundleType.TRANSACTIONRESPONSE
                : Bundle.BundleType.BATCHRESPONSE);
        if (transaction) {
            // a transaction is taken whole or not at all: an entry that would be stored as failed refuses it too
            for (Entry e : entries) {
                SourceMessage.Failed f = e.read == null ? null : e.read.failure();
                if (e.refusal == null && f != null) {
                    e.refusal = new Refused(422, IssueType.PROCESSING, "the resource could not be mapped ("
                            + f.reasonText() + ")");
                }
            }
        }
        if (transaction && entries.stream().anyMatch(e -> e.refusal != null)) {
            // all or nothing: one entry that cannot be taken and none is stored
            OperationOutcome oo = new OperationOutcome();
            for (Entry e : entries) {
                if (e.refusal != null) {
                    oo.addIssue().setSeverity(IssueSeverity.ERROR).setCode(e.refusal.type)
                            .setDiagnostics(e.refusal.getMessage()).addExpression(e.where);
                }
            }
            oo.addIssue().setSeverity(IssueSeverity.INFORMATION).setCode(IssueType.INFORMATIONAL)
                    .setDiagnostics("transaction not applied: nothing was stored");
            return answer(422, oo, xml);
        }
        int worst = 200;
        for (Entry e : entries) {
            int status;
            OperationOutcome oo;
            if (e.header) {
                status = 200;
                oo = issue(IssueSeverity.INFORMATION, IssueType.INFORMATIONAL, "MessageHeader read", e.where);
            } else if (e.passedOver) {
                status = 200;
                oo = issue(IssueSeverity.INFORMATION, IssueType.INFORMATIONAL, FhirMappings.R4.getResourceType(
                        e.resource) + " is not taken from this adapter: passed over, nothing stored", e.where);
            } else if (e.refusal != null) {
                status = e.refusal.status;
                oo = issue(IssueSeverity.ERROR, e.refusal.type, e.refusal.getMessage(), e.where);
            } else {
                Intake.Outcome outcome = commit(e);
                status = status(outcome);
                oo = outcome(e, outcome);
            }
            // an entry the store did not confirm: the whole Bundle is answered 503 so the sender sends it again
            // (entries already applied are recognised as resends by their version)
            worst = Math.max(worst, status >= 500 ? status : worst);
            response.addEntry().getResponse().setStatus(status + " " + reason(status)).setOutcome(oo);
        }
        return answer(worst >= 500 ? worst : 200, response, xml);
    }

    /**
     * A transaction (Synthea's, an EHR's) names its Patient by the entry's {@code fullUrl} ({@code urn:uuid:...}):
     * such references in the other entries are rewritten to {@code Type/id} of the entry they name, so an Encounter or
     * a Consent finds the contact the Patient entry makes (its resource id, as a PI identifier).
     */
    private static void resolveFullUrls(Bundle b) {
        java.util.Map<String, String> byFullUrl = new java.util.HashMap<>();
        for (Bundle.BundleEntryComponent e : b.getEntry()) {
            if (e.hasFullUrl() && e.getFullUrl().startsWith("urn:") && e.getResource() != null
                    && e.getResource().getIdElement().hasIdPart()) {
                byFullUrl.put(e.getFullUrl(), e.getResource().fhirType() + "/"
                        + e.getResource().getIdElement().getIdPart());
            }
        }
        if (byFullUrl.isEmpty()) {
            return;
        }
        var terser = FhirMappings.R4.newTerser();
        for (Bundle.BundleEntryComponent e : b.getEntry()) {
            if (e.getResource() == null) {
                continue;
            }
            for (org.hl7.fhir.r4.model.Reference ref : terser.getAllPopulatedChildElementsOfType(e.getResource(),
                    org.hl7.fhir.r4.model.Reference.class)) {
                String target = ref.hasReference() ? byFullUrl.get(ref.getReference()) : null;
                if (target != null) {
                    ref.setReference(target);
                }
            }
        }
    }

    /** One resource read: what the source made of it, or why it is refused before anything is stored. */
    private static final class Entry {
        String adapter;
        IBaseResource resource;
        SourceMessage read;
        Refused refusal;
        String where;
        boolean header;
        boolean passedOver;

        static Entry refused(Refused r) {
            Entry e = new Entry();
            e.refusal = r;
            return e;
        }
    }

    private Entry read(String adapter, IBaseResource r) {
        Entry e = new Entry();
        e.adapter = adapter;
        e.resource = r;
        String type = FhirMappings.R4.getResourceType(r);
        AdapterProfile profile = source.adapter(adapter);
        List<String> taken = profile != null && profile.fhir != null ? profile.fhir.resourceTypes
                : List.copyOf(source.mappings().resourceTypes());
        if (!taken.contains(type) || !source.mappings().resourceTypes().contains(type)) {
            e.refusal = new Refused(422, IssueType.NOTSUPPORTED, "the hub does not take " + type + " resources"
                    + " from this adapter");
            return e;
        }
        e.read = source.read(adapter, r, Instant.now());
        SourceMessage.Failed f = e.read.failure();
        if (f != null && "mapping:identifier".equals(f.errorCode())) {
            // without an identifier there is nobody to apply it to: refused, as a sender error, not stored
            e.refusal = new Refused(422, IssueType.REQUIRED, f.reasonText() + " (" + f.location() + ")");
        }
        return e;
    }

    private Intake.Outcome commit(Entry e) throws InterruptedException {
        byte[] raw = FhirSource.raw(e.adapter, e.resource);
        Intake.Committed c = intake.commit(FhirSource.KIND, e.read, raw, Instant.now());
        if (c.outcome() == Intake.Outcome.FAILED_STORED) {
            log.warn("FHIR {} stored as failed: inbound message {}", e.read.sourceMessageType(), c.id());
        }
        return c.outcome();
    }

    private static int status(Intake.Outcome o) {
        return switch (o) {
            case ACCEPTED, DUPLICATE, IGNORED -> 200;
            case FAILED_STORED -> 422;
            case UNCONFIRMED, NOT_STORED -> 503;
        };
    }

    private static String reason(int status) {
        return switch (status) {
            case 200 -> "OK";
            case 400 -> "Bad Request";
            case 413 -> "Payload Too Large";
            case 422 -> "Unprocessable Entity";
            default -> "Service Unavailable";
        };
    }

    private static OperationOutcome outcome(Entry e, Intake.Outcome o) {
        String what = e.read.sourceMessageType();
        return switch (o) {
            case ACCEPTED -> issue(IssueSeverity.INFORMATION, IssueType.INFORMATIONAL, what + " applied", e.where);
            case DUPLICATE -> issue(IssueSeverity.INFORMATION, IssueType.DUPLICATE,
                    what + " version already applied: nothing changed", e.where);
            case IGNORED -> issue(IssueSeverity.INFORMATION, IssueType.INFORMATIONAL,
                    what + " taken: no event for its status", e.where);
            case FAILED_STORED -> issue(IssueSeverity.ERROR, IssueType.PROCESSING, what
                    + " could not be mapped; stored for replay" + (e.read.failure() == null ? ""
                    : " (" + e.read.failure().reasonText() + ")"), e.where);
            default -> issue(IssueSeverity.ERROR, IssueType.TRANSIENT,
                    "the store did not confirm: send it again", e.where);
        };
    }

    private String adapter(String requested) {
        if (requested != null) {
            if (source.adapter(requested) == null) {
                throw new Refused(400, IssueType.INVALID, "no FHIR adapter of that id");
            }
            return requested;
        }
        List<AdapterProfile> fhir = catalog.adapters().stream().filter(a -> "fhir".equals(a.kind)).toList();
        if (fhir.size() > 1) {
            throw new Refused(400, IssueType.REQUIRED, "several FHIR adapters: name one in X-Caravan-Adapter");
        }
        return fhir.isEmpty() ? "fhir" : fhir.get(0).id;
    }

    private IBaseResource parse(HttpServletRequest request, boolean xml) throws IOException {
        if (request.getContentLengthLong() > maxBytes) {
            throw new Refused(413, IssueType.TOOCOSTLY, "the body is larger than " + maxBytes + " bytes");
        }
        byte[] body;
        try (InputStream in = request.getInputStream()) {
            body = in.readNBytes(maxBytes + 1);
        }
        if (body.length > maxBytes) {
            throw new Refused(413, IssueType.TOOCOSTLY, "the body is larger than " + maxBytes + " bytes");
        }
        if (xml) {
            checkXml(body);
        } else {
            checkJsonDepth(body);
        }
        IParser parser = xml ? FhirSource.xmlParser() : FhirSource.jsonParser();
        try {
            return parser.parseResource(new String(body, StandardCharsets.UTF_8));
        } catch (DataFormatException e) {
            String m = String.valueOf(e.getMessage());
            // HAPI's messages name the problem (an unknown resource type, bad syntax) and may quote input: keep
            // only the kind of problem
            if (m.contains("Unknown resource name") || m.contains("Unknown resource type")
                    || m.contains("HAPI-1684") || m.contains("HAPI-1685")) {
                throw new Refused(400, IssueType.NOTSUPPORTED, "not a FHIR R4 resource type");
            }
            throw new Refused(400, IssueType.STRUCTURE, xml ? "malformed FHIR XML" : "malformed FHIR JSON");
        }
    }

    /** Counts nesting outside strings: a deeply nested body is refused before a parser recurses into it. */
    private void checkJsonDepth(byte[] body) {
        int depth = 0;
        boolean inString = false;
        for (int i = 0; i < body.length; i++) {
            byte c = body[i];
            if (inString) {
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    inString = false;
                }
            } else if (c == '"') {
                inString = true;
            } else if (c == '{' || c == '[') {
                if (++depth > maxDepth) {
                    throw new Refused(413, IssueType.TOOCOSTLY, "nested deeper than " + maxDepth + " levels");
                }
            } else if (c == '}' || c == ']') {
                depth--;
            }
        }
    }

    private static final XMLInputFactory XML;

    static {
        XML = XMLInputFactory.newFactory();
        XML.setProperty(XMLInputFactory.SUPPORT_DTD, false);
        XML.setProperty(XMLInputFactory.IS_SUPPORTING_EXTERNAL_ENTITIES, false);
        XML.setProperty(XMLInputFactory.IS_REPLACING_ENTITY_REFERENCES, false);
    }

    /** XXE-safe: a DTD (where external entities and entity bombs live) is refused; nesting is bounded. */
    private void checkXml(byte[] body) {
        try {
            XMLStreamReader r = XML.createXMLStreamReader(new ByteArrayInputStream(body));
            int depth = 0;
            while (r.hasNext()) {
                int ev = r.next();
                if (ev == XMLStreamConstants.DTD || ev == XMLStreamConstants.ENTITY_REFERENCE) {
                    throw new Refused(400, IssueType.SECURITY, "a DTD or entity reference is not accepted");
                }
                if (ev == XMLStreamConstants.START_ELEMENT && ++depth > maxDepth) {
                    throw new Refused(413, IssueType.TOOCOSTLY, "nested deeper than " + maxDepth + " levels");
                }
                if (ev == XMLStreamConstants.END_ELEMENT) {
                    depth--;
                }
            }
        } catch (XMLStreamException e) {
            throw new Refused(400, IssueType.STRUCTURE, "malformed FHIR XML");
        }
    }

    private static boolean xml(String contentType) {
        return contentType != null && contentType.contains("xml");
    }

    private static String safe(String type) {
        return type.matches("[A-Za-z]{1,64}") ? type : "?";
    }

    private static OperationOutcome issue(IssueSeverity severity, IssueType type, String text, String where) {
        OperationOutcome oo = new OperationOutcome();
        var issue = oo.addIssue().setSeverity(severity).setCode(type).setDiagnostics(text);
        if (where != null) {
            issue.addExpression(where);
        }
        return oo;
    }

    private static ResponseEntity<String> answer(int status, IBaseResource r, boolean xml) {
        IParser p = xml ? FhirSource.xmlParser() : FhirSource.jsonParser();
        return ResponseEntity.status(status).contentType(MediaType.parseMediaType(xml ? FHIR_XML : FHIR_JSON))
                .body(p.encodeResourceToString(r));
    }
}
