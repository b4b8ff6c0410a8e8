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
    /** For {@code as: flag}: the value(s) that raise the flag (e.g. {@code Y}, or {@code [R, X]}); others clear it. */
    @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
    public List<String> equals;
    /**
     * Applies the rule only to an occurrence of the segment whose field {@code when.path} has one of {@code
     * when.equals} (e.g. the CON segment whose CON-2 consent type is {@code MKT}); without a matching occurrence the
     * rule says nothing.
     */
    public When when;

    /** A condition on another field of the same segment occurrence. */
    public static final class When {
        @JsonProperty(required = true)
        public String path;
        @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
        @JsonProperty(required = true)
        public List<String> equals;
    }
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
        if (kind == Kind.FLAG && (equals == null || equals.isEmpty())) {
            return "a flag rule needs 'equals'";
        }
        if (when != null) {
            if (when.path == null || !PATH.matcher(when.path).matches() || when.equals == null
                    || when.equals.isEmpty()) {
                return "'when' needs a path (SEG-F[-C[-S]]) and the values it must equal";
            }
            String seg = when.path.substring(0, 3);
            if (path.stream().anyMatch(p -> !p.startsWith(seg))) {
                return "'when' must test the same segment as the rule's path";
            }
        }
        return null;
    }
}
