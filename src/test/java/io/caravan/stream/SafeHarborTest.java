package io.caravan.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.contact.Address;
import io.caravan.contact.Contact;
import io.caravan.contact.Name;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** The de-identified form, case by case: what goes out, in which shape, and the edges of each rule. */
class SafeHarborTest {

    static final SafeHarbor HARBOR = new SafeHarbor(SafeHarbor.Zip3List.census2010());
    static final OffsetDateTime AT = OffsetDateTime.parse("2026-03-14T09:30:00-05:00");

    static Contact contact(String birthDate, String zip, String state, String country) {
        Contact c = new Contact(UUID.randomUUID());
        c.name = new Name("Everywoman", List.of("Eve"));
        c.birthDate = birthDate;
        c.gender = "female";
        c.email = "eve@example.org";
        c.phone = "+16175550100";
        c.language = "es";
        c.address = new Address(List.of("1 Main St"), "Boston", state, zip, country);
        return c;
    }

    @Test
    void aContactBecomesItsSurrogateWithGenderAgeStateZip3AndTheEventYear() {
        UUID event = UUID.randomUUID();
        UUID surrogate = UUID.randomUUID();
        Map<String, Object> out = HARBOR.deidentify(event, "patient.registered", AT,
                contact("1980-07-04", "02139-4307", "MA", "USA"), surrogate);
        assertThat(out).containsExactly(Map.entry("id", event.toString()), Map.entry("form", "deidentified"),
                Map.entry("type", "patient.registered"), Map.entry("year", 2026),
                Map.entry("contact", Map.of("id", surrogate.toString(), "gender", "female", "birthYear", 1980,
                        "age", "45", "language", "es", "country", "US", "state", "MA", "zip3", "021")),
                Map.entry("deidentification", Map.of("method", "safe-harbor", "zip3List", "census-2010")));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({"03601, 000", "05901, 000", "10201, 000", "20301, 000", "20501, 000", "36901, 000", "55601, 000",
            "69201, 000", "82101, 000", "82301, 000", "87801, 000", "87901, 000", "88401, 000", "89301, 000",
            "03701, 037", "89401, 894", "00501, 005", "021394307, 021"})
    void restrictedZip3sBecome000(String zip, String zip3) {
        Map<String, Object> who = who(HARBOR, contact("1980-07-04", zip, "MA", "US"));
        assertThat(who.get("zip3")).isEqualTo(zip3);
    }

    @ParameterizedTest(name = "born {0}: age {1}, birth year {2}")
    @CsvSource({"1936-03-15, 89, 1936", "1936-03-14, 90+, ", "1901-01-01, 90+, ", "1936-04, 89, 1936",
            "1936-03, 90+, ", "1936, 90+, ", "2026-03-14, 0, 2026", "2027-01-01, , "})
    void agesOver89AggregateInto90PlusWithNoBirthYear(String birth, String age, Integer year) {
        Map<String, Object> who = who(HARBOR, contact(birth, "02139", "MA", "US"));
        assertThat(who.get("age")).isEqualTo(age);
        assertThat(who.get("birthYear")).isEqualTo(year);
    }

    @ParameterizedTest(name = "birth date [{0}]")
    @CsvSource(delimiter = ';', value = {"1980-13-45", "14 July 1980", "1980-07-04T00:00", "N", "''"})
    void aBirthDateOfNoKnownShapeGivesNoAge(String birth) {
        assertThat(who(HARBOR, contact(birth, "02139", "MA", "US"))).doesNotContainKeys("age", "birthYear");
    }

    @Test
    void anAddressOutsideTheUsGivesNoGeographyAtAll() {
        // ZIP3 is a US notion: a foreign postal code can name a single building
        assertThat(who(HARBOR, contact("1980-07-04", "SW1A 1AA", "London", "GB")))
                .doesNotContainKeys("zip3", "state", "country");
        assertThat(who(HARBOR, contact("1980-07-04", "10115", "BE", "DE"))).doesNotContainKeys("zip3", "state");
    }

    @Test
    void valuesThatAreNotOfTheKeptFieldsClosedFormStayOut() {
        Contact c = contact("1980-07-04", "0213", "Massachusetts", null);
        c.gender = "F - see chart";
        c.language = "Spanish (prefers daughter Ana)";
        assertThat(who(HARBOR, c)).containsOnlyKeys("id", "birthYear", "age");
    }

    @Test
    void aTypeOutsideTheHubsVocabularyGoesOutAsOther() {
        Map<String, Object> out = HARBOR.deidentify(UUID.randomUUID(), "patient.Everywoman", AT, null,
                UUID.randomUUID());
        assertThat(out.get("type")).isEqualTo("other");
        assertThat(out.get("contact")).isEqualTo(Map.of("id", ((Map<?, ?>) out.get("contact")).get("id")));
    }

    @Test
    void theRestrictedListIsConfigurableAndItsVersionTravelsWithThePayload() {
        SafeHarbor census2020 = new SafeHarbor(new SafeHarbor.Zip3List("census-2020", Set.of("021")));
        Map<String, Object> out = census2020.deidentify(UUID.randomUUID(), "patient.admitted", AT,
                contact("1980-07-04", "02139", "MA", "US"), UUID.randomUUID());
        assertThat(((Map<?, ?>) out.get("contact")).get("zip3")).isEqualTo("000");
        assertThat(out.get("deidentification")).isEqualTo(Map.of("method", "safe-harbor", "zip3List", "census-2020"));
        assertThat(who(census2020, contact("1980-07-04", "03601", "NH", "US")).get("zip3")).isEqualTo("036");
    }

    @Test
    void theEventIdDiffersPerDestinationAndIsStableForOne() {
        UUID hub = UUID.randomUUID();
        assertThat(EventKinds.eventId("crm", hub)).isEqualTo(EventKinds.eventId("crm", hub))
                .isNotEqualTo(EventKinds.eventId("analytics", hub)).isNotEqualTo(hub);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> who(SafeHarbor harbor, Contact c) {
        return (Map<String, Object>) harbor.deidentify(UUID.randomUUID(), "patient.registered", AT, c,
                UUID.randomUUID()).get("contact");
    }
}
