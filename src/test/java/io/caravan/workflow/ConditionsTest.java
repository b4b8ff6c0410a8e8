package io.caravan.workflow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.ZoneId;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The condition language: what workflows need, and nothing that reaches outside the facts. */
class ConditionsTest {

    static final Instant NOW = Instant.parse("2026-11-28T15:00:00Z");

    static Conditions.Facts facts(Map<String, Object> contact, Map<String, Object> eventData, Set<String> codes) {
        Map<String, Object> event = Map.of("type", "appointment.booked", "data", eventData);
        return new Conditions.Facts(Map.copyOf(contact), event, event, NOW, ZoneId.of("America/Chicago"), codes,
                (step, what) -> "survey".equals(step) && "opened".equals(what));
    }

    static boolean test(String expr, Conditions.Facts f) {
        return Conditions.test(Conditions.compile(expr), f);
    }

    @Test
    void timesAgesCodesAndEngagement() {
        Conditions.Facts f = facts(Map.of("gender", "female", "birthDate", "1976-11-28"),
                Map.of("start", "2026-12-01T08:00:00-06:00", "dischargeDisposition", "01"), Set.of("E11.9", "I10"));
        assertThat(test("hoursUntil(event.data.start) > 48", f)).isTrue();
        assertThat(test("hoursUntil(event.data.start) > 72", f)).isFalse();
        assertThat(test("contact.gender == 'female' and age() >= 50", f)).isTrue();
        assertThat(test("birthday()", f)).as("28 November in Chicago").isTrue();
        assertThat(test("hasCode('E11')", f)).isTrue();
        assertThat(test("hasCode('F10')", f)).isFalse();
        assertThat(test("opened('survey') and !clicked('survey')", f)).isTrue();
        assertThat(test("!{'20', '02'}.contains(event.data.dischargeDisposition)", f)).isTrue();
        assertThat(Conditions.evaluate(Conditions.compile("event.data.start.substring(0, 10)"), f))
                .isEqualTo("2026-12-01");
        assertThat(Conditions.Facts.instant(Conditions.evaluate(Conditions.compile("nextBirthday()"), f)))
                .isEqualTo(Instant.parse("2026-11-28T06:00:00Z"));
    }

    @Test
    void nothingOutsideTheFactsIsReachable() {
        Map<String, Object> contact = new HashMap<>(Map.of("email", "a@b.c", "tags", List.of("x")));
        Conditions.Facts f = facts(contact, Map.of(), Set.of());
        for (String attack : List.of("T(java.lang.Runtime).getRuntime().exec('id')", "new java.io.File('/').list()",
                "contact.email = 'evil@example.org'", "contact.put('email', 'evil')", "@someBean",
                "contact.getClass().forName('java.lang.Runtime')")) {
            assertThatThrownBy(() -> Conditions.evaluate(Conditions.compile(attack), f)).as(attack)
                    .isInstanceOfAny(IllegalArgumentException.class, UnsupportedOperationException.class,
                            org.springframework.expression.ParseException.class);
        }
        assertThat(f.contact().get("email")).isEqualTo("a@b.c");
        // a failure names the expression, never the data it met
        Conditions.Facts odd = facts(Map.of("birthDate", "1980-13-45"), Map.of(), Set.of());
        assertThatThrownBy(() -> test("age() > 40", odd)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("age() > 40").hasMessageNotContaining("1980-13-45");
        assertThatThrownBy(() -> test("contact.email", f)).hasMessageContaining("true or false");
    }
}
