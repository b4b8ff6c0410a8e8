package io.caravan.contact;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class ContactUpdatesTest {

    static final Instant T1 = Instant.parse("2026-01-01T10:00:00Z");
    static final Instant T2 = Instant.parse("2026-01-02T10:00:00Z");

    @Test
    void anOlderMessageDoesNotOverwriteNewerDemographics() {
        Contact c = new Contact();
        ContactPatch newer = new ContactPatch();
        newer.fields.put("email", "new@example.org");
        ContactUpdates.Applied first = ContactUpdates.applyDemographics(c, newer, T2, null);
        assertThat(first.changed()).isTrue();
        ContactPatch older = new ContactPatch();
        older.fields.put("email", "old@example.org");
        ContactUpdates.Applied second = ContactUpdates.applyDemographics(c, older, T1, first.asOf());
        assertThat(second.changed()).isFalse();
        assertThat(c.email).isEqualTo("new@example.org");
        assertThat(second.asOf()).isEqualTo(T2);
    }

    @Test
    void anAbsentFieldChangesNothingAndDeleteClearsIt() {
        Contact c = new Contact();
        c.email = "a@example.org";
        c.phone = "+12175550199";
        c.name = new Name("Doe", List.of("Jane"));
        ContactPatch p = new ContactPatch();
        p.fields.put("phone", ContactPatch.DELETE);
        assertThat(ContactUpdates.applyDemographics(c, p, T2, T1).changed()).isTrue();
        assertThat(c.phone).isNull();
        assertThat(c.email).isEqualTo("a@example.org");
        assertThat(c.name.family()).isEqualTo("Doe");
    }

    @Test
    void repeatingWhatWeHoldIsNotAChange() {
        Contact c = new Contact();
        c.gender = "female";
        c.restrictions.add("protection-indicator");
        ContactPatch p = new ContactPatch();
        p.fields.put("gender", "female");
        p.restrictions.put("protection-indicator", true);
        assertThat(ContactUpdates.applyDemographics(c, p, T2, T1).changed()).isFalse();
        p.restrictions.put("protection-indicator", false);
        assertThat(ContactUpdates.applyDemographics(c, p, T2, T1).changed()).isTrue();
        assertThat(c.restrictions).isEmpty();
    }
}
