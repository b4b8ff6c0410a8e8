package io.caravan.mapping;

import ca.uhn.hl7v2.HL7Exception;
import ca.uhn.hl7v2.model.Group;
import ca.uhn.hl7v2.model.Message;
import ca.uhn.hl7v2.model.Segment;
import ca.uhn.hl7v2.model.Structure;
import ca.uhn.hl7v2.util.Terser;
import com.google.i18n.phonenumbers.NumberParseException;
import com.google.i18n.phonenumbers.PhoneNumberUtil;
import com.google.i18n.phonenumbers.Phonenumber;
import io.caravan.contact.Address;
import io.caravan.contact.ContactPatch;
import io.caravan.contact.Identifier;
import io.caravan.contact.ChangeRecord;
import io.caravan.contact.Name;
import io.caravan.contact.OtherIdentifiers;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.springframework.stereotype.Component;

/**
 * Applies the declarative rules of a {@link FeedMappings} to a parsed HL7 v2 message (2.5.1 canonical model). Field
 * access goes through HAPI's {@link Terser}; the rules decide what each value means.
 */
@Component
public class Hl7Mapper {

    static final String HL7_NULL = "\"\"";
    private static final Pattern PATH = Pattern.compile("([A-Z][A-Z0-9]{2})-(\\d+)(?:\\((\\d+)\\))?(?:-(\\d+))?(?:-(\\d+))?");
    private static final Pattern DTM = Pattern.compile(
            "(\\d{4})(\\d{2})?(\\d{2})?(\\d{2})?(\\d{2})?(\\d{2})?(?:\\.(\\d{1,4}))?([+-]\\d{4})?");
    private static final Pattern EMAIL = Pattern.compile("[^@\\s\"(),:;<>\\[\\]]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+");
    private static final PhoneNumberUtil PHONES = PhoneNumberUtil.getInstance();

    /** Maps one message received now; see {@link #map(Message, Msh, FeedMappings, MessageMapping, Instant)}. */
    public ChangeRecord map(Message message, Msh msh, FeedMappings feed, MessageMapping mapping)
            throws MappingException {
        return map(message, msh, feed, mapping, Instant.now());
    }

