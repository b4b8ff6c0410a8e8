package io.caravan.mapping;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.regex.Pattern;

/**
 * One declarative rule: where a value is (Terser-style paths {@code SEG-F[(rep)][-C[-S]]}, first non-empty wins),
 * what it is ({@code as}) and an optional value map. Written in YAML either as a bare path ({@code visit: PV1-19}) or
 * as an object ({@code {path: PID-8, as: code, map: administrative-gender}}).
 */
public final class FieldRule {

    static final Pattern PATH = Pattern.compile("[A-Z][A-Z0-9]{2}-\\d{1,3}(\\(\\d{1,3}\\))?(-\\d{1,3}){0,2}");

    /** What the value is, and so how it is read and normalised. */
    public enum Kind {
        @JsonProperty("string") STRING,
        @JsonProperty("code") CODE,
        @JsonProperty("date") DATE,
        @JsonProperty("datetime") DATETIME,
        @JsonProperty("identifiers") IDENTIFIERS,
        @JsonProperty("name") NAME,
        @JsonProperty("address") ADDRESS,
        @JsonProperty("telecom") TELECOM,
        @JsonProperty("flag") FLAG,
        @JsonProperty("list") LIST
    }

    @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
    @JsonProperty(required = true)
    public List<String> path;
    @JsonProperty("as")
    public Kind kind = Kind.STRING;
    /** Name of a value map in {@code mappings/hl7v2/value-maps/}. */
    public String map;
    /** For {@code as: flag}: the value that raises the flag (e.g. {@code Y}). */
    public String equals;
    public String description;

    public FieldRule() {
    }

    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    public static FieldRule of(String path) {
        FieldRule r = new FieldRule();
        r.path = List.of(path);
        return r;
    }

    /** Checks this rule; returns a problem description or null. */
    String problem() {
        if (path == null || path.isEmpty()) {
            return "rule without a path";
        }
        for (String p : path) {
            if (p == null || !PATH.matcher(p).matches()) {
                return "bad path '" + p + "' (expected SEG-F[(rep)][-C[-S]], e.g. PID-3 or PV1-3-1)";
            }
        }
        if (kind == Kind.FLAG && equals == null) {
            return "a flag rule needs 'equals'";
        }
        return null;
    }
}
