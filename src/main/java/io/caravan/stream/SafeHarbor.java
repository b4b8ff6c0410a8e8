package io.caravan.stream;

import io.caravan.contact.Address;
import io.caravan.contact.Contact;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.Period;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Safe Harbor de-identification (45 CFR 164.514(b)(2)) for destinations without a BAA. Built as an allow-list: the
 * payload is assembled from nothing, and a field goes in only when it is one of the few this class knows to be safe
 * AND its value is checked to be of that field's closed form (a US state code, a FHIR gender code, a year...). Every
 * other field of the contact or the event - names, identifiers, telecoms, street, city, dates, event data, free text
 * - never reaches the output, so a field added to the contact tomorrow stays out until someone adds it here.
 *
 * <p>Kept: the event's type (from the hub's own vocabulary) and year; the contact's surrogate id (random, per
 * destination, from {@link Surrogates}), gender, age in years and birth year (ages over 89 as {@code 90+} with no
 * year, 164.514(b)(2)(i)(C)), state, ZIP3 ({@code 000} for the restricted ZIP3s, (b)(2)(i)(B)), country and
 * language.
 */
public final class SafeHarbor {

    /** The method and schema this transformer produces; a consumer can tell forms apart by it. */
    public static final String FORM = "deidentified";

    /** The restricted three-digit ZIPs (populations of 20,000 or fewer) and the census they come from. */
    public record Zip3List(String version, Set<String> restricted) {
        public Zip3List {
            restricted = Set.copyOf(restricted);
        }

        /** The 2010-census list HHS published: the default until an operator configures a newer one. */
        public static Zip3List census2010() {
            return new Zip3List("census-2010", Set.of("036", "059", "102", "203", "205", "369", "556", "692", "821",
                    "823", "878", "879", "884", "893"));
        }
    }

    private static final Set<String> STATES = Set.of("AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA",
            "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV",
            "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA",
            "WA", "WV", "WI", "WY", "DC", "AS", "GU", "MP", "PR", "VI");
    private static final Set<String> GENDERS = Set.of("male", "female", "other", "unknown");
    private static final Set<String> COUNTRIES = Set.of("US", "USA");
    private static final Pattern LANGUAGE = Pattern.compile("[a-z]{2}");
    private static final Pattern ZIP = Pattern.compile("(\\d{5})(-?\\d{4})?");
    private static final Pattern BIRTH = Pattern.compile("(\\d{4})(-(\\d{2})(-(\\d{2}))?)?");

    private final Zip3List zip3;

    public SafeHarbor(Zip3List zip3) {
        this.zip3 = zip3;
    }

    public Zip3List zip3List() {
        return zip3;
    }