    /**
     * Maps one message; {@code mapping} is the feed's mapping for the message's trigger. Only what the hub cannot do
     * without fails it (AE): a patient identifier, and for a merge the prior one. A malformed optional field, an id
     * only in PID-2/PID-4, a missing event time are taken with a warning (README "Data quality"): many EHRs stop their
     * whole outbound queue on a NAK until a person intervenes.
     *
     * @param received when the hub received the message: the event time of a message that carries none
     */
    public ChangeRecord map(Message message, Msh msh, FeedMappings feed, MessageMapping mapping, Instant received)
            throws MappingException {
        Segments segs = Segments.of(message);
        ContactPatch patch = new ContactPatch();
        List<String> warnings = new ArrayList<>();
        for (String segName : mapping.segments) {
            SegmentMapping sm = feed.segments().get(segName);
            for (Map.Entry<String, FieldRule> e : sm.contact.entrySet()) {
                applyContactField(e.getKey(), e.getValue(), segs, feed, patch, warnings);
            }
            for (Map.Entry<String, FieldRule> e : sm.attributes.entrySet()) {
                Object v = scalar(e.getValue(), segs, feed, warnings);
                if (v != null) {
                    patch.attributes.put(e.getKey(), v);
                }
            }
            for (Map.Entry<String, FieldRule> e : sm.restrictions.entrySet()) {
                Object v = scalar(e.getValue(), segs, feed, warnings);
                if (v != null) {
                    patch.restrictions.put(e.getKey(), v != ContactPatch.DELETE && (Boolean) v);
                }
            }
        }
        IdentityRule identity = IdentityRule.of(feed);
        boolean pid3Empty = patch.identifiers.isEmpty();
        IdentityRule.Split split = identity.split(List.copyOf(patch.identifiers), "PID-3");
        warnings.addAll(split.warnings());
        patch.identifiers.clear();
        patch.identifiers.addAll(split.linking());
        List<Identifier> others = new ArrayList<>(split.others());
        if (patch.identifiers.isEmpty()) {
            // v2.3 feeds often send the patient id as PID-2 external id, some as PID-4 alternate id, PID-3 empty:
            // taken through the same identity rule, in the adapter's order, with a warning naming where it came from
            for (String path : identity.fallback()) {
                IdentityRule.Split alt = identity.split(identifiers(FieldRule.of(path), segs), path);
                warnings.addAll(alt.warnings());
                alt.others().stream().filter(o -> others.stream().noneMatch(x -> x.key().equals(o.key())))
                        .forEach(others::add);
                if (!alt.linking().isEmpty()) {
                    warnings.add(Hl7Warnings.of(path, Hl7Warnings.MISSING,
                            "patient identifier taken from " + path + ", PID-3 has none that links"));
                    patch.identifiers.addAll(alt.linking());
                    break;
                }
            }
        }
        if (!others.isEmpty()) {
            patch.attributes.put(OtherIdentifiers.ATTRIBUTE, OtherIdentifiers.asAttribute(others));
        }
        if (patch.identifiers.isEmpty() && pid3Empty) {
            throw new MappingException("101", "PID^1^3", "no patient identifier (PID-3) in the message");
        }
        if (patch.identifiers.isEmpty()) {
            throw new MappingException("101", "PID^1^3",
                    "no patient identifier in PID-3 of a type that identifies the patient at its source (e.g. MR)");
        }
        List<Identifier> mergeFrom = List.of();
        if (mapping.mergeFrom != null) {
            IdentityRule.Split prior = identity.split(identifiers(mapping.mergeFrom, segs), "MRG-1");
            warnings.addAll(prior.warnings());
            mergeFrom = prior.linking();
            if (mergeFrom.isEmpty()) {
                throw new MappingException("101", "MRG^1^1", "merge without a prior patient identifier (MRG-1)");
            }
        }
        Map<String, Object> data = new LinkedHashMap<>();
        for (Map.Entry<String, FieldRule> e : mapping.data.entrySet()) {
            Object v = scalar(e.getValue(), segs, feed, warnings);
            if (v != null && v != ContactPatch.DELETE) {
                data.put(e.getKey(), v);
            }
        }
        OffsetDateTime eventTime = eventTime(segs.value("EVN", 2, 0, 1, 1), msh.dateTime(), feed, received,
                warnings);
        return new ChangeRecord(feed.feedId(), msh.trigger(), msh.controlId(), mapping.event, eventTime,
                mapping.demographics, patch, mergeFrom, data, warnings.stream().distinct().toList());
    }

    /**
     * EVN-2, else MSH-7, else the receive time. Without an event time the message is still news; ordered by receipt
     * it cannot overwrite what a later-sent message said only if that one arrived later too - the best the hub knows.
     */
    private static OffsetDateTime eventTime(String evn2, String msh7, FeedMappings feed, Instant received,
            List<String> warnings) {
        if (evn2 != null && !evn2.isBlank()) {
            OffsetDateTime t = parseDateTime(evn2, feed.zone());
            if (t != null) {
                return t;
            }
            warnings.add(Hl7Warnings.of("EVN-2", Hl7Warnings.DATA_TYPE, "not an HL7 date/time, MSH-7 used"));
        }
        if (msh7 != null && !msh7.isBlank()) {
            OffsetDateTime t = parseDateTime(msh7, feed.zone());
            if (t != null) {
                return t;
            }
            warnings.add(Hl7Warnings.of("MSH-7", Hl7Warnings.DATA_TYPE, "not an HL7 date/time, receive time used"));
            return received.atZone(feed.zone()).toOffsetDateTime();
        }
        warnings.add(Hl7Warnings.of("MSH-7", Hl7Warnings.MISSING, "no event time (EVN-2, MSH-7), receive time used"));
        return received.atZone(feed.zone()).toOffsetDateTime();
    }

    private void applyContactField(String field, FieldRule rule, Segments segs, FeedMappings feed,
            ContactPatch patch, List<String> warnings) {
        switch (field) {
            case "identifiers" -> patch.identifiers.addAll(identifiers(rule, segs));
            case "telecom" -> telecom(rule, segs, feed, patch, warnings);
            default -> {
                Object v = scalar(rule, segs, feed, warnings);
                if (v != null) {
                    patch.fields.put(field, v);
                }
            }
        }
    }

