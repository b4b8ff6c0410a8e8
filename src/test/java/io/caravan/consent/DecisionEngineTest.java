package io.caravan.consent;

import static io.caravan.consent.Records.NOW;
import static io.caravan.consent.Records.authorization;
import static io.caravan.consent.Records.contact;
import static io.caravan.consent.Records.days;
import static io.caravan.consent.Records.optOut;
import static io.caravan.consent.Records.record;
import static io.caravan.consent.Records.revoked;
import static io.caravan.consent.Records.smsConsent;
import static io.caravan.consent.Records.tampered;
import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.contact.Contact;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One row per rule of config/policies/consent.yaml (and its edges): the situation, the request, the verdict, and the
 * regulation the firing rule must cite.
 */
class DecisionEngineTest {

    static final DecisionEngine ENGINE = Records.engine();

    record Row(String name, Contact contact, List<ConsentRecord> records, DecisionRequest request, boolean allowed,
            String content, String rule, String effect, String cites) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Row row(String name, Contact c, List<ConsentRecord> r, DecisionRequest q, boolean allowed, String content,
            String rule, String effect, String cites) {
        return new Row(name, c, r, q, allowed, content, rule, effect, cites);
    }

    static DecisionRequest req(String purpose, String channel) {
        return DecisionRequest.of(purpose, channel);
    }

    static DecisionRequest codes(String purpose, String channel, String... codes) {
        return new DecisionRequest(purpose, channel, Decision.PHI, false, List.of(codes));
    }

