package io.caravan.consent;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.contact.Contact;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Random contacts, records, requests and clocks: whatever the mix, the gate never allows what the rules forbid. The
 * checks below are written from the regulations, not from the engine's code.
 */
class DecisionPropertiesTest {

    static final DecisionEngine ENGINE = Records.engine();
    static final Instant BASE = Instant.parse("2026-01-01T00:00:00Z");
    static final List<String> PURPOSES = List.of("treatment", "payment", "operations", "marketing", "any");
    static final List<String> CHANNELS = List.of("email", "sms", "queue:analytics", "queue:partner", "any");

    record Case(Contact contact, List<ConsentRecord> records, DecisionRequest request, Instant now) {
    }

    @Provide
    Arbitrary<Case> cases() {
        Arbitrary<Instant> times = Arbitraries.longs().between(0, 3 * 365).map(d -> BASE.plus(Duration.ofDays(d)));
        // biased towards records in force and towards marketing and SMS, where the rules are strictest
        Arbitrary<Instant> optionalTimes = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(2, times), net.jqwik.api.Tuple.of(3, Arbitraries.just(null)));
        Arbitrary<ConsentRecord> record = Combinators.combine(
                Arbitraries.frequency(net.jqwik.api.Tuple.of(3, ConsentRecord.AUTHORIZATION), net.jqwik.api.Tuple.of(3, ConsentRecord.CONSENT),
                        net.jqwik.api.Tuple.of(1, ConsentRecord.OPT_OUT)),
                Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(4, Arbitraries.just("marketing")),
                        net.jqwik.api.Tuple.of(4, Arbitraries.of(PURPOSES))),
                Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(3, Arbitraries.just("sms")),
                        net.jqwik.api.Tuple.of(4, Arbitraries.of(CHANNELS))),
                Arbitraries.of("written", "electronic", "verbal", "none"), Arbitraries.of(true, false), times,
                optionalTimes, optionalTimes).as((k, p, ch, form, rem, eff, exp, rev) ->
                        new ConsentRecord(UUID.randomUUID(), UUID.randomUUID(), k, p, ch,
                                "none".equals(form) ? null : form, rem, "api", "t", eff, exp, rev, eff, null));
        Arbitrary<Contact> contact = Combinators.combine(
                Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(3, Arbitraries.just(java.util.Set.<String>of())), net.jqwik.api.Tuple.of(2,
                        Arbitraries.of("protection-indicator", "opt-out:any:any", "opt-out:sms:any",
                        "opt-out:any:marketing", "opt-out:email:treatment", "opt-out:bad", "vip").set().ofMaxSize(3))),
                Arbitraries.frequency(net.jqwik.api.Tuple.of(6, "none"), net.jqwik.api.Tuple.of(1, "N"), net.jqwik.api.Tuple.of(1, "F"), net.jqwik.api.Tuple.of(1, "U")), Arbitraries.of("2025-06-01", "2027-06-01", "none"))
                .as((restrictions, publicity, since) -> {
                    Contact c = new Contact(UUID.randomUUID());
                    c.restrictions.addAll(restrictions);
                    if (!"none".equals(publicity)) {
                        c.attributes.put("publicityCode", publicity);
                    }
                    if (!"none".equals(since)) {
                        c.attributes.put("protectionIndicatorEffectiveDate", since);
                    }
                    return c;
                });
        Arbitrary<DecisionRequest> request = Combinators.combine(
                Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(5, Arbitraries.just("marketing")), net.jqwik.api.Tuple
                        .of(5, Arbitraries.of("treatment", "payment", "operations", "marketing", "research"))),
                Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(4, Arbitraries.just("sms")), net.jqwik.api.Tuple
                        .of(5, Arbitraries.of("email", "sms", "queue:analytics", "queue:partner", "fax"))),
                Arbitraries.of("phi", "phi-free"), Arbitraries.of(true, false),
                Arbitraries.of("ICD-10-CM|E11.9", "ICD-10-CM|F11.2", "I10|B20", "LN|2345-7", "SCT|73211009")
                        .list().ofMaxSize(2))
                .as(DecisionRequest::new);
        return Combinators.combine(contact, record.list().ofMaxSize(5), request, times)
                .as(Case::new);
    }

    static boolean active(ConsentRecord r, Instant now) {
        return !r.effectiveAt().isAfter(now) && (r.expiresAt() == null || now.isBefore(r.expiresAt()))
                && (r.revokedAt() == null || now.isBefore(r.revokedAt()));
    }

    static boolean scopeCovers(String scope, String asked) {
        return scope.equals("any") || scope.equals(asked);
    }

    @Property(tries = 3000)
    void marketingIsNeverAllowedWithoutAValidAuthorization(@ForAll("cases") Case c) {
        Decision d = ENGINE.decide(c.contact(), c.records(), c.request(), c.now());
        if (d.allowed() && c.request().purpose().equals("marketing")) {
            assertThat(c.records()).anySatisfy(r -> {
                assertThat(r.kind()).isEqualTo(ConsentRecord.AUTHORIZATION);
                assertThat(r.purpose()).isEqualTo("marketing");
                assertThat(active(r, c.now())).isTrue();
                if (c.request().remuneration()) {
                    assertThat(r.remuneration()).isTrue();
                }
            });
        }
    }

    @Property(tries = 3000)
    void marketingTextsAreNeverAllowedWithoutWrittenConsent(@ForAll("cases") Case c) {
        Decision d = ENGINE.decide(c.contact(), c.records(), c.request(), c.now());
        if (d.allowed() && c.request().purpose().equals("marketing") && c.request().channel().equals("sms")) {
            assertThat(c.records()).anySatisfy(r -> {
                assertThat(r.kind()).isEqualTo(ConsentRecord.CONSENT);
                assertThat(r.form()).isIn("written", "electronic");
                assertThat(scopeCovers(r.channel(), "sms") && scopeCovers(r.purpose(), "marketing")).isTrue();
                assertThat(active(r, c.now())).isTrue();
            });
        }
    }

    @Property(tries = 3000)
    void nothingIsAllowedAfterAnOptOutThatCoversIt(@ForAll("cases") Case c) {
        Decision d = ENGINE.decide(c.contact(), c.records(), c.request(), c.now());
        if (!d.allowed()) {
            return;
        }
        assertThat(c.contact().restrictions).doesNotContain("opt-out:any:any");
        for (ConsentRecord r : c.records()) {
            if (r.kind().equals(ConsentRecord.OPT_OUT) && active(r, c.now())) {
                assertThat(scopeCovers(r.channel(), c.request().channel())
                        && scopeCovers(r.purpose(), c.request().purpose())).as("opt-out %s", r).isFalse();
            }
        }
        for (String code : c.contact().restrictions) {
            String[] parts = code.split(":");
            if (parts.length == 3 && parts[0].equals("opt-out")) {
                assertThat(scopeCovers(parts[1], c.request().channel())
                        && scopeCovers(parts[2], c.request().purpose())).as("feed opt-out %s", code).isFalse();
            }
        }
    }

    @Property(tries = 3000)
    void aRestrictedContactGetsOnlyWhatPolicyAllows(@ForAll("cases") Case c) {
        Decision d = ENGINE.decide(c.contact(), c.records(), c.request(), c.now());
        boolean protectedNow = c.contact().restrictions.contains("protection-indicator")
                && !"2027-06-01".equals(c.contact().attributes.get("protectionIndicatorEffectiveDate"))
                || c.contact().restrictions.contains("protection-indicator")
                && c.now().isAfter(Instant.parse("2027-06-01T00:00:00Z"));
        if (d.allowed() && protectedNow) {
            assertThat(c.request().purpose()).isNotIn("marketing", "operations");
            assertThat(d.content()).isEqualTo(Decision.PHI_FREE);
        }
        if (d.allowed() && "N".equals(c.contact().attributes.get("publicityCode"))) {
            assertThat(c.request().purpose()).isEqualTo("treatment");
        }
    }

    @Property(tries = 3000)
    void contentIsNeverMoreThanTheChannelAndDataAllow(@ForAll("cases") Case c) {
        Decision d = ENGINE.decide(c.contact(), c.records(), c.request(), c.now());
        if (!d.allowed()) {
            assertThat(d.content()).isEqualTo(Decision.NONE);
            assertThat(d.denials()).isNotEmpty();
            return;
        }
        assertThat(c.request().purpose()).isNotEqualTo("research");
        assertThat(c.request().channel()).isNotEqualTo("fax");
        boolean sensitive = c.request().dataCodes().stream()
                .anyMatch(x -> x.startsWith("ICD-10-CM|F11") || x.equals("I10|B20"));
        if (sensitive) {
            assertThat(c.request().purpose()).isNotEqualTo("marketing");
        }
        if (sensitive || c.request().channel().equals("sms") || c.request().channel().equals("queue:analytics")
                || c.request().content().equals(Decision.PHI_FREE)) {
            assertThat(d.content()).isEqualTo(Decision.PHI_FREE);
        }
    }
}
