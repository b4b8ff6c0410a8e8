package io.caravan.stream;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.contact.Address;
import io.caravan.contact.Contact;
import io.caravan.contact.Identifier;
import io.caravan.contact.Name;
import io.caravan.contact.TriggerEvent;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.Period;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Random contacts whose every field is a plausible identifier - also placed in the fields the transformer keeps
 * (state, gender, language, country), inside event data, source references and free text: the de-identified payload
 * never contains any of them. The ZIP3 and {@code 90+} rules are checked from the regulation's wording, computed here
 * independently of the transformer.
 */
class SafeHarborPropertiesTest {

    static final SafeHarbor HARBOR = new SafeHarbor(SafeHarbor.Zip3List.census2010());
    static final List<String> RESTRICTED = List.of("036", "059", "102", "203", "205", "369", "556", "692", "821",
            "823", "878", "879", "884", "893");
    static final ObjectMapper JSON = com.fasterxml.jackson.databind.json.JsonMapper.builder()
            .addModule(new com.fasterxml.jackson.datatype.jsr310.JavaTimeModule()).build();

    /** A contact and an event built from identifiers, with the list of every identifier placed in them. */
    record Case(Contact contact, TriggerEvent event, List<String> identifiers) {
    }

    @Provide
    Arbitrary<Case> cases() {
        Arbitrary<String> name = Arbitraries.strings().withCharRange('a', 'z').ofMinLength(4).ofMaxLength(10)
                .map(s -> Character.toUpperCase(s.charAt(0)) + s.substring(1) + "x");
        Arbitrary<String> digits7 = Arbitraries.strings().numeric().ofLength(7);
        Arbitrary<String> mrn = Arbitraries.strings().numeric().ofMinLength(6).ofMaxLength(10).map(d -> "MR" + d);
        Arbitrary<String> phone = Arbitraries.strings().numeric().ofLength(7).map(d -> "+1617" + d);
        Arbitrary<String> ssn = Arbitraries.strings().numeric().ofLength(9)
                .map(d -> d.substring(0, 3) + "-" + d.substring(3, 5) + "-" + d.substring(5));
        Arbitrary<String> zip = Arbitraries.oneOf(Arbitraries.of(RESTRICTED).flatMap(p -> Arbitraries.strings()
                .numeric().ofLength(2).map(d -> p + d)), Arbitraries.strings().numeric().ofLength(5));
        Arbitrary<String> zipPlus4 = Combinators.combine(zip, Arbitraries.strings().numeric().ofLength(4),
                Arbitraries.of("", "-")).as((z, p, sep) -> z + sep + p);
        Arbitrary<LocalDate> birth = Arbitraries.longs().between(0, 110L * 365).map(d -> LocalDate.of(2026, 6, 30)
                .minusDays(d));
        Arbitrary<OffsetDateTime> occurred = Arbitraries.longs().between(0, 5L * 365 * 24 * 60).map(m ->
                OffsetDateTime.of(2022, 1, 1, 0, 0, 0, 0, ZoneOffset.ofHours(-5)).plusMinutes(m));
        Arbitrary<String> ip = Arbitraries.integers().between(1, 254).list().ofSize(4)
                .map(l -> l.get(0) + "." + l.get(1) + "." + l.get(2) + "." + l.get(3));
        Arbitrary<String> code = Arbitraries.strings().withCharRange('A', 'Z').numeric().ofMinLength(8)
                .ofMaxLength(14).filter(s -> s.chars().anyMatch(Character::isDigit));
        return Combinators.combine(List.of(name, name, name, digits7, mrn, phone, ssn, Arbitraries.oneOf(zip,
                zipPlus4), birth.map(Object::toString), occurred.map(Object::toString), ip, code, code, code, name,
                Arbitraries.of("MA", "NY", "TX", "ZZ", "field"), Arbitraries.of("female", "male", "x", "field"),
                Arbitraries.of("US", "USA", "us", "DE", "field", "none"), Arbitraries.of("es", "en", "field"),
                Arbitraries.of("patient.registered", "appointment.booked", "field")))
                .as(v -> build(v));
    }

