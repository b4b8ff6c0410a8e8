package io.caravan.mapping.fhir;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.fhirpath.IFhirPath;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.google.i18n.phonenumbers.NumberParseException;
import com.google.i18n.phonenumbers.PhoneNumberUtil;
import io.caravan.contact.Address;
import io.caravan.contact.ChangeRecord;
import io.caravan.contact.ContactPatch;
import io.caravan.contact.Identifier;
import io.caravan.contact.Name;
import io.caravan.contact.OtherIdentifiers;
import io.caravan.contact.SourceMessage;
import io.caravan.mapping.AdapterProfile;
import io.caravan.mapping.IdentityRule;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Base;
import org.hl7.fhir.r4.model.BooleanType;
import org.hl7.fhir.r4.model.ContactPoint;
import org.hl7.fhir.r4.model.HumanName;
import org.hl7.fhir.r4.model.PrimitiveType;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.hl7.fhir.r4.model.StringType;

/**
 * The FHIR R4 mappings: {@code mappings/fhir/<ResourceType>.yaml}, each a set of FHIRPath expressions (HAPI's
 * {@link IFhirPath}) read into the same change record the HL7 v2 mappings produce - the same contact fields, the same
 * event types, the same identifier systems (through the adapter's {@code identifierSystems}), so one patient sent both
 * ways is one contact. Holds the hub's one {@link FhirContext}: building it scans the whole R4 model (seconds, tens
 * of MB), so it is built once and shared by the parsers.
 */
public final class FhirMappings {

    /** The FHIR version the hub reads. */
    public static final FhirContext R4 = FhirContext.forR4Cached();

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    private static final PhoneNumberUtil PHONES = PhoneNumberUtil.getInstance();

    /** One resource type's mapping file. */
    public static final class ResourceMapping {
        public String resource;
        public String description;
        /** Whether the resource carries demographics (Patient) or only names its patient (Appointment). */
        public boolean demographics;
        /** The first rule whose {@code when} is true (or that has none) names the event; none true: ignored. */
        public List<EventRule> events = List.of();
        /** FHIRPath to when the resource changed: orders changes ("never backwards"). */
        public String time = "meta.lastUpdated";
        /** FHIRPath to the patient's Identifiers (Patient: {@code identifier}). */
        public String identifiers;
        /** FHIRPath to References to the patient (Appointment: the patient participant). */
        public String patientReference;
        /** Contact fields: name -> {path, as}. */
        public Map<String, FieldPath> fields = new LinkedHashMap<>();
        /** Contact attributes (as HL7's PID-30 deceased): name -> {path, as}. */
        public Map<String, FieldPath> attributes = new LinkedHashMap<>();
        /** Event data: name -> FHIRPath (first value, as text). */
        public Map<String, String> data = new LinkedHashMap<>();
        /**
         * Restrictions and opt-outs ({@code opt-out:<channel>:<purpose>}, as HL7's CON): name -> a FHIRPath boolean;
         * true raises it, false clears it, empty says nothing about it.
         */
        public Map<String, String> restrictions = new LinkedHashMap<>();
        /** FHIRPath to References (or Identifiers) of records merged into this one (Patient.link replaces). */
        public String mergeFrom;
        /**
         * FHIRPath to References (or Identifiers) of the record that replaces this one (Patient.link replaced-by):
         * when there is one, this resource is the prior record - its identifiers are merged into that one, and its
         * demographics, being the replaced record's, are not applied.
         */
        public String mergeInto;
    }

    public static final class EventRule {
        public String when;
        public String type;
    }

    public static final class FieldPath {
        public String path;
        /** string (the first primitive), name, email, phone, language, address, flag, datetime. */
        public String as = "string";
    }

    private final Map<String, ResourceMapping> byType;
    private final IFhirPath fhirPath = R4.newFhirPath();
    /**
     * Each expression parsed once: IFhirPath's String overloads parse on every call, about a quarter of the intake
     * threads' CPU in a bulk import (JFR of bench/fhir-bench.sh). Bounded: the mappings' expressions, read at start.
     */
    private final Map<String, IFhirPath.IParsedExpression> parsed = new java.util.concurrent.ConcurrentHashMap<>();
    private final String defaultRegion;