    /**
     * The de-identified payload of one event.
     *
     * @param eventId    the event's id for this destination (see {@link EventKinds#eventId}): random, not the
     *                   hub's own id, so two destinations cannot join their feeds on it
     * @param type       the event's type; one outside the hub's vocabulary ({@link EventKinds}) goes out as
     *                   {@code other} - a type string is not trusted to be free of values
     * @param occurredAt when it happened: only the year goes out
     * @param contact    the contact as the hub holds it (may be null: the contact block is then just the surrogate)
     * @param surrogate  the contact's random surrogate id for this destination
     */
    public Map<String, Object> deidentify(UUID eventId, String type, OffsetDateTime occurredAt, Contact contact,
            UUID surrogate) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", eventId.toString());
        out.put("form", FORM);
        out.put("type", EventKinds.known(type) ? type : "other");
        if (occurredAt != null) {
            out.put("year", occurredAt.withOffsetSameInstant(ZoneOffset.UTC).getYear());
        }
        Map<String, Object> who = new LinkedHashMap<>();
        who.put("id", surrogate.toString());
        if (contact != null) {
            if (contact.gender != null && GENDERS.contains(contact.gender)) {
                who.put("gender", contact.gender);
            }
            age(contact.birthDate, occurredAt == null ? null : occurredAt.toLocalDate(), who);
            if (contact.language != null && LANGUAGE.matcher(contact.language).matches()) {
                who.put("language", contact.language);
            }
            place(contact.address, who);
        }
        out.put("contact", who);
        out.put("deidentification", Map.of("method", "safe-harbor", "zip3List", zip3.version()));
        return out;
    }

    /** The contact fields whose change the de-identified form may tell: it shows something derived from each. */
    public static final java.util.List<String> CHANGE_FIELDS = java.util.List.of("address", "birthDate", "gender",
            "language");
    /** The closed vocabularies a de-identified message event's channel and purpose come from. */
    static final Set<String> CHANNELS = Set.of("email", "sms");
    static final Set<String> PURPOSES = Set.of("treatment", "payment", "operations", "marketing");

    /**
     * What a de-identified {@code contact.changed} event says: the names (never the values) of the changed fields
     * this form shows something of, in a fixed order. Empty when the change is invisible here (a new phone number):
     * then the event is not sent at all.
     */
    public static java.util.List<String> visibleChanges(Object changed) {
        if (!(changed instanceof java.util.Collection<?> c)) {
            return java.util.List.of();
        }
        return CHANGE_FIELDS.stream().filter(f -> c.contains(f)).toList();
    }

    /**
     * The message block of a de-identified {@code message.<status>} event: a reference to the message for this
     * destination (see {@link EventKinds#messageRef}), its channel and its purpose, each from a closed vocabulary -
     * no template name, address or content.
     */
    public static Map<String, Object> message(UUID messageRef, Object channel, Object purpose) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ref", messageRef.toString());
        if (channel instanceof String ch && CHANNELS.contains(ch)) {
            m.put("channel", ch);
        }
        if (purpose instanceof String p && PURPOSES.contains(p)) {
            m.put("purpose", p);
        }
        return m;
    }

    /**
     * Birth year and age at the event. Ages over 89, and every date element that would show one (the birth year),
     * aggregate into {@code 90+}. A partial birth date (year or year-month) still gives the year; the age is then
     * computed as if born on the first day, and a possible 90 already counts as {@code 90+}.
     */
    private static void age(String birthDate, LocalDate at, Map<String, Object> who) {
        if (birthDate == null) {
            return;
        }
        var m = BIRTH.matcher(birthDate);
        if (!m.matches()) {
            return;
        }
        LocalDate born;
        try {
            born = LocalDate.of(Integer.parseInt(m.group(1)), m.group(3) == null ? 1 : Integer.parseInt(m.group(3)),
                    m.group(5) == null ? 1 : Integer.parseInt(m.group(5)));
        } catch (java.time.DateTimeException e) {
            return;
        }
        if (at == null || born.isAfter(at)) {
            return;
        }
        int years = Period.between(born, at).getYears();
        if (years > 89) {
            who.put("age", "90+");
            return;
        }
        who.put("birthYear", born.getYear());
        who.put("age", String.valueOf(years));
    }

    /** State, ZIP3 and country of a US address; geography below the state is never read. */
    private void place(Address address, Map<String, Object> who) {
        if (address == null) {
            return;
        }
        String country = address.country() == null ? null : address.country().trim().toUpperCase();
        if (country != null && !COUNTRIES.contains(country)) {
            // ZIP3 and state codes are US notions: a foreign postal code could be a full address
            return;
        }
        if (country != null) {
            who.put("country", "US");
        }
        String state = address.state() == null ? null : address.state().trim().toUpperCase();
        if (state != null && STATES.contains(state)) {
            who.put("state", state);
        }
        if (address.postalCode() != null) {
            var m = ZIP.matcher(address.postalCode().trim());
            if (m.matches()) {
                String three = m.group(1).substring(0, 3);
                who.put("zip3", zip3.restricted().contains(three) ? "000" : three);
            }
        }
    }
}