    private static Case build(List<String> v) {
        String family = v.get(0), given = v.get(1), city = v.get(2);
        String digits = v.get(3), mrn = v.get(4), phone = v.get(5), ssn = v.get(6);
        String zip = v.get(7), birth = v.get(8), occurred = v.get(9), ip = v.get(10);
        String plan = v.get(11), device = v.get(12), licence = v.get(13);
        String street = v.get(14);
        String email = given.toLowerCase() + "." + family.toLowerCase() + "@example.org";
        String url = "https://portal.example.org/patients/" + mrn;
        String fax = "+1508" + digits;
        String note = given + " " + family + " called from " + phone + " about " + mrn;
        List<String> ids = new ArrayList<>(List.of(family, given, city, street, mrn, phone, ssn, zip, birth,
                email, url, fax, ip, plan, device, licence, note, digits));
        // fields the transformer keeps get an identifier instead of a valid value where the generator says "field"
        String state = "field".equals(v.get(15)) ? family : v.get(15);
        String gender = "field".equals(v.get(16)) ? email : v.get(16);
        String country = "field".equals(v.get(17)) ? city : "none".equals(v.get(17)) ? null : v.get(17);
        String language = "field".equals(v.get(18)) ? given : v.get(18);
        String type = "field".equals(v.get(19)) ? "patient." + family : v.get(19);
        if ("field".equals(v.get(19))) {
            ids.add(type);
        }

        Contact c = new Contact(UUID.randomUUID());
        c.identifiers.add(new Identifier("HOSP", mrn, "MR"));
        c.identifiers.add(new Identifier("SSA", ssn, "SS"));
        c.identifiers.add(new Identifier("DMV", licence, "DL"));
        c.name = new Name(family, List.of(given));
        c.birthDate = birth;
        c.gender = gender;
        c.email = email;
        c.phone = phone;
        c.language = language;
        c.address = new Address(List.of("12 " + street + " Road"), city, state, zip, country);
        c.attributes.put("fax", fax);
        c.attributes.put("healthPlan", plan);
        c.attributes.put("deviceSerial", device);
        c.attributes.put("ipAddress", ip);
        c.attributes.put("homepage", url);
        c.attributes.put("note", note);
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("appointmentStart", occurred);
        data.put("location", city + " clinic");
        data.put("comment", note);
        data.put("accountNumber", plan);
        data.put("attending", Map.of("name", given + " " + family, "npi", digits));
        TriggerEvent e = new TriggerEvent(UUID.randomUUID(), type, OffsetDateTime.parse(occurred),
                new TriggerEvent.Source("epic-adt", mrn, null), data);
        return new Case(c, e, ids);
    }

    @Property(tries = 1000)
    void noIdentifierEverReachesTheDeidentifiedPayload(@ForAll("cases") Case k) throws Exception {
        UUID eventId = EventKinds.eventId("analytics", k.event().id());
        UUID surrogate = UUID.randomUUID();
        String json = JSON.writeValueAsString(HARBOR.deidentify(eventId, k.event().type(), k.event().occurredAt(),
                k.contact(), surrogate));
        // the two random ids are checked apart: hex digits could spell a short number by chance
        assertThat(json).contains(eventId.toString()).contains(surrogate.toString());
        String rest = json.replace(eventId.toString(), "<event>").replace(surrogate.toString(), "<surrogate>");
        for (String id : k.identifiers()) {
            assertThat(rest).as("payload carries an identifier").doesNotContain(id);
        }
        assertThat(rest).doesNotContain(k.contact().id.toString()).doesNotContain(k.event().id().toString());
        // no date element but the year: nothing shaped like a month or a day after a year
        assertThat(rest).doesNotContainPattern("\\d{4}-\\d{2}").doesNotContainPattern("\\d{2}/\\d{2}");
    }

    @Property(tries = 500)
    void zip3AndAgeFollowTheSafeHarborRules(@ForAll("cases") Case k) {
        Map<String, Object> out = HARBOR.deidentify(UUID.randomUUID(), k.event().type(), k.event().occurredAt(),
                k.contact(), UUID.randomUUID());
        @SuppressWarnings("unchecked")
        Map<String, Object> who = (Map<String, Object>) out.get("contact");
        Address a = k.contact().address;
        boolean us = a.country() == null || List.of("US", "USA", "us").contains(a.country());
        if (us) {
            String first3 = a.postalCode().substring(0, 3);
            assertThat(who.get("zip3")).isEqualTo(RESTRICTED.contains(first3) ? "000" : first3);
        } else {
            assertThat(who).doesNotContainKeys("zip3", "state");
        }
        LocalDate born = LocalDate.parse(k.contact().birthDate);
        LocalDate at = k.event().occurredAt().toLocalDate();
        if (born.isAfter(at)) {
            assertThat(who).doesNotContainKeys("age", "birthYear");
        } else if (Period.between(born, at).getYears() >= 90) {
            assertThat(who).containsEntry("age", "90+").doesNotContainKey("birthYear");
        } else {
            assertThat(who).containsEntry("birthYear", born.getYear())
                    .containsEntry("age", String.valueOf(Period.between(born, at).getYears()));
        }
        assertThat(out.get("year")).isEqualTo(k.event().occurredAt().withOffsetSameInstant(ZoneOffset.UTC).getYear());
    }
}