    /**
     * The value of a single-valued rule: null for no information, DELETE for HL7 {@code ""}. A value that is not what
     * the rule says (a date that is no date) is skipped with a warning and the rule's next path tried.
     */
    Object scalar(FieldRule rule, Segments segs, FeedMappings feed, List<String> warnings) {
        for (String p : rule.path) {
            Ref ref = Ref.parse(p);
            if (rule.kind == FieldRule.Kind.LIST) {
                // every occurrence of a repeating segment (each DG1 of a message is one diagnosis), in order
                java.util.LinkedHashSet<String> values = new java.util.LinkedHashSet<>();
                for (Segment seg : segs.all(ref.segment)) {
                    if (rule.when == null || matches(rule.when, seg, segs)) {
                        values.addAll(list(seg, ref));
                    }
                }
                if (!values.isEmpty()) {
                    return List.copyOf(values);
                }
                continue;
            }
            Segment seg = rule.when == null ? segs.first(ref.segment) : matching(rule.when, ref.segment, segs);
            if (seg == null) {
                continue;
            }
            Object v = switch (rule.kind) {
                case NAME -> name(seg, ref);
                case ADDRESS -> address(seg, ref);
                default -> {
                    String raw = segs.value(seg, ref);
                    if (raw == null || raw.isEmpty()) {
                        yield null;
                    }
                    if (raw.equals(HL7_NULL)) {
                        yield ContactPatch.DELETE;
                    }
                    yield typed(rule, ref, raw, feed, warnings);
                }
            };
            if (v != null) {
                return v;
            }
        }
        return null;
    }

    /** The first occurrence of a segment whose {@code when} field has one of the listed values. */
    private static Segment matching(FieldRule.When when, String segment, Segments segs) {
        for (Segment seg : segs.all(segment)) {
            if (matches(when, seg, segs)) {
                return seg;
            }
        }
        return null;
    }

    private static boolean matches(FieldRule.When when, Segment seg, Segments segs) {
        String v = segs.value(seg, Ref.parse(when.path));
        return v != null && when.equals.stream().anyMatch(v.trim()::equalsIgnoreCase);
    }

    private Object typed(FieldRule rule, Ref ref, String raw, FeedMappings feed, List<String> warnings) {
        String value = raw.trim();
        switch (rule.kind) {
            case DATE -> {
                OffsetDateTime t = parseDateTime(value, feed.zone());
                if (t == null) {
                    warnings.add(Hl7Warnings.of(ref.toString(), Hl7Warnings.DATA_TYPE,
                            "not an HL7 date, field skipped"));
                    return null;
                }
                // keep the precision the sender gave: 1963, 1963-08 or 1963-08-15
                String digits = value.length() >= 8 ? value.substring(0, 8) : value.substring(0, Math.min(6, value.length()));
                return digits.length() == 8 ? LocalDate.of(t.getYear(), t.getMonthValue(), t.getDayOfMonth()).toString()
                        : digits.length() == 6 ? value.substring(0, 4) + "-" + value.substring(4, 6)
                        : value.substring(0, 4);
            }
            case DATETIME -> {
                OffsetDateTime t = parseDateTime(value, feed.zone());
                if (t == null) {
                    warnings.add(Hl7Warnings.of(ref.toString(), Hl7Warnings.DATA_TYPE,
                            "not an HL7 date/time, field skipped"));
                    return null;
                }
                return t.format(java.time.format.DateTimeFormatter.ISO_OFFSET_DATE_TIME);
            }
            case FLAG -> {
                return rule.equals.stream().anyMatch(value::equalsIgnoreCase);
            }
            default -> {
                if (rule.map != null) {
                    return feed.valueMaps().get(rule.map).lookup(value);
                }
                return value;
            }
        }
    }

    private List<Identifier> identifiers(FieldRule rule, Segments segs) {
        List<Identifier> out = new ArrayList<>();
        for (String p : rule.path) {
            Ref ref = Ref.parse(p);
            for (Segment seg : segs.all(ref.segment)) {
                int reps = repetitions(seg, ref.field);
                for (int r = 0; r < reps; r++) {
                    String value = segs.value(seg, ref.field, r, 1, 1);
                    if (value == null || value.isBlank() || value.equals(HL7_NULL)) {
                        continue;
                    }
                    String ns = segs.value(seg, ref.field, r, 4, 1);
                    String system = ns == null || ns.isBlank() ? segs.value(seg, ref.field, r, 4, 2) : ns;
                    String type = segs.value(seg, ref.field, r, 5, 1);
                    Identifier id = new Identifier(blankToNull(system), value.trim(), blankToNull(type));
                    if (out.stream().noneMatch(i -> i.key().equals(id.key()))) {
                        out.add(id);
                    }
                }
                if (!out.isEmpty()) {
                    return out;
                }
            }
        }
        return out;
    }

