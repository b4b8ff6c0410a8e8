package io.caravan.channel.email.protection;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.channel.email.EmailProperties;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The protection choice, one row per situation: strongest first, PHI never on an unproven wire. */
class ProtectionTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            # case                                   |purpose  |tplPhi|gatePhi|variant|smime|pgp  |relay|tlsOk|onward|fallback        |exclusive|protection|useVariant|wire         |blocked
            certificate on file wins                 |treatment|true  |true   |true   |true |true |true |false|false |portal          |false    |smime     |false     |OPPORTUNISTIC|
            pgp key on file                          |treatment|true  |true   |true   |false|true |false|false|false |portal          |false    |pgp       |false     |OUTBOX       |
            relay proves TLS and guarantees onward   |treatment|true  |true   |true   |false|false|true |true |true  |portal          |false    |tls       |false     |VERIFIED     |
            relay TLS but no onward guarantee        |treatment|true  |true   |true   |false|false|true |true |false |portal          |false    |portal    |false     |VERIFIED     |
            no TLS: portal                           |treatment|true  |true   |true   |false|false|true |false|true  |portal          |false    |portal    |false     |OPPORTUNISTIC|
            no TLS: variant by policy                |treatment|true  |true   |true   |false|false|true |false|true  |phi-free-variant|false    |none      |true      |OPPORTUNISTIC|
            no TLS: variant by policy, none declared |treatment|true  |true   |false  |false|false|true |false|true  |phi-free-variant|false    |          |false     |             |no-protection-available
            no TLS: drop by policy                   |treatment|true  |true   |true   |false|false|true |false|true  |drop            |false    |          |false     |             |no-protection-available
            gate limits content, variant goes        |treatment|true  |false  |true   |true |false|false|false|false |portal          |false    |smime     |true      |OUTBOX       |
            gate limits content, no variant          |treatment|true  |false  |false  |true |false|false|false|false |portal          |false    |          |false     |             |content-limited
            PHI-free with opportunistic TLS          |marketing|false |false  |false  |false|false|true |false|true  |portal          |false    |none      |false     |OPPORTUNISTIC|
            TLS exclusive drops without TLS          |marketing|false |false  |false  |false|false|true |false|true  |portal          |true     |          |false     |             |tls-unavailable
            TLS exclusive goes under a key           |marketing|false |false  |false  |true |false|true |false|true  |portal          |true     |smime     |false     |OPPORTUNISTIC|
            TLS exclusive goes over enforced TLS     |marketing|false |false  |false  |false|false|true |true |true  |portal          |true     |tls       |false     |VERIFIED     |
            outbox: PHI to the portal                |treatment|true  |true   |true   |false|false|false|false|false |portal          |false    |portal    |false     |OUTBOX       |
            """)
    void choice(String name, String purpose, boolean tplPhi, boolean gatePhi, boolean variant, boolean smime,
            boolean pgp, boolean relay, boolean tlsOk, boolean onward, String fallback, boolean exclusive,
            String protection, boolean useVariant, String wire, String blocked) {
        Protection.Choice c = Protection.choose(new Protection.Situation(purpose, tplPhi, gatePhi, variant, smime, pgp,
                relay, tlsOk, onward, new EmailProperties.PurposePolicy(fallback, exclusive, false)));
        assertThat(c.blocked()).isEqualTo(blocked);
        assertThat(c.protection()).isEqualTo(protection);
        if (blocked == null) {
            assertThat(c.useVariant()).isEqualTo(useVariant);
            assertThat(c.wire()).isEqualTo(Protection.Wire.valueOf(wire));
        }
    }
}
