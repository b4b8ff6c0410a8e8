package io.caravan.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

/** The restricted ZIP3 list from configuration: the 2010 census by default, a newer one with its version. */
class StreamPropertiesTest {

    static StreamProperties bind(Map<String, String> props) {
        return new Binder(new MapConfigurationPropertySource(props)).bindOrCreate("caravan.streams",
                StreamProperties.class);
    }

    @Test
    void withoutConfigurationTheListIsThe2010Census() {
        SafeHarbor.Zip3List list = bind(Map.of()).deidentification().zip3List();
        assertThat(list.version()).isEqualTo("census-2010");
        assertThat(list.restricted()).containsExactlyInAnyOrder("036", "059", "102", "203", "205", "369", "556",
                "692", "821", "823", "878", "879", "884", "893");
    }

    @Test
    void aConfiguredListReplacesItWithItsVersion() {
        SafeHarbor.Zip3List list = bind(Map.of("caravan.streams.deidentification.zip3-list-version", "census-2020",
                "caravan.streams.deidentification.restricted-zip3[0]", "036",
                "caravan.streams.deidentification.restricted-zip3[1]", "059")).deidentification().zip3List();
        assertThat(list).isEqualTo(new SafeHarbor.Zip3List("census-2020", java.util.Set.of("036", "059")));
    }

    @Test
    void aListWithoutItsVersionOrWithABadCodeIsRefused() {
        assertThatThrownBy(() -> new StreamProperties.Deidentification(null, List.of("036")))
                .hasMessageContaining("zip3-list-version");
        assertThatThrownBy(() -> new StreamProperties.Deidentification("x", List.of("36")))
                .hasMessageContaining("not three digits");
        assertThatThrownBy(() -> new StreamProperties.Deidentification("census-2020", null))
                .hasMessageContaining("restricted-zip3 is required");
        assertThat(bind(Map.of("caravan.streams.deidentification.zip3-list-version", "census-2010"))
                .deidentification().zip3List()).isEqualTo(SafeHarbor.Zip3List.census2010());
    }
}