    /** The legal name (XPN-7 = L) when the sender marks one, else the first. */
    private Object name(Segment seg, Ref ref) {
        int reps = repetitions(seg, ref.field);
        if (reps == 0) {
            return null;
        }
        int chosen = 0;
        for (int r = 0; r < reps; r++) {
            if ("L".equals(get(seg, ref.field, r, 7, 1))) {
                chosen = r;
                break;
            }
        }
        String family = get(seg, ref.field, chosen, 1, 1);
        if (HL7_NULL.equals(family)) {
            return ContactPatch.DELETE;
        }
        List<String> given = new ArrayList<>();
        for (int c : new int[] {2, 3}) {
            String g = get(seg, ref.field, chosen, c, 1);
            if (g != null && !g.isBlank() && !HL7_NULL.equals(g)) {
                given.add(g.trim());
            }
        }
        if ((family == null || family.isBlank()) && given.isEmpty()) {
            return null;
        }
        return new Name(blankToNull(family), List.copyOf(given));
    }

    private Object address(Segment seg, Ref ref) {
        if (repetitions(seg, ref.field) == 0) {
            return null;
        }
        String street = get(seg, ref.field, 0, 1, 1);
        if (HL7_NULL.equals(street)) {
            return ContactPatch.DELETE;
        }
        // XAD-1 is SAD: street or mailing address & street name & dwelling number ("1000&Hospital Lane")
        StringBuilder sad = new StringBuilder(nz(street));
        for (int sub = 2; sub <= 3; sub++) {
            String part = nz(get(seg, ref.field, 0, 1, sub));
            if (!part.isEmpty()) {
                sad.append(sad.length() > 0 ? " " : "").append(part);
            }
        }
        List<String> lines = new ArrayList<>();
        for (String l : new String[] {sad.toString(), get(seg, ref.field, 0, 2, 1)}) {
            if (l != null && !l.isBlank()) {
                lines.add(l.trim());
            }
        }
        String city = blankToNull(get(seg, ref.field, 0, 3, 1));
        String state = blankToNull(get(seg, ref.field, 0, 4, 1));
        String zip = blankToNull(get(seg, ref.field, 0, 5, 1));
        String country = blankToNull(get(seg, ref.field, 0, 6, 1));
        if (lines.isEmpty() && city == null && state == null && zip == null && country == null) {
            return null;
        }
        return new Address(List.copyOf(lines), city, state, zip, country);
    }

    /** The non-empty repetitions of one occurrence's field. */
    private List<String> list(Segment seg, Ref ref) {
        List<String> values = new ArrayList<>();
        int reps = repetitions(seg, ref.field);
        for (int r = 0; r < reps; r++) {
            String v = get(seg, ref.field, r, ref.component, ref.subcomponent);
            if (v != null && !v.isBlank() && !HL7_NULL.equals(v)) {
                values.add(v.trim());
            }
        }
        return values;
    }

