package io.caravan.mapping;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.contact.Identifier;
import java.util.List;
import org.junit.jupiter.api.Test;

class IdentityRuleTest {

    static final IdentityRule DEFAULT = new IdentityRule(null);

    @Test
    void mrnTypesLinkAndSsnsLicencesAndMemberNumbersAreAttributes() {
        IdentityRule.Split s = DEFAULT.split(List.of(new Identifier("MERCY", "M1", "MR"),
                new Identifier("USSSA", "078-05-1120", "SS"), new Identifier("IL", "D123", "DL"),
                new Identifier("BCBS", "X9", "MB"), new Identifier("LAB", "P7", "PI")), "PID-3");
        assertThat(s.linking()).extracting(Identifier::value).containsExactly("M1", "P7");
        assertThat(s.others()).extracting(Identifier::value).containsExactly("078-05-1120", "D123", "X9");
        assertThat(s.warnings()).isEmpty();
    }

    @Test
    void placeholdersAndNeverIssuedSsnsAreDroppedWithAWarningThatNamesNoValue() {
        IdentityRule.Split s = DEFAULT.split(List.of(new Identifier("MERCY", "M1", "MR"),
                new Identifier("USSSA", "999999999", "SS"), new Identifier("USSSA", "000-00-0000", "SS"),
                new Identifier("USSSA", "123-45-6789", "SS"), new Identifier("SSA", "666-12-3456", "SS"),
                new Identifier("SSA", "078-00-1120", "SS")), "PID-3");
        assertThat(s.others()).isEmpty();
        assertThat(s.warnings()).hasSize(5).allMatch(w -> w.startsWith("PID-3") && !w.matches(".*\\d{4}.*"));
    }

    @Test
    void anMrnThatLooksLikeAPlaceholderDigitStringIsTheFacilitysOwnNumber() {
        assertThat(DEFAULT.split(List.of(new Identifier(null, "123456789", "MR")), "PID-3").linking()).hasSize(1);
        assertThat(DEFAULT.split(List.of(new Identifier(null, "999-99-9999", null)), "PID-3").linking()).isEmpty();
    }

    @Test
    void oneLinkingIdentifierPerAssigningAuthorityAndMessage() {
        IdentityRule.Split s = DEFAULT.split(List.of(new Identifier("MERCY", "M1", "MR"),
                new Identifier("MERCY", "M2", "MR"), new Identifier("OTHER", "O1", "MR")), "PID-3");
        assertThat(s.linking()).extracting(Identifier::value).containsExactly("M1", "O1");
        assertThat(s.warnings()).containsExactly("PID-3: second identifier of one assigning authority ignored");
    }

    @Test
    void anAdapterChoosesItsLinkingTypesTheFateOfUntypedIdentifiersAndADefaultAuthority() {
        AdapterProfile.Identity i = new AdapterProfile.Identity();
        i.linkingTypes = List.of("PI");
        i.untyped = "attribute";
        i.assigningAuthority = "EPIC";
        IdentityRule.Split s = new IdentityRule(i).split(List.of(new Identifier(null, "E1", "PI"),
                new Identifier("MERCY", "M1", "MR"), new Identifier(null, "U1", null)), "PID-3");
        assertThat(s.linking()).containsExactly(new Identifier("EPIC", "E1", "PI"));
        assertThat(s.others()).extracting(Identifier::value).containsExactly("M1", "U1");
    }
}
