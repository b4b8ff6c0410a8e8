package io.caravan.segment;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.caravan.consent.ConsentPolicy;
import io.caravan.workflow.Conditions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.springframework.expression.Expression;
import org.springframework.expression.spel.SpelNode;
import org.springframework.expression.spel.ast.MethodReference;
import org.springframework.expression.spel.ast.StringLiteral;
import org.springframework.expression.spel.standard.SpelExpression;

/**
 * The segments of {@code config/segments/*.yaml} (read and checked once at start: a bad file stops the hub, as a bad
 * workflow does) and the code sets of {@code code-sets.yaml}, and the check every definition passes, from a file or
 * the API. Marketing segments may not select by codes of a sensitive category (42 CFR Part 2, HIV, mental and
 * reproductive health: {@code config/policies/sensitive-categories.yaml}): refused here, by the field, and the gate
 * still decides per recipient at send time.
 */
public final class SegmentCatalog {

    static final String CODE_SETS = "code-sets.yaml";
    private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9-]{0,63}");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** What is wrong with a definition, by the request field it is about. */
    public record Problem(String field, String detail) {
    }

    /** A definition refused; the message names the field and the rule, never a value of a contact. */
    public static final class Invalid extends IllegalArgumentException {
        private final transient List<Problem> problems;

        Invalid(List<Problem> problems) {
            super(problems.get(0).field() + ": " + problems.get(0).detail());
            this.problems = List.copyOf(problems);
        }

        public List<Problem> problems() {
            return problems;
        }
    }

    static final class CodeSets {
        @com.fasterxml.jackson.annotation.JsonProperty(value = "code-sets", required = true)
        public Map<String, List<String>> codeSets = new LinkedHashMap<>();
    }

    private final ConsentPolicy policy;
    private final Map<String, List<String>> codeSets;
    private final Map<String, SegmentDefinition> files;

    public SegmentCatalog(Path dir, ConsentPolicy policy) {
        this.policy = policy;
        this.codeSets = readCodeSets(dir.resolve(CODE_SETS));
        SegmentFacts.codeSets = codeSets;
        Map<String, SegmentDefinition> found = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        if (Files.isDirectory(dir)) {
            try (Stream<Path> s = Files.list(dir)) {
                for (Path f : s.filter(p -> p.toString().endsWith(".yaml")
                        && !p.getFileName().toString().equals(CODE_SETS)).sorted().toList()) {
                    try {
                        SegmentDefinition d = YAML.readValue(f.toFile(), SegmentDefinition.class);
                        for (Problem p : check(d)) {
                            problems.add(f.getFileName() + ": " + p.field() + ": " + p.detail());
                        }
                        if (d.id != null && !f.getFileName().toString().equals(d.id + ".yaml")) {
                            problems.add(f.getFileName() + ": id " + d.id + " does not match the file name");
                        }
                        found.put(d.id, d);
                    } catch (IOException e) {
                        problems.add(f.getFileName() + ": " + e.getMessage().lines().findFirst().orElse("unreadable"));
                    }
                }
            } catch (IOException e) {
                throw new IllegalStateException("cannot read the segments directory", e);
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalStateException("segment definitions refused: " + String.join("; ", problems));
        }
        this.files = Map.copyOf(found);
    }

    private static Map<String, List<String>> readCodeSets(Path file) {
        if (!Files.exists(file)) {
            return Map.of();
        }
        try {
            return Map.copyOf(YAML.readValue(file.toFile(), CodeSets.class).codeSets);
        } catch (IOException e) {
            throw new IllegalStateException(CODE_SETS + ": " + e.getMessage().lines().findFirst().orElse("unreadable"));
        }
    }

    /** The segments defined in files, by id. */
    public Map<String, SegmentDefinition> files() {
        return files;
    }

    public Map<String, List<String>> codeSets() {
        return codeSets;
    }

    /** Throws {@link Invalid} when the definition has a problem. */
    public void require(SegmentDefinition d) {
        List<Problem> p = check(d);
        if (!p.isEmpty()) {
            throw new Invalid(p);
        }
    }

    /** The problems of a definition, empty when there are none. */
    public List<Problem> check(SegmentDefinition d) {
        List<Problem> out = new ArrayList<>();
        if (d.id == null || !ID.matcher(d.id).matches()) {
            out.add(new Problem("id", "must be lower-case letters, digits and dashes, at most 64"));
        }
        if (d.description != null && d.description.length() > 200) {
            out.add(new Problem("description", "at most 200 characters"));
        }
        if (d.purpose == null || !policy.purposes().contains(d.purpose)) {
            out.add(new Problem("purpose", "must be one of " + new java.util.TreeSet<>(policy.purposes())));
        }
        out.addAll(checkExpression(d.when, d.purpose));
        return out;
    }

    /** The problems of an expression for a purpose (the field is {@code when}). */
    List<Problem> checkExpression(String when, String purpose) {
        List<Problem> out = new ArrayList<>();
        if (when == null || when.isBlank()) {
            out.add(new Problem("when", "an expression is required"));
            return out;
        }
        if (when.length() > 4000) {
            out.add(new Problem("when", "at most 4000 characters"));
            return out;
        }
        String syntax = Conditions.problem(when);
        if (syntax != null) {
            out.add(new Problem("when", "does not compile: " + syntax));
            return out;
        }
        Expression e = Conditions.compile(when);
        walk(((SpelExpression) e).getAST(), purpose, out);
        if (out.isEmpty()) {
            // a dry run on a contact with no facts: an unknown function or property fails here, not silently later
            AttributeIndex probe = new AttributeIndex();
            UUID id = new UUID(0, 0);
            probe.put(id, IndexedAttributes.NONE);
            SegmentFacts f = new SegmentFacts(probe, LocalDate.now(), SegmentFacts.Outside.NONE);
            f.row = 0;
            try {
                Object v = e.getValue(Conditions.context(f));
                if (!(v instanceof Boolean)) {
                    out.add(new Problem("when", "must be true or false"));
                }
            } catch (org.springframework.expression.EvaluationException | IllegalArgumentException ex) {
                String code = ex instanceof org.springframework.expression.spel.SpelEvaluationException s
                        ? s.getMessageCode() + " at " + s.getPosition() : ex.getClass().getSimpleName();
                out.add(new Problem("when", "cannot be evaluated: " + code));
            }
        }
        return out;
    }

    private void walk(SpelNode n, String purpose, List<Problem> out) {
        if (n instanceof MethodReference m && (m.getName().equals("hasCode") || m.getName().equals("inCodeSet"))) {
            String arg = m.getChildCount() == 1 && m.getChild(0) instanceof StringLiteral s
                    ? String.valueOf(s.getLiteralValue().getValue()) : null;
            if (arg == null) {
                out.add(new Problem("when", m.getName() + " takes one text literal"));
            } else if (m.getName().equals("inCodeSet")) {
                List<String> set = codeSets.get(arg);
                if (set == null) {
                    out.add(new Problem("when", "no code set " + arg + " (" + CODE_SETS + ")"));
                } else if ("marketing".equals(purpose)) {
                    for (String p : set) {
                        String cat = policy.sensitiveCategoryReachedBy(p);
                        if (cat != null) {
                            out.add(new Problem("when", "code set " + arg + " reaches sensitive category " + cat
                                    + ": a marketing segment may not select by it"));
                            break;
                        }
                    }
                }
            } else if ("marketing".equals(purpose)) {
                String cat = policy.sensitiveCategoryReachedBy(arg);
                if (cat != null) {
                    out.add(new Problem("when", "hasCode('" + arg + "') reaches sensitive category " + cat
                            + ": a marketing segment may not select by it"));
                }
            }
        }
        for (int i = 0; i < n.getChildCount(); i++) {
            walk(n.getChild(i), purpose, out);
        }
    }
}
