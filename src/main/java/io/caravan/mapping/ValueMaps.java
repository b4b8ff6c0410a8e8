package io.caravan.mapping;

import java.util.Map;

/** The value maps by name. */
public record ValueMaps(Map<String, ValueMap> byName) {

    public ValueMap get(String name) {
        return byName.get(name);
    }
}
