package io.caravan.consent;

import static io.caravan.consent.Records.NOW;
import static io.caravan.consent.Records.authorization;
import static io.caravan.consent.Records.contact;
import static io.caravan.consent.Records.optOut;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The de-identified content class of event streams: Safe Harbor data is not PHI, so marketing to a destination without
 * a BAA needs no authorization (164.508 governs uses of PHI) - but a patient who said "no" is still not published.
 */
class DeidentifiedDecisionTest {

    static final DecisionEngine ENGINE = new DecisionEngine(ConsentPolicy.load(Records.POLICIES), Records.QUEUES,
            Map.of("crm", "none", "care-partner", "signed"));

    static DecisionRequest deidentified(String purpose, String channel) {
        return new DecisionRequest(purpose, channel, Decision.DEIDENTIFIED, false, List.of());
    }

    @Test
    void deidentifiedMarketingNeedsNoAuthorization() {
        for (String channel : List.of("queue:analytics", "webhook:crm")) {
            Decision d = ENGINE.decide(contact(), List.of(), deidentified("marketing", channel), NOW);
            assertThat(d.allowed()).as(channel).isTrue();
            assertThat(d.content()).isEqualTo("deidentified");
            assertThat(d.reasons()).extracting(Decision.Reason::rule, Decision.Reason::effect)
                    .contains(org.assertj.core.groups.Tuple.tuple("deidentified-data", "allow"))
                    .doesNotContain(org.assertj.core.groups.Tuple.tuple("marketing-authorization", "deny"));
        }
    }

    @Test
    void optOutsAndRestrictionsStillStopIt() {
        assertThat(ENGINE.decide(contact(), List.of(optOut("any", "any")), deidentified("marketing", "webhook:crm"),
                NOW).denials()).containsExactly("global-opt-out");
        assertThat(ENGINE.decide(contact(), List.of(optOut("any", "marketing")),
                deidentified("marketing", "webhook:crm"), NOW).denials()).containsExactly("opt-out");
        assertThat(ENGINE.decide(contact(), List.of(optOut("webhook:crm", "any")),
                deidentified("marketing", "webhook:crm"), NOW).denials()).containsExactly("opt-out");
        assertThat(ENGINE.decide(contact("opt-out:any:marketing"), List.of(),
                deidentified("marketing", "queue:analytics"), NOW).denials()).containsExactly("opt-out");
        assertThat(ENGINE.decide(contact("protection-indicator"), List.of(),
                deidentified("marketing", "queue:analytics"), NOW).denials()).contains("protection-indicator");
        // an opt-out of email says nothing about the CRM feed
        assertThat(ENGINE.decide(contact(), List.of(optOut("email", "any")),
                deidentified("marketing", "webhook:crm"), NOW).allowed()).isTrue();
    }

    @Test
    void phiToAWebhookFollowsItsBaa() {
        Decision none = ENGINE.decide(contact(), List.of(), DecisionRequest.of("operations", "webhook:crm"), NOW);
        assertThat(none.content()).isEqualTo("phi-free");
        assertThat(none.reasons()).extracting(Decision.Reason::rule).contains("queue-without-baa");
        assertThat(ENGINE.decide(contact(), List.of(), DecisionRequest.of("operations", "webhook:care-partner"), NOW)
                .content()).isEqualTo("phi");
        // PHI for marketing under a BAA still needs the patient's authorization
        assertThat(ENGINE.decide(contact(), List.of(), DecisionRequest.of("marketing", "webhook:care-partner"), NOW)
                .denials()).containsExactly("marketing-authorization");
        assertThat(ENGINE.decide(contact(), List.of(authorization()),
                DecisionRequest.of("marketing", "webhook:care-partner"), NOW).content()).isEqualTo("phi");
    }

    @Test
    void aBaaPastItsEndDateCountsAsNoneAtTheMomentOfDeciding() {
        DecisionEngine dated = new DecisionEngine(ConsentPolicy.load(Records.POLICIES), Records.QUEUES,
                Map.of("crm", "none", "care-partner", "signed"),
                Map.of("webhook:care-partner", LocalDate.ofInstant(NOW, ZoneOffset.UTC)));
        DecisionRequest phi = DecisionRequest.of("operations", "webhook:care-partner");
        assertThat(dated.decide(contact(), List.of(), phi, NOW).content()).as("its last day").isEqualTo("phi");
        Decision after = dated.decide(contact(), List.of(), phi, NOW.plus(Duration.ofDays(1)));
        assertThat(after.content()).isEqualTo("phi-free");
        assertThat(after.reasons()).extracting(Decision.Reason::rule).contains("queue-without-baa");
    }

    @Test
    void aWebhookThatIsNoAdapterIsUnknown() {
        assertThat(ENGINE.decide(contact(), List.of(), deidentified("marketing", "webhook:nowhere"), NOW).denials())
                .containsExactly("request-unknown");
    }
}
