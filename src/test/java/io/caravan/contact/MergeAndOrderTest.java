package io.caravan.contact;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class MergeAndOrderTest {

    @Test
    void aMergeKeepsEveryRestrictionAndTheStricterProtectionStart() {
        Contact survivor = new Contact();
        survivor.restrictions.add("opt-out:sms:marketing");
        Contact prior = new Contact();
        prior.restrictions.add("protection-indicator");
        prior.attributes.put("publicityCode", "N");
        assertThat(ContactUpdates.foldProtections(survivor, prior)).isTrue();
        assertThat(survivor.restrictions).containsExactlyInAnyOrder("opt-out:sms:marketing", "protection-indicator");
        assertThat(survivor.attributes).containsEntry("publicityCode", "N")
                .doesNotContainKey("protectionIndicatorEffectiveDate");

        Contact dated = new Contact();
        dated.restrictions.add("protection-indicator");
        dated.attributes.put("protectionIndicatorEffectiveDate", "2030-01-01");
        Contact earlier = new Contact();
        earlier.restrictions.add("protection-indicator");
        earlier.attributes.put("protectionIndicatorEffectiveDate", "2026-01-01");
        ContactUpdates.foldProtections(dated, earlier);
        assertThat(dated.attributes).containsEntry("protectionIndicatorEffectiveDate", "2026-01-01");

        Contact undated = new Contact();
        undated.restrictions.add("protection-indicator");
        ContactUpdates.foldProtections(dated, undated);
        assertThat(dated.attributes).doesNotContainKey("protectionIndicatorEffectiveDate");
    }

    @Test
    void anOlderMessageRaisesARestrictionButNeitherLiftsOneNorChangesDemographics() {
        Contact c = new Contact();
        c.email = "new@example.org";
        Instant asOf = Instant.parse("2026-03-10T00:00:00Z");
        ContactPatch raise = new ContactPatch();
        raise.fields.put("email", "old@example.org");
        raise.restrictions.put("protection-indicator", true);
        ContactUpdates.Applied raised = ContactUpdates.applyDemographics(c, raise,
                Instant.parse("2026-03-01T00:00:00Z"), asOf);
        assertThat(raised.changed()).isTrue();
        assertThat(c.restrictions).containsExactly("protection-indicator");
        assertThat(c.email).isEqualTo("new@example.org");
        assertThat(raised.asOf()).isEqualTo(Instant.parse("2026-03-10T00:00:00Z"));

        ContactPatch lift = new ContactPatch();
        lift.restrictions.put("protection-indicator", false);
        ContactUpdates.Applied lifted = ContactUpdates.applyDemographics(c, lift,
                Instant.parse("2026-03-02T00:00:00Z"), raised.asOf());
        assertThat(lifted.changed()).isFalse();
        assertThat(c.restrictions).containsExactly("protection-indicator");
        ContactUpdates.applyDemographics(c, lift, Instant.parse("2026-03-11T00:00:00Z"), lifted.asOf());
        assertThat(c.restrictions).isEmpty();
    }
}