    static Stream<Row> rules() {
        ConsentRecord auth = authorization();
        return Stream.of(
                row("unknown purpose denies", contact(), List.of(), req("advertising", "email"), false, "none",
                        "request-unknown", "deny", "164.530(c)"),
                row("unknown contact denies", null, List.of(), req("treatment", "email"), false, "none",
                        "request-unknown", "deny", "164.530(c)"),
                row("unknown channel denies", contact(), List.of(), req("treatment", "fax"), false, "none",
                        "request-unknown", "deny", "164.530(c)"),
                row("queue that is no adapter denies", contact(), List.of(), req("operations", "queue:nowhere"),
                        false, "none", "request-unknown", "deny", "164.530(c)"),
                row("a record failing its MAC denies, even a revoked one", contact(),
                        List.of(tampered(revoked(auth))), req("treatment", "email"), false, "none",
                        "record-integrity", "deny", "164.312(c)(1)"),
                row("global opt-out denies even treatment", contact(), List.of(optOut("any", "any")),
                        req("treatment", "email"), false, "none", "global-opt-out", "deny", "164.522"),
                row("SMS opt-out denies treatment texts", contact(), List.of(optOut("sms", "any")),
                        req("treatment", "sms"), false, "none", "opt-out", "deny", "64.1200(a)(10)"),
                row("SMS opt-out leaves email alone", contact(), List.of(optOut("sms", "any")),
                        req("treatment", "email"), true, "phi", "treatment-communication", "allow", "164.506(c)"),
                row("marketing opt-out beats an authorization", contact(), List.of(auth, optOut("any", "marketing")),
                        req("marketing", "email"), false, "none", "opt-out", "deny", "7704(a)(4)"),
                row("a lifted opt-out no longer denies", contact(), List.of(record(ConsentRecord.OPT_OUT, "any",
                        "email", null, false, NOW.minus(days(9)), null, NOW.minus(days(2)))),
                        req("treatment", "email"), true, "phi", "treatment-communication", "allow", "164.506(c)"),
                row("feed opt-out (CON/Z-segment) denies", contact("opt-out:sms:marketing"),
                        List.of(auth, smsConsent("written")), req("marketing", "sms"), false, "none", "opt-out",
                        "deny", "64.1200(a)(10)"),
                row("feed global opt-out denies", contact("opt-out:any:any"), List.of(), req("operations", "email"),
                        false, "none", "global-opt-out", "deny", "164.522"),
                row("protection indicator denies marketing", contact("protection-indicator"), List.of(auth),
                        req("marketing", "email"), false, "none", "protection-indicator", "deny", "PD1-12"),
                row("protection indicator limits treatment to PHI-free", contact("protection-indicator"), List.of(),
                        req("treatment", "email"), true, "phi-free", "protection-indicator", "limit", "164.522(a)"),
                row("publicity code N denies operations", withAttribute(contact(), "publicityCode", "N"), List.of(),
                        req("operations", "email"), false, "none", "publicity-no-contact", "deny", "PD1-11"),
                row("a patient reported dead gets no reminder", withAttribute(contact(), "deceased", true), List.of(),
                        req("treatment", "email"), false, "none", "deceased", "deny", "164.502(f)"),
                row("a death date alone is enough", withAttribute(contact(), "deathDateTime", "2026-11-01T08:00"),
                        List.of(), req("treatment", "sms"), false, "none", "deceased", "deny", "164.502(f)"),
                row("treatment needs no authorization", contact(), List.of(), req("treatment", "email"), true, "phi",
                        "treatment-communication", "allow", "164.506(c)(1)"),
                row("operations needs no authorization", contact(), List.of(), req("operations", "email"), true,
                        "phi", "payment-operations", "allow", "164.506(c)(1)"),
                row("marketing without authorization denies", contact(), List.of(), req("marketing", "email"), false,
                        "none", "marketing-authorization", "deny", "164.508(a)(3)"),
                row("marketing with authorization allows", contact(), List.of(auth), req("marketing", "email"), true,
                        "phi", "marketing-authorization", "allow", "164.508(a)(3)"),
                row("expired authorization denies", contact(), List.of(record(ConsentRecord.AUTHORIZATION,
                        "marketing", "any", null, false, NOW.minus(days(400)), NOW.minus(days(1)), null)),
                        req("marketing", "email"), false, "none", "marketing-authorization", "deny", "164.508(c)"),
                row("revoked authorization denies", contact(), List.of(record(ConsentRecord.AUTHORIZATION,
                        "marketing", "any", null, false, NOW.minus(days(40)), NOW.plus(days(40)), NOW.minus(days(1)))),
                        req("marketing", "email"), false, "none", "marketing-authorization", "deny", "164.508"),
                row("authorization signed in the future denies", contact(), List.of(record(ConsentRecord.AUTHORIZATION,
                        "marketing", "any", null, false, NOW.plus(days(1)), NOW.plus(days(40)), null)),
                        req("marketing", "email"), false, "none", "marketing-authorization", "deny", "164.508"),
                row("remunerated marketing needs the statement", contact(), List.of(auth),
                        new DecisionRequest("marketing", "email", "phi", true, List.of()), false, "none",
                        "marketing-remuneration-statement", "deny", "164.508(a)(3)(ii)"),
                row("remunerated marketing with the statement allows", contact(), List.of(record(
                        ConsentRecord.AUTHORIZATION, "marketing", "any", null, true, NOW.minus(days(3)),
                        NOW.plus(days(30)), null)), new DecisionRequest("marketing", "email", "phi", true, List.of()),
                        true, "phi", "marketing-authorization", "allow", "164.508(a)(3)"),
                row("marketing SMS without written consent denies", contact(), List.of(auth), req("marketing", "sms"),
                        false, "none", "sms-marketing-written-consent", "deny", "64.1200(a)(2)"),
                row("verbal consent is not written consent", contact(), List.of(auth, smsConsent("verbal")),
                        req("marketing", "sms"), false, "none", "sms-marketing-written-consent", "deny",
                        "64.1200(f)(9)"),
                row("marketing SMS with written consent allows", contact(), List.of(auth, smsConsent("written")),
                        req("marketing", "sms"), true, "phi-free", "sms-marketing-written-consent", "allow",
                        "64.1200(a)(2)"),
                row("sensitive data is never used for marketing", contact(), List.of(auth),
                        codes("marketing", "email", "ICD-10-CM|F10.20"), false, "none", "sensitive-data-marketing",
                        "deny", "42 CFR 2.3"),
                row("sensitive data limits a treatment message", contact(), List.of(),
                        codes("treatment", "email", "I10|B20"), true, "phi-free", "sensitive-data-minimum", "limit",
                        "164.502(b)"),
                row("ordinary codes change nothing", contact(), List.of(auth),
                        codes("marketing", "email", "ICD-10-CM|E11.9"), true, "phi", "marketing-authorization",
                        "allow", "164.508"),
                row("SMS never carries PHI", contact(), List.of(), req("treatment", "sms"), true, "phi-free",
                        "sms-phi-free", "limit", "164.312(e)(1)"),
                row("queue without BAA gets de-identified data", contact(), List.of(),
                        req("operations", "queue:analytics"), true, "phi-free", "queue-without-baa", "limit",
                        "164.514(b)(2)"),
                row("queue with BAA gets PHI", contact(), List.of(), req("operations", "queue:partner"), true, "phi",
                        "payment-operations", "allow", "164.506"),
                row("de-identified marketing to a queue needs no authorization", contact(), List.of(),
                        new DecisionRequest("marketing", "queue:analytics", "deidentified", false, List.of()), true,
                        "deidentified", "deidentified-data", "allow", "164.514"));
    }