    /**
     * XTN repetitions → email and phone. Email: use code NET or equipment type Internet/X.400 (by the value map).
     * Phone: the first mobile (equipment CP), else the first home number; E.164 via libphonenumber.
     */
    private void telecom(FieldRule rule, Segments segs, FeedMappings feed, ContactPatch patch,
            List<String> warnings) {
        ValueMap roles = feed.valueMaps().get(rule.map != null ? rule.map : "xtn-use");
        String email = null;
        String mobile = null;
        String home = null;
        boolean anyValue = false;
        boolean allNull = true;
        for (String p : rule.path) {
            Ref ref = Ref.parse(p);
            Segment seg = rule.when == null ? segs.first(ref.segment) : matching(rule.when, ref.segment, segs);
            if (seg == null) {
                continue;
            }
            int reps = repetitions(seg, ref.field);
            for (int r = 0; r < reps; r++) {
                String x1 = get(seg, ref.field, r, 1, 1);
                if (HL7_NULL.equals(x1)) {
                    continue;
                }
                String use = nz(get(seg, ref.field, r, 2, 1));
                String equip = nz(get(seg, ref.field, r, 3, 1));
                String x4 = nz(get(seg, ref.field, r, 4, 1));
                String useRole = use.isEmpty() || roles == null ? "" : nz(roles.lookup(use));
                String equipRole = equip.isEmpty() || roles == null ? "" : nz(roles.lookup(equip));
                String number = number(seg, ref.field, r, x1);
                if (number.isEmpty() && x4.isEmpty()) {
                    continue;
                }
                allNull = false;
                anyValue = true;
                if (useRole.equals("email") || equipRole.equals("email") || (number.isEmpty() && !x4.isEmpty())) {
                    String candidate = !x4.isEmpty() ? x4 : number;
                    candidate = candidate.trim().toLowerCase(Locale.ROOT);
                    if (!EMAIL.matcher(candidate).matches()) {
                        warnings.add(Hl7Warnings.of(ref.toString(), Hl7Warnings.DATA_TYPE,
                                "not an email address, skipped"));
                    } else if (email == null) {
                        email = candidate;
                    }
                    continue;
                }
                String e164 = e164(number, feed.phoneRegion());
                if (e164 == null) {
                    warnings.add(Hl7Warnings.of(ref.toString(), Hl7Warnings.DATA_TYPE,
                            "not a valid phone number, skipped"));
                    continue;
                }
                if (equipRole.equals("mobile") || useRole.equals("mobile")) {
                    mobile = mobile == null ? e164 : mobile;
                } else if (useRole.isEmpty() || useRole.equals("home") || equipRole.equals("phone")
                        && (useRole.isEmpty() || useRole.equals("home"))) {
                    home = home == null ? e164 : home;
                }
            }
            if (reps > 0 && reps == countNull(seg, ref.field)) {
                // the whole field is "": the sender deletes what it told us before
                patch.fields.put("email", ContactPatch.DELETE);
                patch.fields.put("phone", ContactPatch.DELETE);
                return;
            }
        }
        if (!anyValue || allNull) {
            return;
        }
        if (email != null) {
            patch.fields.put("email", email);
        }
        String phone = mobile != null ? mobile : home;
        if (phone != null) {
            patch.fields.put("phone", phone);
        }
    }

    private static int countNull(Segment seg, int field) {
        int reps = repetitions(seg, field);
        int n = 0;
        for (int r = 0; r < reps; r++) {
            if (HL7_NULL.equals(get(seg, field, r, 1, 1))) {
                n++;
            }
        }
        return n;
    }

    private static String number(Segment seg, int field, int rep, String x1) {
        String country = nz(get(seg, field, rep, 5, 1));
        String area = nz(get(seg, field, rep, 6, 1));
        String local = nz(get(seg, field, rep, 7, 1));
        if (!local.isEmpty()) {
            return (country.isEmpty() ? "" : "+" + country.replaceAll("\\D", "")) + area + local;
        }
        String unformatted = nz(get(seg, field, rep, 12, 1));
        if (!unformatted.isEmpty()) {
            return unformatted;
        }
        return nz(x1);
    }

    /** Feeds repeat the same numbers message after message; libphonenumber's parse is the costly part. */
    private static final java.util.concurrent.ConcurrentHashMap<String, java.util.Optional<String>> E164_CACHE =
            new java.util.concurrent.ConcurrentHashMap<>();

    static String e164(String number, String region) {
        if (number == null || number.isBlank() || number.contains("@")) {
            return null;
        }
        String key = region + "|" + number;
        java.util.Optional<String> cached = E164_CACHE.get(key);
        if (cached != null) {
            return cached.orElse(null);
        }
        if (E164_CACHE.size() > 50_000) {
            E164_CACHE.clear(); // bounded: a crude reset beats an unbounded map of phone numbers
        }
        String result = parseE164(number, region);
        E164_CACHE.put(key, java.util.Optional.ofNullable(result));
        return result;
    }

    private static String parseE164(String number, String region) {
        try {
            Phonenumber.PhoneNumber n = PHONES.parse(number, region);
            if (!PHONES.isValidNumber(n)) {
                return null;
            }
            return PHONES.format(n, PhoneNumberUtil.PhoneNumberFormat.E164);
        } catch (NumberParseException e) {
            return null;
        }
    }

