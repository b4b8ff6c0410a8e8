package io.caravan.segment;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The index gives back the attributes it was put, which the index subscriber reads on one node instead of the row. */
class AttributeIndexTest {

    final AttributeIndex index = new AttributeIndex();

    @Test
    void aRowComesBackAsItWasPut() {
        UUID ana = UUID.randomUUID();
        IndexedAttributes a = new IndexedAttributes("1948-02-29", "female", "036", "NH", "es",
                List.of("E11.9", "I10", "J45.20"), "2026-03-01", "2026-03-04", "2026-12-24");
        index.put(ana, a);
        assertThat(index.attributes(ana)).isEqualTo(a);

        UUID bo = UUID.randomUUID();
        index.put(bo, IndexedAttributes.NONE);
        assertThat(index.attributes(bo)).isEqualTo(IndexedAttributes.NONE);

        IndexedAttributes later = new IndexedAttributes("1948-02-29", "female", "000", "NH", "en", List.of("I10"),
                "2026-03-09", "2026-03-04", null);
        index.put(ana, later);
        assertThat(index.attributes(ana)).isEqualTo(later);
        assertThat(index.attributes(bo)).as("another row untouched").isEqualTo(IndexedAttributes.NONE);

        index.remove(ana);
        assertThat(index.attributes(ana)).isNull();
    }

    @Test
    void whatTheArraysDoNotKeepComesBackInTheFormTheyRead() {
        UUID id = UUID.randomUUID();
        // a time of day and an unknown gender: segments read the day and no sex
        index.put(id, new IndexedAttributes("1980-05-12T10:00:00", "X", "606", "IL", null, List.of(), null, null,
                null));
        assertThat(index.attributes(id)).isEqualTo(new IndexedAttributes("1980-05-12", null, "606", "IL", null,
                List.of(), null, null, null));
    }
}
