package io.caravan.workflow;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.caravan.channel.Template;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Every workflow of {@code config/workflows/}, checked once at start-up; a bad file stops the start with every
 * problem found: unknown keys, unknown purposes, channels and event types, templates that do not exist or serve
 * another purpose, expressions that do not compile, durations that do not parse, references to missing steps or
 * workflows, steps no path reaches, and cycles. A cycle - of steps, or of workflows going to each other - is refused
 * here, so a journey cannot loop: a visited step is never repeated.
 */
public final class WorkflowCatalog {

    /**
     * The event types of the public contract (BRIEF.md), and {@code sms.received}: a patient's text back that is not
     * a keyword (issue 13), which a journey may start or end on.
     */
    public static final Set<String> EVENT_TYPES = Set.of("patient.registered", "patient.admitted",
            "patient.discharged", "patient.updated", "patient.merged", "appointment.booked",
            "appointment.rescheduled", "appointment.cancelled", "result.available", "sms.received",
            // raised by the hub when a contact enters or leaves a segment (data.segment: its id)
            "segment.entered", "segment.exited");
    private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9-]*");
    /** The attribute that holds a contact's tags (a sorted list), changed only by tag and untag. */
    static final String TAGS = "tags";
    private static final Pattern ATTRIBUTE = Pattern.compile("[A-Za-z][A-Za-z0-9_]{0,63}");
    private static final Pattern TAG = Pattern.compile("[a-z0-9][a-z0-9._:-]{0,63}");
    /** Fields of the contact record itself: feeds own them, a workflow may not change them. */
    private static final Set<String> CONTACT_FIELDS = Set.of("id", "identifiers", "name", "birthDate", "gender",
            "email", "phone", "language", "address", "restrictions", "attributes", "updatedAt", "codes");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** Bad workflow files: every problem found. */
    public static final class WorkflowException extends RuntimeException {
        private final List<String> problems;

        WorkflowException(List<String> problems) {
            super("workflows are invalid:\n  " + String.join("\n  ", problems));
            this.problems = List.copyOf(problems);
        }

        public List<String> problems() {
            return problems;
        }
    }

    private final Map<String, WorkflowDefinition> workflows;
    /** The event types some workflow starts on or exits on. */
    private final Set<String> eventTypes;

    /**
     * Email as the only channel, templates known by their purpose alone (no required data): for tests of the files.
     *
     * @param purposes  the consent policy's purposes
     * @param templates a template's purpose by name (empty when there is no such template)
     */
    public WorkflowCatalog(Path dir, Set<String> purposes, Function<String, Optional<String>> templates) {
        this(dir, purposes, Set.of("email"), (channel, name) -> templates.apply(name)
                .map(p -> new Template(name, p, "phi", List.of())));
    }

    /**
     * @param purposes  the consent policy's purposes
     * @param channels  the registered channels
     * @param templates a channel's template by name (empty when the channel has no such template)
     */
    public WorkflowCatalog(Path dir, Set<String> purposes, Set<String> channels,
            BiFunction<String, String, Optional<Template>> templates) {
        List<String> problems = new ArrayList<>();
        Map<String, WorkflowDefinition> loaded = new LinkedHashMap<>();
        List<Path> files;
        if (!Files.isDirectory(dir)) {
            files = List.of();
        } else {
            try (Stream<Path> s = Files.list(dir)) {
                files = s.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted()
                        .toList();
            } catch (IOException e) {
                throw new WorkflowException(List.of(dir + ": cannot list (" + e.getClass().getSimpleName() + ")"));
            }
        }
        for (Path f : files) {
            String name = f.getFileName().toString().replaceAll("\\.ya?ml$", "");
            WorkflowDefinition w;
            try {
                w = YAML.readValue(f.toFile(), WorkflowDefinition.class);
            } catch (IOException e) {
                problems.add(f.getFileName() + ": " + (e.getMessage() == null ? e.getClass().getSimpleName()
                        : e.getMessage().lines().findFirst().orElse("")));
                continue;
            }
            if (!name.equals(w.id)) {
                problems.add(f.getFileName() + ": id must be the file name (" + name + ")");
            }
            check(w, purposes, channels, templates, problems);
            loaded.put(w.id, w);
        }
        checkWorkflowGotos(loaded, problems);
        if (!problems.isEmpty()) {
            throw new WorkflowException(problems);
        }
        this.workflows = Collections.unmodifiableMap(loaded);
        Set<String> types = new java.util.HashSet<>();
        for (WorkflowDefinition w : loaded.values()) {
            if (w.trigger != null) {
                types.addAll(w.trigger.event);
            }
            w.exits.forEach(x -> types.add(x.event));
        }
        this.eventTypes = Set.copyOf(types);
    }

    /** Whether some workflow starts or exits on events of this type. */
    public boolean listensTo(String eventType) {
        return eventTypes.contains(eventType);
    }

    public Map<String, WorkflowDefinition> all() {
        return workflows;
    }

    public Optional<WorkflowDefinition> get(String id) {
        return Optional.ofNullable(workflows.get(id));
    }

    private static void check(WorkflowDefinition w, Set<String> purposes, Set<String> channels,
            BiFunction<String, String, Optional<Template>> templates, List<String> problems) {
        String at = w.id + ": ";
        if (w.id == null || !ID.matcher(w.id).matches()) {
            problems.add(at + "id must be lower-case letters, digits and dashes");
        }
        if (!purposes.contains(w.purpose)) {
            problems.add(at + "purpose must be one of " + purposes);
        }
        if (!channels.contains(w.channel)) {
            problems.add(at + "unknown channel " + w.channel + "; registered channels: " + new TreeSet<>(channels));
        }
        for (String e : w.trigger.event) {
            if (!EVENT_TYPES.contains(e)) {
                problems.add(at + "trigger: unknown event type " + e);
            }
        }
        if (w.trigger.event.isEmpty()) {
            problems.add(at + "trigger: at least one event type");
        }
        expression(at + "trigger.when", w.trigger.when, problems);
        Map<String, WorkflowDefinition.Step> steps = new LinkedHashMap<>();
        for (WorkflowDefinition.Step s : w.steps) {
            if (s.id == null || !ID.matcher(s.id).matches()) {
                problems.add(at + "step ids are lower-case letters, digits and dashes");
                continue;
            }
            if (steps.put(s.id, s) != null) {
                problems.add(at + "step " + s.id + " is defined twice");
            }
        }
        if (steps.isEmpty()) {
            problems.add(at + "at least one step");
            return;
        }
        for (WorkflowDefinition.Exit x : w.exits) {
            if (!EVENT_TYPES.contains(x.event)) {
                problems.add(at + "exits: unknown event type " + x.event);
            }
            expression(at + "exits " + x.event + ".when", x.when, problems);
            if (x.retarget != null && !steps.containsKey(x.retarget)) {
                problems.add(at + "exits " + x.event + ": no step " + x.retarget);
            }
        }
        for (WorkflowDefinition.Step s : steps.values()) {
            checkStep(w, s, steps, channels, templates, problems);
        }
        checkGraph(w, steps, problems);
    }

    private static void checkStep(WorkflowDefinition w, WorkflowDefinition.Step s,
            Map<String, WorkflowDefinition.Step> steps, Set<String> channels,
            BiFunction<String, String, Optional<Template>> templates, List<String> problems) {
        String at = w.id + " step " + s.id + ": ";
        String kind = s.kind();
        if (kind == null) {
            problems.add(at + "exactly one of send, wait, branch, update, goto, exit");
            return;
        }
        switch (kind) {
            case "send" -> {
                String channel = s.send.channel != null ? s.send.channel : w.channel;
                if (s.send.channel != null && !channels.contains(s.send.channel)) {
                    problems.add(at + "unknown channel " + s.send.channel + "; registered channels: "
                            + new TreeSet<>(channels));
                }
                Optional<Template> t = channels.contains(channel) ? templates.apply(channel, s.send.template)
                        : Optional.empty();
                if (t.isEmpty()) {
                    if (channels.contains(channel)) {
                        problems.add(at + "no template " + s.send.template + " for channel " + channel);
                    }
                } else {
                    if (!t.get().purpose().equals(w.purpose)) {
                        problems.add(at + "template " + s.send.template + " is for purpose " + t.get().purpose()
                                + ", the workflow's is " + w.purpose);
                    }
                    // the step's data is all the template gets from a workflow: what it requires must be there
                    List<String> missing = t.get().requires().stream().filter(f -> !s.send.data.containsKey(f))
                            .toList();
                    if (!missing.isEmpty()) {
                        problems.add(at + "template " + s.send.template + " requires data: "
                                + String.join(", ", missing));
                    }
                }
                s.send.data.forEach((k, v) -> expression(at + "data." + k, v, problems));
            }
            case "wait" -> {
                if ((s.wait.duration == null) == (s.wait.until == null)) {
                    problems.add(at + "wait needs exactly one of for, until");
                }
                duration(at + "for", s.wait.duration, problems);
                expression(at + "until", s.wait.until, problems);
                duration(at + "offset", s.wait.offset, problems);
                if (s.wait.at != null) {
                    try {
                        LocalTime.parse(s.wait.at);
                    } catch (DateTimeParseException e) {
                        problems.add(at + "at must be a time of day like 09:00");
                    }
                }
            }
            case "branch" -> {
                if (s.branch.cases.isEmpty()) {
                    problems.add(at + "a branch needs at least one case");
                }
                for (WorkflowDefinition.Case c : s.branch.cases) {
                    expression(at + "if", c.condition, problems);
                    target(at, c.then, steps, problems);
                }
                target(at, s.branch.otherwise, steps, problems);
            }
            case "update" -> {
                WorkflowDefinition.Update u = s.update;
                if (u.set.isEmpty() && u.clear.isEmpty() && u.tag.isEmpty() && u.untag.isEmpty()) {
                    problems.add(at + "update needs at least one of set, clear, tag, untag");
                }
                List<String> names = new ArrayList<>(u.set.keySet());
                names.addAll(u.clear);
                for (String n : names) {
                    if (!ATTRIBUTE.matcher(n).matches() || TAGS.equals(n) || CONTACT_FIELDS.contains(n)) {
                        problems.add(at + "attribute " + n + " cannot be changed by a workflow (a name of letters,"
                                + " digits and _, not " + TAGS + " - use tag/untag - nor a field feeds own)");
                    }
                }
                u.clear.stream().filter(u.set::containsKey)
                        .forEach(n -> problems.add(at + "attribute " + n + " is both set and cleared"));
                List<String> tags = new ArrayList<>(u.tag);
                tags.addAll(u.untag);
                tags.stream().filter(t -> !TAG.matcher(t).matches())
                        .forEach(t -> problems.add(at + "tag " + t + " must be lower-case letters, digits, . _ : -"));
                u.tag.stream().filter(u.untag::contains)
                        .forEach(t -> problems.add(at + "tag " + t + " is both added and removed"));
                u.set.forEach((k, v) -> expression(at + "set." + k, v, problems));
            }
            case "goto" -> {
                if ((s.go.step == null) == (s.go.workflow == null)) {
                    problems.add(at + "goto needs exactly one of step, workflow");
                }
                if (s.go.step != null) {
                    target(at, s.go.step, steps, problems);
                }
            }
            default -> {
                if (s.exit.reason == null || s.exit.reason.isBlank()) {
                    problems.add(at + "exit needs a reason");
                }
            }
        }
    }

    /** The steps that may follow a step. */
    static List<String> next(WorkflowDefinition.Step s, List<WorkflowDefinition.Step> order) {
        List<String> out = new ArrayList<>();
        String kind = s.kind();
        if ("branch".equals(kind)) {
            s.branch.cases.forEach(c -> out.add(c.then));
            out.add(s.branch.otherwise);
            return out;
        }
        if ("goto".equals(kind)) {
            if (s.go.step != null) {
                out.add(s.go.step);
            }
            return out;
        }
        if ("exit".equals(kind)) {
            return out;
        }
        int i = order.indexOf(s);
        if (i + 1 < order.size()) {
            out.add(order.get(i + 1).id);
        }
        return out;
    }

    /** Every step reachable from the first (or an exit's retarget), and no cycle. */
    private static void checkGraph(WorkflowDefinition w, Map<String, WorkflowDefinition.Step> steps,
            List<String> problems) {
        if (steps.values().stream().anyMatch(s -> s.kind() == null)) {
            return;
        }
        Map<String, List<String>> edges = new HashMap<>();
        for (WorkflowDefinition.Step s : steps.values()) {
            edges.put(s.id, next(s, w.steps).stream().filter(steps::containsKey).toList());
        }
        Set<String> reached = new HashSet<>();
        List<String> todo = new ArrayList<>();
        todo.add(w.steps.get(0).id);
        w.exits.stream().map(x -> x.retarget).filter(steps::containsKey).forEach(todo::add);
        while (!todo.isEmpty()) {
            String s = todo.remove(todo.size() - 1);
            if (reached.add(s)) {
                todo.addAll(edges.get(s));
            }
        }
        for (String s : steps.keySet()) {
            if (!reached.contains(s)) {
                problems.add(w.id + " step " + s + ": no path reaches it");
            }
        }
        cycle(edges, steps.keySet()).ifPresent(c -> problems.add(w.id + ": steps " + String.join(" -> ", c)
                + " form a cycle (a journey never repeats a step)"));
    }

    private static void checkWorkflowGotos(Map<String, WorkflowDefinition> all, List<String> problems) {
        Map<String, List<String>> edges = new HashMap<>();
        for (WorkflowDefinition w : all.values()) {
            List<String> to = new ArrayList<>();
            for (WorkflowDefinition.Step s : w.steps) {
                if (s.go != null && s.go.workflow != null) {
                    if (!all.containsKey(s.go.workflow)) {
                        problems.add(w.id + " step " + s.id + ": no workflow " + s.go.workflow);
                    } else {
                        to.add(s.go.workflow);
                    }
                }
            }
            edges.put(w.id, to);
        }
        cycle(edges, all.keySet()).ifPresent(c -> problems.add("workflows " + String.join(" -> ", c)
                + " go to each other in a cycle"));
    }

    /** A cycle in a directed graph, as the path that closes it, if there is one. */
    static Optional<List<String>> cycle(Map<String, List<String>> edges, Set<String> nodes) {
        Map<String, Integer> state = new HashMap<>();
        for (String start : nodes) {
            List<String> path = new ArrayList<>();
            Optional<List<String>> c = visit(start, edges, state, path);
            if (c.isPresent()) {
                return c;
            }
        }
        return Optional.empty();
    }

    private static Optional<List<String>> visit(String n, Map<String, List<String>> edges, Map<String, Integer> state,
            List<String> path) {
        Integer st = state.get(n);
        if (st != null && st == 2) {
            return Optional.empty();
        }
        if (st != null && st == 1) {
            List<String> c = new ArrayList<>(path.subList(path.indexOf(n), path.size()));
            c.add(n);
            return Optional.of(c);
        }
        state.put(n, 1);
        path.add(n);
        for (String m : edges.getOrDefault(n, List.of())) {
            Optional<List<String>> c = visit(m, edges, state, path);
            if (c.isPresent()) {
                return c;
            }
        }
        path.remove(path.size() - 1);
        state.put(n, 2);
        return Optional.empty();
    }

    private static void target(String at, String step, Map<String, WorkflowDefinition.Step> steps,
            List<String> problems) {
        if (step == null || !steps.containsKey(step)) {
            problems.add(at + "no step " + step);
        }
    }

    private static void expression(String at, String source, List<String> problems) {
        if (source != null) {
            String p = Conditions.problem(source);
            if (p != null) {
                problems.add(at + ": " + p);
            }
        }
    }

    private static void duration(String at, String source, List<String> problems) {
        if (source != null) {
            try {
                Durations.parse(source);
            } catch (IllegalArgumentException e) {
                problems.add(at + ": " + e.getMessage());
            }
        }
    }
}