    public FhirMappings(Path dir, String defaultRegion) {
        this.defaultRegion = defaultRegion;
        Map<String, ResourceMapping> m = new TreeMap<>();
        List<String> problems = new ArrayList<>();
        if (Files.isDirectory(dir)) {
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
                    try {
                        ResourceMapping r = YAML.readValue(f.toFile(), ResourceMapping.class);
                        check(f, r, problems);
                        m.put(r.resource, r);
                    } catch (IOException e) {
                        problems.add(f + ": " + e.getMessage());
                    }
                }
            } catch (IOException e) {
                problems.add(dir + ": " + e.getMessage());
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalStateException("FHIR mappings are invalid:\n  " + String.join("\n  ", problems));
        }
        this.byType = Map.copyOf(m);
    }

    private void check(Path f, ResourceMapping r, List<String> problems) {
        if (r.resource == null || !f.getFileName().toString().equals(r.resource + ".yaml")) {
            problems.add(f + ": resource must be named and match the file name");
            return;
        }
        List<String> paths = new ArrayList<>();
        r.events.forEach(e -> {
            if (e.when != null) {
                paths.add(e.when);
            }
            if (e.type == null) {
                problems.add(f + ": an event rule without a type");
            }
        });
        paths.add(r.time);
        if (r.identifiers != null) {
            paths.add(r.identifiers);
        }
        if (r.patientReference != null) {
            paths.add(r.patientReference);
        }
        r.fields.values().forEach(v -> paths.add(v.path));
        r.attributes.values().forEach(v -> paths.add(v.path));
        paths.addAll(r.data.values());
        paths.addAll(r.restrictions.values());
        if (r.mergeFrom != null) {
            paths.add(r.mergeFrom);
        }
        if (r.mergeInto != null) {
            paths.add(r.mergeInto);
        }
        for (String p : paths) {
            try {
                fhirPath.parse(p);
            } catch (Exception e) {
                problems.add(f + ": bad FHIRPath '" + p + "': " + e.getMessage());
            }
        }
    }

    private IFhirPath.IParsedExpression parsed(String path) {
        return parsed.computeIfAbsent(path, p -> {
            try {
                return fhirPath.parse(p);
            } catch (Exception e) {
                // validated at start-up; evaluating it would fail the same way
                throw new IllegalStateException("bad FHIRPath in a mapping", e);
            }
        });
    }

    private <T extends org.hl7.fhir.instance.model.api.IBase> List<T> evaluate(org.hl7.fhir.instance.model.api.IBase r,
            String path, Class<T> type) {
        return fhirPath.evaluate(r, parsed(path), type);
    }

    private <T extends org.hl7.fhir.instance.model.api.IBase> java.util.Optional<T> evaluateFirst(
            org.hl7.fhir.instance.model.api.IBase r, String path, Class<T> type) {
        return fhirPath.evaluateFirst(r, parsed(path), type);
    }

    /** The resource types mapped. */
    public java.util.Set<String> resourceTypes() {
        return byType.keySet();
    }

    /** The dedupe text of a resource: the same version of the same resource from the same adapter is one change. */
    public static String dedupeText(String adapter, IBaseResource r) {
        String version = r.getMeta() == null ? null : r.getMeta().getVersionId();
        String id = r.getIdElement() == null ? null : r.getIdElement().getIdPart();
        if (version == null) {
            // no version to tell resends apart: the same content again is the resend (only a blind index is kept)
            byte[] json = R4.newJsonParser().encodeResourceToString(r).getBytes(java.nio.charset.StandardCharsets.UTF_8);
            try {
                version = "sha256:" + java.util.HexFormat.of().formatHex(
                        java.security.MessageDigest.getInstance("SHA-256").digest(json));
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
        return adapter + "|" + R4.getResourceType(r) + "|" + id + "|" + version;
    }

    /** The sender's reference of a resource: {@code Type/id/_history/version}, ids only (no PHI). */
    public static String sourceRef(IBaseResource r) {
        String id = r.getIdElement() == null ? null : r.getIdElement().getIdPart();
        if (id == null) {
            return null;
        }
        String v = r.getMeta() == null ? null : r.getMeta().getVersionId();
        return R4.getResourceType(r) + "/" + id + (v == null ? "" : "/_history/" + v);
    }

    /**
     * Maps one resource sent by {@code adapter} (its id in {@code feed}) to what the intake step stores. Never throws
     * for a bad resource: a failure names the FHIRPath location and a reason, never a value.
     */
    public SourceMessage map(String feed, AdapterProfile adapter, IBaseResource resource, Instant receivedAt) {
        String type = R4.getResourceType(resource);
        String ref = sourceRef(resource);
        String dedupe = dedupeText(feed, resource);
        ResourceMapping m = byType.get(type);
        if (m == null) {
            return new SourceMessage(feed, type, ref, dedupe, SourceMessage.IGNORED);
        }
        try {
            return new SourceMessage(feed, type, ref, dedupe, mapped(feed, adapter, (Resource) resource, m,
                    receivedAt));
        } catch (RuntimeException e) {
            return new SourceMessage(feed, type, ref, dedupe, new SourceMessage.Failed(
                    "mapping:" + e.getClass().getSimpleName(), type, "processing", "the resource could not be mapped"));
        }
    }

    private SourceMessage.Result mapped(String feed, AdapterProfile adapter, Resource r, ResourceMapping m,
            Instant receivedAt) {
        String type = r.fhirType();
        String event = null;
        for (EventRule e : m.events) {
            if (e.when == null || evaluateFirst(r, e.when, BooleanType.class)
                    .map(BooleanType::booleanValue).orElse(false)) {
                event = e.type;
                break;
            }
        }
        if (event == null) {
            return SourceMessage.IGNORED;
        }
        AdapterProfile.Fhir fhir = adapter == null || adapter.fhir == null ? new AdapterProfile.Fhir() : adapter.fhir;
        IdentityRule identity = new IdentityRule(adapter == null ? null : adapter.identity);
        ContactPatch patch = new ContactPatch();
        List<Identifier> ids = new ArrayList<>();
        List<Identifier> business = new ArrayList<>();
        if (m.identifiers != null) {
            for (org.hl7.fhir.r4.model.Identifier i : evaluate(r, m.identifiers,
                    org.hl7.fhir.r4.model.Identifier.class)) {
                if (i.hasValue()) {
                    business.add(identifier(fhir, i));
                }
            }
            ids.addAll(business);
            // the EHR's own id of the Patient: what an Appointment's participant refers to
            if (r.getIdElement().hasIdPart()) {
                ids.add(new Identifier(resourceSystem(feed, fhir, type), r.getIdElement().getIdPart(), "PI"));
            }
        }
        if (m.patientReference != null) {
            ids.addAll(references(r, m.patientReference, feed, fhir));
        }
        List<Identifier> mergeFrom = List.of();
        boolean demographics = m.demographics;
        if (m.mergeInto != null) {
            List<Identifier> survivor = references(r, m.mergeInto, feed, fhir);
            if (!survivor.isEmpty()) {
                // this record is the one replaced: what names it is merged into the survivor, as A40's MRG-1
                mergeFrom = identity.split(new ArrayList<>(ids), type + ".identifier").linking();
                ids = survivor;
                business.clear();
                business.addAll(survivor);
                demographics = false;
            }
        }
        if (m.mergeFrom != null && mergeFrom.isEmpty()) {
            mergeFrom = identity.split(references(r, m.mergeFrom, feed, fhir), type + ".link").linking();
        }
        IdentityRule.Split split = identity.split(ids, m.identifiers != null ? type + ".identifier"
                : type + "." + "participant");
        // a Patient must name itself by a business identifier (an MRN): its resource id alone links no HL7 message
        if (split.linking().isEmpty() || m.identifiers != null && split.linking().stream().noneMatch(business::contains)) {
            return new SourceMessage.Failed("mapping:identifier",
                    m.identifiers != null ? type + ".identifier" : type + ".participant", "required",
                    "no patient identifier");
        }
        patch.identifiers.addAll(split.linking());
        if (!split.others().isEmpty()) {
            patch.attributes.put(OtherIdentifiers.ATTRIBUTE, OtherIdentifiers.asAttribute(split.others()));
        }
        String region = adapter != null && adapter.phoneRegion != null ? adapter.phoneRegion : defaultRegion;
        m.fields.forEach((field, fp) -> {
            Object v = value(r, fp, region);
            if (v != null) {
                patch.fields.put(field, v);
            }
        });
        m.attributes.forEach((field, fp) -> {
            Object v = value(r, fp, region);
            if (v != null) {
                patch.attributes.put(field, v);
            }
        });
        m.restrictions.forEach((name, path) -> {
            List<BooleanType> v = evaluate(r, path, BooleanType.class);
            if (!v.isEmpty() && v.get(0).hasValue()) {
                patch.restrictions.put(name, v.get(0).booleanValue());
            }
        });
        Map<String, Object> data = new LinkedHashMap<>();
        m.data.forEach((k, path) -> {
            List<Base> vs = evaluate(r, path, Base.class);
            if (!vs.isEmpty() && vs.get(0).isPrimitive()) {
                data.put(k, vs.get(0).primitiveValue());
            }
        });
        OffsetDateTime at = evaluateFirst(r, m.time, PrimitiveType.class)
                .map(p -> p.getValue() instanceof java.util.Date d ? d.toInstant() : null)
                .orElse(receivedAt).atOffset(ZoneOffset.UTC);
        return new SourceMessage.Mapped(new ChangeRecord(feed, type, sourceRef(r), event, at, demographics, patch,
                mergeFrom, data, split.warnings()));
    }

    /** References (or Identifiers) at {@code path} as identifiers: a Reference's identifier, else its Type/id. */
    private List<Identifier> references(Resource r, String path, String feed, AdapterProfile.Fhir fhir) {
        List<Identifier> out = new ArrayList<>();
        for (Base b : evaluate(r, path, Base.class)) {
            if (b instanceof org.hl7.fhir.r4.model.Identifier i && i.hasValue()) {
                out.add(identifier(fhir, i));
            } else if (b instanceof Reference ref) {
                if (ref.hasIdentifier() && ref.getIdentifier().hasValue()) {
                    out.add(identifier(fhir, ref.getIdentifier()));
                } else if (ref.hasReference() && ref.getReferenceElement().getResourceType() != null
                        && ref.getReferenceElement().hasIdPart()) {
                    out.add(new Identifier(resourceSystem(feed, fhir, ref.getReferenceElement().getResourceType()),
                            ref.getReferenceElement().getIdPart(), "PI"));
                }
            }
        }
        return out;
    }

    private static Identifier identifier(AdapterProfile.Fhir fhir, org.hl7.fhir.r4.model.Identifier i) {
        String system = i.hasSystem() ? fhir.identifierSystems.getOrDefault(i.getSystem(), i.getSystem()) : null;
        String code = i.hasType() && i.getType().hasCoding() ? i.getType().getCodingFirstRep().getCode() : null;
        return new Identifier(system, i.getValue(), code);
    }

    private static String resourceSystem(String feed, AdapterProfile.Fhir fhir, String type) {
        return (fhir.baseUrl != null ? fhir.baseUrl.replaceAll("/+$", "") : "fhir:" + feed) + "/" + type;
    }

    private Object value(Resource r, FieldPath fp, String region) {
        List<Base> vs = evaluate(r, fp.path, Base.class);
        switch (fp.as) {
            case "name": {
                for (Base b : vs) {
                    if (b instanceof HumanName n && (n.hasFamily() || n.hasGiven())) {
                        return new Name(n.getFamily(), n.getGiven().stream().map(StringType::getValue).toList());
                    }
                }
                return null;
            }
            case "address": {
                for (Base b : vs) {
                    if (b instanceof org.hl7.fhir.r4.model.Address a) {
                        return new Address(a.getLine().stream().map(StringType::getValue).toList(), a.getCity(),
                                a.getState(), a.getPostalCode(), a.getCountry());
                    }
                }
                return null;
            }
            case "email": {
                for (Base b : vs) {
                    if (b instanceof ContactPoint c && c.hasValue()) {
                        return c.getValue().trim();
                    }
                }
                return null;
            }
            case "phone": {
                for (Base b : vs) {
                    if (b instanceof ContactPoint c && c.hasValue()) {
                        String e164 = e164(c.getValue(), region);
                        if (e164 != null) {
                            return e164;
                        }
                    }
                }
                return null;
            }
            case "language": {
                for (Base b : vs) {
                    String v = b.isPrimitive() ? b.primitiveValue() : null;
                    String iso = v == null ? null : iso6391(v);
                    if (iso != null) {
                        return iso;
                    }
                }
                return null;
            }
            case "datetime": {
                for (Base b : vs) {
                    if (b instanceof org.hl7.fhir.r4.model.BaseDateTimeType d && d.hasValue()) {
                        return d.getValueAsString();
                    }
                }
                return null;
            }
            case "flag":
                // deceasedBoolean true, or a deceasedDateTime: either says the patient died
                return vs.isEmpty() ? null : vs.stream().anyMatch(b -> !(b instanceof BooleanType bt)
                        || bt.booleanValue());
            default:
                return vs.isEmpty() || !vs.get(0).isPrimitive() ? null : vs.get(0).primitiveValue();
        }
    }

    static String e164(String number, String region) {
        try {
            var n = PHONES.parse(number, region);
            return PHONES.isValidNumber(n) ? PHONES.format(n, PhoneNumberUtil.PhoneNumberFormat.E164) : null;
        } catch (NumberParseException e) {
            return null;
        }
    }

    /** BCP 47 (en, en-US, spa) -> ISO 639-1. */
    static String iso6391(String tag) {
        String primary = tag.split("[-_]")[0].toLowerCase(Locale.ROOT);
        if (primary.length() == 2) {
            return primary;
        }
        for (String two : Locale.getISOLanguages()) {
            if (new Locale(two).getISO3Language().equals(primary)) {
                return two;
            }
        }
        return null;
    }
}