    static Contact withAttribute(Contact c, String k, Object v) {
        c.attributes.put(k, v);
        return c;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rules")
    void eachRuleDecidesAndCitesItsSource(Row row) {
        Decision d = ENGINE.decide(row.contact(), row.records(), row.request(), NOW);
        assertThat(d.allowed()).as(row.name() + " " + d).isEqualTo(row.allowed());
        assertThat(d.content()).as(row.name() + " " + d).isEqualTo(row.content());
        assertThat(d.reasons()).as(row.name() + " " + d).anySatisfy(r -> {
            assertThat(r.rule()).isEqualTo(row.rule());
            assertThat(r.effect()).isEqualTo(row.effect());
            assertThat(r.citation()).contains(row.cites());
        });
    }

    @Test
    void everyRuleOfThePolicyHasARow() {
        assertThat(rules().map(Row::rule).distinct().toList())
                .containsAll(ConsentPolicy.RULES.stream().filter(r -> !r.equals("email-marketing-opt-in")).toList());
    }

    @Test
    void emailOptInIsEnforcedWhenThePolicyRequiresIt(@TempDir Path tmp) throws IOException {
        Path dir = copyPolicies(tmp);
        Path f = dir.resolve("consent.yaml");
        Files.writeString(f, Files.readString(f).replace("required: false", "required: true"));
        DecisionEngine strict = new DecisionEngine(ConsentPolicy.load(dir), Records.QUEUES);
        Decision without = strict.decide(contact(), List.of(authorization()), req("marketing", "email"), NOW);
        assertThat(without.denials()).containsExactly("email-marketing-opt-in");
        ConsentRecord optIn = record(ConsentRecord.CONSENT, "marketing", "email", "electronic", false,
                NOW.minus(days(1)), null, null);
        assertThat(strict.decide(contact(), List.of(authorization(), optIn), req("marketing", "email"), NOW)
                .allowed()).isTrue();
        assertThat(ENGINE.decide(contact(), List.of(authorization()), req("marketing", "email"), NOW).allowed())
                .as("the shipped policy does not require an email opt-in").isTrue();
    }

    @Test
    void aPolicyMissingARuleOrACitationOrWithAnUnknownRuleFailsWithEveryProblem(@TempDir Path tmp)
            throws IOException {
        Path dir = copyPolicies(tmp);
        Path f = dir.resolve("consent.yaml");
        String yaml = Files.readString(f)
                .replace("  sms-phi-free:\n", "  sms-phi-free-renamed:\n")
                .replace("citation: \"45 CFR 164.506(c)(1)\"", "citation: \"\"")
                .replace("deny: [marketing, operations]\n", "deny: [marketing, advertising]\n");
        Files.writeString(f, yaml);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ConsentPolicy.load(dir))
                .isInstanceOfSatisfying(ConsentPolicy.PolicyException.class, e -> assertThat(e.problems())
                        .anySatisfy(p -> assertThat(p).contains("rule sms-phi-free is missing"))
                        .anySatisfy(p -> assertThat(p).contains("unknown rule sms-phi-free-renamed"))
                        .anySatisfy(p -> assertThat(p).contains("payment-operations has no citation"))
                        .anySatisfy(p -> assertThat(p).contains("unknown purpose advertising")));
    }

    @Test
    void anUnknownKeyInThePolicyFails(@TempDir Path tmp) throws IOException {
        Path dir = copyPolicies(tmp);
        Path f = dir.resolve("consent.yaml");
        Files.writeString(f, Files.readString(f).replace("    forms: [written, electronic]\n",
                "    forms: [written, electronic]\n    strict: yes\n"));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ConsentPolicy.load(dir))
                .hasMessageContaining("strict");
    }

    @Test
    void sensitiveCodesMatchBySystemAliasAndPrefix() {
        ConsentPolicy p = ENGINE.policy();
        assertThat(p.sensitiveCategory("ICD-10-CM|F10.20")).isEqualTo("substance-use");
        assertThat(p.sensitiveCategory("I10|f10.20")).isEqualTo("substance-use");
        assertThat(p.sensitiveCategory("ICD10|Z21")).isEqualTo("hiv");
        assertThat(p.sensitiveCategory("LN|75622-1")).isEqualTo("hiv");
        assertThat(p.sensitiveCategory("ICD-10-CM|Z211")).as("Z21 is exact, not a prefix").isNull();
        assertThat(p.sensitiveCategory("ICD-10-CM|E11.9")).isNull();
        assertThat(p.sensitiveCategory("F10.20")).as("no system").isNull();
    }

    static Path copyPolicies(Path tmp) throws IOException {
        Path dir = tmp.resolve("policies");
        Files.createDirectories(dir);
        for (String name : List.of("consent.yaml", "sensitive-categories.yaml")) {
            Files.copy(Records.POLICIES.resolve(name), dir.resolve(name));
        }
        return dir;
    }
}
