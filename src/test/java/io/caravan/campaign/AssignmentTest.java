package io.caravan.campaign;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class AssignmentTest {

    @Test
    void variantsAndHoldoutGetTheirSharesOfALargeSegment() {
        UUID campaign = UUID.randomUUID();
        List<Assignment.Variant> variants = List.of(new Assignment.Variant("a", "t", 1),
                new Assignment.Variant("b", "t", 1), new Assignment.Variant("c", "t", 2));
        Map<String, Integer> n = new HashMap<>();
        int total = 100_000;
        for (int i = 0; i < total; i++) {
            n.merge(Assignment.of(campaign, UUID.randomUUID(), 10, variants), 1, Integer::sum);
        }
        assertThat(n.get("holdout") / (double) total).isCloseTo(0.10, org.assertj.core.data.Offset.offset(0.01));
        assertThat(n.get("a") / (double) total).isCloseTo(0.225, org.assertj.core.data.Offset.offset(0.01));
        assertThat(n.get("b") / (double) total).isCloseTo(0.225, org.assertj.core.data.Offset.offset(0.01));
        assertThat(n.get("c") / (double) total).isCloseTo(0.45, org.assertj.core.data.Offset.offset(0.01));
    }

    @Test
    void aRecipientKeepsItsVariantAndMessageIdAcrossRestarts() {
        UUID campaign = UUID.randomUUID();
        UUID contact = UUID.randomUUID();
        List<Assignment.Variant> v = List.of(new Assignment.Variant("a", "t", 1), new Assignment.Variant("b", "t", 1));
        assertThat(Assignment.of(campaign, contact, 20, v)).isEqualTo(Assignment.of(campaign, contact, 20, v));
        assertThat(Assignment.messageId(campaign, contact)).isEqualTo(Assignment.messageId(campaign, contact))
                .isNotEqualTo(Assignment.messageId(UUID.randomUUID(), contact));
    }

    @Test
    void noHoldoutMeansEveryoneGetsAVariant() {
        UUID campaign = UUID.randomUUID();
        List<Assignment.Variant> v = List.of(new Assignment.Variant("a", "t", 1));
        for (int i = 0; i < 10_000; i++) {
            assertThat(Assignment.of(campaign, UUID.randomUUID(), 0, v)).isEqualTo("a");
        }
    }
}
