package io.caravan.mapping;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** A code translation table from {@code value-maps/<name>.yaml} (e.g. ISO 639-2 → ISO 639-1). */
public final class ValueMap {

    @JsonProperty(required = true)
    public String name;
    public String description;
    /** Try again without a region subtag ({@code en-US} → {@code en}) when the whole code is not listed. */
    public boolean stripRegion;
    /** Value for a code that is present but not listed; absent means "no information". */
    public String otherwise;
    @JsonProperty(required = true)
    public Map<String, String> values = new LinkedHashMap<>();

    private Map<String, String> folded;

    /** Case-insensitive lookup; null when the code is unknown and no {@code otherwise} is set. */
    public String lookup(String code) {
        if (folded == null) {
            Map<String, String> f = new HashMap<>();
            values.forEach((k, v) -> f.put(k.toLowerCase(Locale.ROOT), v));
            folded = f;
        }
        String key = code.trim().toLowerCase(Locale.ROOT);
        String v = folded.get(key);
        if (v == null && stripRegion) {
            int cut = indexOfAny(key, '-', '_');
            if (cut > 0) {
                v = folded.get(key.substring(0, cut));
            }
        }
        return v != null ? v : otherwise;
    }

    private static int indexOfAny(String s, char a, char b) {
        int i = s.indexOf(a);
        int j = s.indexOf(b);
        return i < 0 ? j : (j < 0 ? i : Math.min(i, j));
    }
}