    /** HL7 DTM ({@code YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]}) → offset date-time; no offset means the feed's zone. */
    public static OffsetDateTime parseDateTime(String value, ZoneId zone) {
        if (value == null) {
            return null;
        }
        Matcher m = DTM.matcher(value.trim());
        if (!m.matches()) {
            return null;
        }
        try {
            int year = Integer.parseInt(m.group(1));
            int month = m.group(2) == null ? 1 : Integer.parseInt(m.group(2));
            int day = m.group(3) == null ? 1 : Integer.parseInt(m.group(3));
            int hour = m.group(4) == null ? 0 : Integer.parseInt(m.group(4));
            int minute = m.group(5) == null ? 0 : Integer.parseInt(m.group(5));
            int second = m.group(6) == null ? 0 : Integer.parseInt(m.group(6));
            int nanos = 0;
            if (m.group(7) != null) {
                String frac = (m.group(7) + "000000000").substring(0, 9);
                nanos = Integer.parseInt(frac);
            }
            LocalDateTime local = LocalDateTime.of(year, month, day, hour, minute, second, nanos);
            if (m.group(8) != null) {
                String z = m.group(8);
                int sign = z.charAt(0) == '-' ? -1 : 1;
                int hh = Integer.parseInt(z.substring(1, 3));
                int mm = Integer.parseInt(z.substring(3, 5));
                return OffsetDateTime.of(local, ZoneOffset.ofHoursMinutes(sign * hh, sign * mm));
            }
            return local.atZone(zone).toOffsetDateTime();
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static int repetitions(Segment seg, int field) {
        try {
            if (field > seg.numFields()) {
                return 0;
            }
            return seg.getField(field).length;
        } catch (HL7Exception e) {
            return 0;
        }
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() || s.equals(HL7_NULL) ? null : s.trim();
    }

    private static String nz(String s) {
        return s == null ? "" : s.trim();
    }

    /** A parsed path {@code SEG-F[(rep)][-C[-S]]}; repetition is 0-based as in Terser, components 1-based. */
    record Ref(String segment, int field, int rep, int component, int subcomponent) {
        private static final Map<String, Ref> CACHE = new java.util.concurrent.ConcurrentHashMap<>();

        static Ref parse(String path) {
            return CACHE.computeIfAbsent(path, p -> {
                Matcher m = PATH.matcher(p);
                if (!m.matches()) {
                    throw new IllegalArgumentException("bad path " + p);
                }
                return new Ref(m.group(1), Integer.parseInt(m.group(2)),
                        m.group(3) == null ? 0 : Integer.parseInt(m.group(3)),
                        m.group(4) == null ? 1 : Integer.parseInt(m.group(4)),
                        m.group(5) == null ? 1 : Integer.parseInt(m.group(5)));
            });
        }

        @Override
        public String toString() {
            return segment + "-" + field;
        }
    }

    /** Every populated segment of a message by name, in message order (groups walked without creating anything). */
    static final class Segments {
        private final Map<String, List<Segment>> byName = new HashMap<>();

        static Segments of(Message message) {
            Segments s = new Segments();
            s.collect(message);
            return s;
        }

        private void collect(Group group) {
            for (String name : group.getNames()) {
                Structure[] all;
                try {
                    all = group.getAll(name);
                } catch (HL7Exception e) {
                    continue;
                }
                for (Structure st : all) {
                    if (st instanceof Segment seg) {
                        try {
                            if (!seg.isEmpty()) {
                                byName.computeIfAbsent(seg.getName(), k -> new ArrayList<>()).add(seg);
                            }
                        } catch (HL7Exception ignored) {
                            // an unreadable segment carries nothing we can use
                        }
                    } else if (st instanceof Group g) {
                        collect(g);
                    }
                }
            }
        }

        Segment first(String name) {
            List<Segment> l = byName.get(name);
            return l == null ? null : l.get(0);
        }

        List<Segment> all(String name) {
            return byName.getOrDefault(name, List.of());
        }

        String value(Segment seg, Ref ref) {
            return value(seg, ref.field, ref.rep, ref.component, ref.subcomponent);
        }

        String value(String segName, int field, int rep, int comp, int sub) {
            Segment seg = first(segName);
            return seg == null ? null : value(seg, field, rep, comp, sub);
        }

        String value(Segment seg, int field, int rep, int comp, int sub) {
            if (field > seg.numFields() || rep >= repetitions(seg, field)) {
                return null;
            }
            return get(seg, field, rep, comp, sub);
        }
    }

    /** Terser's field access; a field that cannot be read carries no information. */
    static String get(Segment seg, int field, int rep, int comp, int sub) {
        try {
            return Terser.get(seg, field, rep, comp, sub);
        } catch (HL7Exception | RuntimeException e) {
            return null;
        }
    }
}
