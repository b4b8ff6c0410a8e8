package io.caravan.consent;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code config/policies/consent.yaml} and {@code sensitive-categories.yaml}, read into strict classes and checked:
 * every rule the engine implements must be configured with a citation, and nothing else may be.
 */
public final class ConsentPolicy {

    /** The rules the engine implements, in the order they are reported. */
    public static final List<String> RULES = List.of("request-unknown", "record-integrity", "global-opt-out",
            "opt-out", "protection-indicator", "publicity-no-contact", "deceased", "treatment-communication", "payment-operations",
            "marketing-authorization", "marketing-remuneration-statement", "sms-marketing-written-consent",
            "email-marketing-opt-in", "sensitive-data-marketing", "sensitive-data-minimum", "sms-phi-free",
            "queue-without-baa", "deidentified-data");

    static final Set<String> FORMS = Set.of("written", "electronic", "verbal");

    /** One rule's configuration. Settings apply only to the rules that read them. */
    public static final class Rule {
        @JsonProperty(required = true)
        public String citation;
        @JsonProperty(required = true)
        public String description;
        /** Purposes the rule denies (protection-indicator, publicity-no-contact). */
        public List<String> deny = List.of();
        /** Content left for the purposes not denied (protection-indicator). */
        public String content;
        /** Publicity codes meaning "no contact" (publicity-no-contact). */
        public List<String> codes = List.of();
        /** Consent forms that count as written (sms-marketing-written-consent). */
        public List<String> forms = List.of();
        /** Whether the rule applies at all (email-marketing-opt-in). */
        public Boolean required;
    }

    static final class File {
        @JsonProperty(required = true)
        public List<String> purposes;
        @JsonProperty(required = true)
        public List<String> channels;
        @JsonProperty(required = true)
        public Map<String, Rule> rules;
    }

    static final class Category {
        @JsonProperty(required = true)
        public String citation;
        @JsonProperty(required = true)
        public Map<String, List<String>> codes;
    }

    static final class Categories {
        @JsonProperty(required = true)
        public Map<String, Category> categories;
    }

    /** A bad policy: every problem found, so one start-up shows them all. */
    public static final class PolicyException extends RuntimeException {
        private final List<String> problems;

        PolicyException(List<String> problems) {
            super("consent policy is invalid:\n  " + String.join("\n  ", problems));
            this.problems = List.copyOf(problems);
        }

        public List<String> problems() {
            return problems;
        }
    }

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
    private static final Map<String, String> SYSTEM_ALIASES = Map.of("I10", "ICD-10-CM", "ICD10", "ICD-10-CM",
            "ICD-10", "ICD-10-CM", "ICD10CM", "ICD-10-CM", "LN", "LOINC", "SCT", "SNOMED-CT", "SNOMED", "SNOMED-CT");

    final Set<String> purposes;
    final Set<String> channels;
    final Map<String, Rule> rules;
    final Map<String, String> citations;
    /** SYSTEM|CODE → category, and SYSTEM|PREFIX → category for codes ending in '*'. */
    private final Map<String, String> exactCodes = new HashMap<>();
    private final Map<String, String> prefixCodes = new HashMap<>();
    private final int longestPrefix;
    private final Map<String, String> categoryCitations = new LinkedHashMap<>();

    private ConsentPolicy(File f, Categories cats, List<String> problems) {
        this.purposes = Set.copyOf(f.purposes);
        this.channels = Set.copyOf(f.channels);
        this.rules = Map.copyOf(f.rules);
        Map<String, String> cit = new HashMap<>();
        rules.forEach((k, v) -> cit.put(k, v.citation));
        this.citations = Map.copyOf(cit);
        int longest = 0;
        for (Map.Entry<String, Category> e : cats.categories.entrySet()) {
            categoryCitations.put(e.getKey(), e.getValue().citation);
            for (Map.Entry<String, List<String>> sys : e.getValue().codes.entrySet()) {
                String system = normaliseSystem(sys.getKey());
                for (String code : sys.getValue()) {
                    String c = code.trim().toUpperCase(Locale.ROOT);
                    if (c.endsWith("*")) {
                        String prefix = system + "|" + c.substring(0, c.length() - 1);
                        prefixCodes.put(prefix, e.getKey());
                        longest = Math.max(longest, prefix.length());
                    } else {
                        exactCodes.put(system + "|" + c, e.getKey());
                    }
                }
            }
        }
        this.longestPrefix = longest;
    }

