package io.caravan.contact;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.caravan.mapping.MappingProperties;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

/** max-future-skew is the store's ordering rule: set under caravan.store, and the old mapping key is not ignored. */
class FutureSkewSettingTest {

    private static Binder binder(Map<String, String> props) {
        return new Binder(new MapConfigurationPropertySource(props));
    }

    @Test
    void the_store_reads_max_future_skew_from_its_own_key() {
        StoreProperties p = binder(Map.of("caravan.store.max-future-skew", "2h", "caravan.store.writers", "2"))
                .bind("caravan.store", StoreProperties.class).get();
        assertThat(p.maxFutureSkew()).isEqualTo(Duration.ofHours(2));
        assertThat(p.writers()).isEqualTo(2);
    }

    @Test
    void one_day_when_not_set() {
        StoreProperties p = binder(Map.of("caravan.store.writers", "1"))
                .bind("caravan.store", StoreProperties.class).get();
        assertThat(p.maxFutureSkew()).isEqualTo(Duration.ofDays(1));
    }

    @Test
    void the_old_mapping_key_stops_the_start_naming_the_new_one() {
        assertThatThrownBy(() -> binder(Map.of("caravan.mapping.max-future-skew", "2h"))
                .bind("caravan.mapping", MappingProperties.class))
                .rootCause().hasMessageContaining("caravan.store.max-future-skew");
    }
}
