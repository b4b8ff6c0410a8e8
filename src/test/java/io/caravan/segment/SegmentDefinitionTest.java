package io.caravan.segment;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.consent.ConsentPolicy;
import io.caravan.workflow.Conditions;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Segment expressions over the attribute index, one attribute kind at a time, and the checks a definition passes. */
class SegmentDefinitionTest {

    static final LocalDate TODAY = LocalDate.of(2026, 11, 29);
    static final SegmentCatalog CATALOG = new SegmentCatalog(Path.of("config/segments"),
            ConsentPolicy.load(Path.of("config/policies")));

    final AttributeIndex index = new AttributeIndex();
    final UUID ana = UUID.randomUUID();
    final UUID bo = UUID.randomUUID();
    final UUID cy = UUID.randomUUID();

    SegmentDefinitionTest() {
        index.put(ana, new IndexedAttributes("1960-12-01", "female", "627", "IL", "es", List.of("E11.9", "I10"),
                "2025-06-01", "2025-06-03", "2026-12-02"));
        index.put(bo, new IndexedAttributes("2000-01-15", "male", "021", "MA", "en", List.of("J45.20"),
                "2026-11-20", null, null));
        index.put(cy, new IndexedAttributes(null, null, null, null, null, List.of(), null, null, null));
    }

    List<UUID> select(String when) {
        List<UUID> out = new ArrayList<>();
        index.evaluate(Conditions.compile(when), TODAY, SegmentFacts.Outside.NONE, 1, out::add);
        return out;
    }

    @Test
    void demographicsSelectByAgeSexRegionAndLanguage() {
        assertThat(select("age() >= 65")).containsExactly(ana);     // 65 on 1 Dec 2025
        assertThat(select("age() == 26")).containsExactly(bo);
        assertThat(select("contact.gender == 'female'")).containsExactly(ana);
        assertThat(select("sex == 'male' and birthYear == 2000")).containsExactly(bo);
        assertThat(select("zip3 == '021' or state == 'IL'")).containsExactlyInAnyOrder(ana, bo);
        assertThat(select("language == 'es'")).containsExactly(ana);
        assertThat(select("age() < 0")).as("no birth date reads as -1").containsExactly(cy);
    }

    @Test
    void codesSelectByPrefixAndByCodeSet() {
        assertThat(select("hasCode('E11')")).containsExactly(ana);
        assertThat(select("hasCode('e11.9')")).containsExactly(ana);
        assertThat(select("inCodeSet('diabetes')")).containsExactly(ana);
        assertThat(select("inCodeSet('asthma')")).containsExactly(bo);
        assertThat(select("hasCode('E12')")).isEmpty();
    }

    @Test
    void visitDischargeAndAppointmentFactsCountInDays() {
        assertThat(select("hasVisit() and daysSinceVisit() > 365")).containsExactly(ana);
        assertThat(select("daysSinceVisit() <= 30")).containsExactly(bo);
        assertThat(select("hasDischarge()")).containsExactly(ana);
        assertThat(select("hasAppointment() and daysUntilAppointment() <= 7")).containsExactly(ana);
    }

    @Test
    void aChangedRowIsReadAsChangedAndARemovedOneNotAtAll() {
        index.put(bo, new IndexedAttributes("2000-01-15", "male", "021", "MA", "en", List.of("E11.65"), null, null,
                null));
        assertThat(select("hasCode('E11')")).containsExactlyInAnyOrder(ana, bo);
        index.remove(ana);
        assertThat(select("hasCode('E11')")).containsExactly(bo);
        assertThat(index.size()).isEqualTo(2);
    }

    @Test
    void aMarketingSegmentMayNotSelectBySensitiveCodes() {
        assertThat(CATALOG.check(new SegmentDefinition("hiv-promo", null, "marketing", "hasCode('B20')")))
                .extracting(SegmentCatalog.Problem::field).containsExactly("when");
        assertThat(CATALOG.check(new SegmentDefinition("x", null, "marketing", "hasCode('F1')")).get(0).detail())
                .contains("substance-use");
        assertThat(CATALOG.check(new SegmentDefinition("x", null, "marketing", "hasCode('F10.2')")).get(0).detail())
                .contains("substance-use");
        assertThat(CATALOG.check(new SegmentDefinition("x", null, "marketing", "inCodeSet('substance-use')")))
                .hasSize(1);
        assertThat(CATALOG.check(new SegmentDefinition("x", null, "marketing", "hasCode(language)")))
                .as("a code that is not a literal cannot be checked").hasSize(1);
        // the same selections are allowed for treatment; other codes for marketing
        assertThat(CATALOG.check(new SegmentDefinition("x", null, "treatment", "inCodeSet('substance-use')")))
                .isEmpty();
        assertThat(CATALOG.check(new SegmentDefinition("x", null, "marketing", "inCodeSet('diabetes')"))).isEmpty();
    }

    @Test
    void aDefinitionIsCheckedFieldByField() {
        assertThat(CATALOG.check(new SegmentDefinition("Bad Id", null, "marketing", "age() > 1")))
                .extracting(SegmentCatalog.Problem::field).containsExactly("id");
        assertThat(CATALOG.check(new SegmentDefinition("x", null, "selling", "age() > 1")))
                .extracting(SegmentCatalog.Problem::field).containsExactly("purpose");
        assertThat(CATALOG.check(new SegmentDefinition("x", null, "treatment", "age( > 1")))
                .extracting(SegmentCatalog.Problem::detail).allMatch(d -> d.startsWith("does not compile"));
        assertThat(CATALOG.check(new SegmentDefinition("x", null, "treatment", "shoeSize() > 40")))
                .extracting(SegmentCatalog.Problem::detail).allMatch(d -> d.startsWith("cannot be evaluated"));
        assertThat(CATALOG.check(new SegmentDefinition("x", null, "treatment", "inCodeSet('nope')")))
                .extracting(SegmentCatalog.Problem::detail).allMatch(d -> d.startsWith("no code set"));
        assertThat(CATALOG.check(new SegmentDefinition("x", null, "treatment", "age()")))
                .extracting(SegmentCatalog.Problem::detail).containsExactly("must be true or false");
        assertThat(CATALOG.files()).containsKeys("diabetic-adults", "lapsed-patients");
    }

    @Test
    void indexedAttributesAreCoarse() {
        assertThat(IndexedAttributes.zip3("62704-1234")).isEqualTo("627");
        assertThat(IndexedAttributes.zip3("K1A 0B1")).isNull();
    }
}