    /** Loads and validates the policy files in {@code dir}. */
    public static ConsentPolicy load(Path dir) {
        List<String> problems = new ArrayList<>();
        File f = read(dir.resolve("consent.yaml"), File.class, problems);
        Categories c = read(dir.resolve("sensitive-categories.yaml"), Categories.class, problems);
        if (f == null || c == null) {
            throw new PolicyException(problems);
        }
        Set<String> purposes = new HashSet<>(f.purposes);
        for (String p : f.purposes) {
            if (!p.matches("[a-z][a-z-]*") || p.equals(ConsentRecord.ANY)) {
                problems.add("consent.yaml: bad purpose '" + p + "'");
            }
        }
        for (String needed : List.of("treatment", "marketing")) {
            if (!purposes.contains(needed)) {
                problems.add("consent.yaml: purposes must include " + needed);
            }
        }
        for (String ch : f.channels) {
            if (!ch.matches("[a-z][a-z-]*") || ch.equals(ConsentRecord.ANY)) {
                problems.add("consent.yaml: bad channel '" + ch + "'");
            }
        }
        for (String id : RULES) {
            Rule r = f.rules.get(id);
            if (r == null) {
                problems.add("consent.yaml: rule " + id + " is missing (every rule must be configured and cited)");
            } else if (r.citation == null || r.citation.isBlank()) {
                problems.add("consent.yaml: rule " + id + " has no citation");
            }
        }
        f.rules.forEach((id, r) -> {
            if (!RULES.contains(id)) {
                problems.add("consent.yaml: unknown rule " + id);
                return;
            }
            r.deny.stream().filter(p -> !purposes.contains(p))
                    .forEach(p -> problems.add("consent.yaml: rule " + id + " denies unknown purpose " + p));
            if (r.content != null && !Set.of(Decision.PHI, Decision.PHI_FREE, Decision.NONE).contains(r.content)) {
                problems.add("consent.yaml: rule " + id + ": content must be phi, phi-free or none");
            }
            r.forms.stream().filter(x -> !FORMS.contains(x))
                    .forEach(x -> problems.add("consent.yaml: rule " + id + ": unknown consent form " + x));
        });
        Rule sms = f.rules.get("sms-marketing-written-consent");
        if (sms != null && (sms.forms.isEmpty() || sms.forms.contains("verbal"))) {
            problems.add("consent.yaml: sms-marketing-written-consent forms must be written forms (written, electronic)");
        }
        c.categories.forEach((name, cat) -> {
            if (cat.citation == null || cat.citation.isBlank()) {
                problems.add("sensitive-categories.yaml: category " + name + " has no citation");
            }
            if (cat.codes == null || cat.codes.isEmpty()) {
                problems.add("sensitive-categories.yaml: category " + name + " has no codes");
            }
        });
        if (!problems.isEmpty()) {
            throw new PolicyException(problems);
        }
        return new ConsentPolicy(f, c, problems);
    }

    private static <T> T read(Path file, Class<T> type, List<String> problems) {
        if (!Files.isRegularFile(file)) {
            problems.add(file + ": missing");
            return null;
        }
        try {
            return YAML.readValue(file.toFile(), type);
        } catch (IOException e) {
            String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst()
                    .orElse("");
            problems.add(file.getFileName() + ": " + m);
            return null;
        }
    }

    static String normaliseSystem(String system) {
        String s = system.trim().toUpperCase(Locale.ROOT);
        return SYSTEM_ALIASES.getOrDefault(s, s);
    }

    /** The sensitive category of a {@code SYSTEM|CODE}, or null. */
    public String sensitiveCategory(String systemAndCode) {
        int bar = systemAndCode.indexOf('|');
        if (bar <= 0) {
            return null;
        }
        String key = normaliseSystem(systemAndCode.substring(0, bar)) + "|"
                + systemAndCode.substring(bar + 1).trim().toUpperCase(Locale.ROOT);
        String hit = exactCodes.get(key);
        if (hit != null) {
            return hit;
        }
        for (int end = Math.min(key.length(), longestPrefix); end > bar + 1; end--) {
            hit = prefixCodes.get(key.substring(0, end));
            if (hit != null) {
                return hit;
            }
        }
        return null;
    }

    /**
     * The sensitive category a selection of codes by prefix could reach, or null: a code of a category starts with
     * the prefix (F1 reaches F10.20), or the prefix lies inside a category's range (F10.2 is within F10*). In any code
     * system: a segment's prefix names no system. Used to refuse marketing segments at definition time.
     */
    public String sensitiveCategoryReachedBy(String prefix) {
        String p = prefix.trim().toUpperCase(Locale.ROOT);
        for (Map<String, String> codes : List.of(exactCodes, prefixCodes)) {
            for (Map.Entry<String, String> e : codes.entrySet()) {
                String code = e.getKey().substring(e.getKey().indexOf('|') + 1);
                if (code.startsWith(p) || (codes == prefixCodes && p.startsWith(code))) {
                    return e.getValue();
                }
            }
        }
        return null;
    }

    /** The names of the sensitive categories. */
    public Set<String> sensitiveCategories() {
        return java.util.Collections.unmodifiableSet(categoryCitations.keySet());
    }

    public Set<String> purposes() {
        return purposes;
    }

    public Set<String> channels() {
        return channels;
    }

    public Rule rule(String id) {
        return rules.get(id);
    }

    public String citation(String rule) {
        return citations.get(rule);
    }
}
