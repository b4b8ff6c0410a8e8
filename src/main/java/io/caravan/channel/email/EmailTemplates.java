package io.caravan.channel.email;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.pebbletemplates.pebble.PebbleEngine;
import io.pebbletemplates.pebble.error.PebbleException;
import io.pebbletemplates.pebble.loader.FileLoader;
import io.pebbletemplates.pebble.template.PebbleTemplate;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Email templates from files, compiled once at start-up (Pebble: HTML escaped by default, undefined variables are
 * errors, not blanks). Each template declares its purpose (it drives the consent decision) and content class, has an
 * HTML and a plain-text part per language, falls back to its first language, and may name a PHI-free variant to send
 * when only weaker protection is available. Subjects are fixed text: headers are never encrypted.
 */
public final class EmailTemplates {

    /** What {@code template.yaml} declares. */
    static final class Declaration {
        @JsonProperty(required = true)
        public String purpose;
        @JsonProperty(required = true)
        public String content;
        @JsonProperty(required = true)
        public List<String> languages;
        @JsonProperty(required = true)
        public Map<String, String> subject;
        public String phiFreeVariant;
        /** Request data the template cannot render without: planning refuses a request that lacks any of it. */
        public List<String> requires = List.of();
    }

    /** One template, compiled. */
    public record Template(String name, String purpose, String content, List<String> languages, String phiFreeVariant,
            Map<String, String> subjects, Map<String, PebbleTemplate> html, Map<String, PebbleTemplate> text,
            List<String> requires) {
    }

    /** A rendered message: the language actually used, the fixed subject, both parts. */
    public record Rendered(String template, String language, String subject, String html, String text) {
    }

    /** Bad template files: every problem found. */
    public static final class TemplateException extends RuntimeException {
        private final List<String> problems;

        TemplateException(List<String> problems) {
            super("email templates are invalid:\n  " + String.join("\n  ", problems));
            this.problems = List.copyOf(problems);
        }

        public List<String> problems() {
            return problems;
        }
    }

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    private static final Set<String> CONTENT = Set.of("phi", "phi-free");
    /** The hub's own PHI-free templates (portal notice and code) serve messages of every purpose. */
    public static final String ANY_PURPOSE = io.caravan.channel.Template.ANY_PURPOSE;

    private final Map<String, Template> templates;

    /** Loads every template under {@code dir}; {@code purposes} are the consent policy's. */
    public EmailTemplates(Path dir, Set<String> purposes) {
        PebbleEngine htmlEngine = new PebbleEngine.Builder().loader(new FileLoader()).strictVariables(true)
                .autoEscaping(true).defaultEscapingStrategy("html").cacheActive(true).build();
        PebbleEngine textEngine = new PebbleEngine.Builder().loader(new FileLoader()).strictVariables(true)
                .autoEscaping(false).cacheActive(true).build();
        List<String> problems = new ArrayList<>();
        Map<String, Declaration> declared = new LinkedHashMap<>();
        Map<String, Template> loaded = new LinkedHashMap<>();
        List<Path> folders;
        try (Stream<Path> s = Files.list(dir)) {
            folders = s.filter(Files::isDirectory).sorted().toList();
        } catch (IOException e) {
            throw new TemplateException(List.of(dir + ": cannot list templates (" + e.getClass().getSimpleName() + ")"));
        }
        for (Path folder : folders) {
            String name = folder.getFileName().toString();
            Declaration d;
            try {
                d = YAML.readValue(folder.resolve("template.yaml").toFile(), Declaration.class);
            } catch (IOException e) {
                problems.add(name + "/template.yaml: " + (e.getMessage() == null ? e.getClass().getSimpleName()
                        : e.getMessage().lines().findFirst().orElse("")));
                continue;
            }
            if (ANY_PURPOSE.equals(d.purpose) && !"phi-free".equals(d.content)) {
                problems.add(name + ": a template for any purpose must be phi-free");
            } else if (!purposes.contains(d.purpose) && !ANY_PURPOSE.equals(d.purpose)) {
                problems.add(name + ": purpose must be one of " + purposes + " or any");
            }
            if (!CONTENT.contains(d.content)) {
                problems.add(name + ": content must be phi or phi-free");
            }
            if (d.languages == null || d.languages.isEmpty()) {
                problems.add(name + ": at least one language");
                continue;
            }
            Map<String, PebbleTemplate> html = new LinkedHashMap<>();
            Map<String, PebbleTemplate> text = new LinkedHashMap<>();
            for (String lang : d.languages) {
                if (d.subject == null || d.subject.get(lang) == null || d.subject.get(lang).isBlank()) {
                    problems.add(name + ": no subject for language " + lang);
                } else if (d.subject.get(lang).contains("{{") || d.subject.get(lang).contains("{%")) {
                    problems.add(name + ": the subject is sent in clear and must be fixed text, not a template");
                }
                compile(htmlEngine, folder.resolve(lang + ".html.peb"), name, problems).ifPresent(t -> html.put(lang, t));
                compile(textEngine, folder.resolve(lang + ".txt.peb"), name, problems).ifPresent(t -> text.put(lang, t));
            }
            declared.put(name, d);
            loaded.put(name, new Template(name, d.purpose, d.content, List.copyOf(d.languages), d.phiFreeVariant,
                    d.subject == null ? Map.of() : Map.copyOf(d.subject), html, text,
                    d.requires == null ? List.of() : List.copyOf(d.requires)));
        }
        declared.forEach((name, d) -> {
            if (d.phiFreeVariant == null) {
                return;
            }
            Declaration v = declared.get(d.phiFreeVariant);
            if (v == null) {
                problems.add(name + ": phiFreeVariant " + d.phiFreeVariant + " does not exist");
            } else if (!"phi-free".equals(v.content) || !v.purpose.equals(d.purpose)) {
                problems.add(name + ": phiFreeVariant " + d.phiFreeVariant + " must be phi-free, for the same purpose");
            } else if (v.requires != null && d.requires != null && !d.requires.containsAll(v.requires)) {
                // the variant goes in the template's place with the template's data
                problems.add(name + ": phiFreeVariant " + d.phiFreeVariant + " requires data " + name
                        + " does not");
            }
        });
        if (!problems.isEmpty()) {
            throw new TemplateException(problems);
        }
        this.templates = Map.copyOf(loaded);
    }

    private static java.util.Optional<PebbleTemplate> compile(PebbleEngine engine, Path file, String name,
            List<String> problems) {
        if (!Files.isRegularFile(file)) {
            problems.add(name + ": missing " + file.getFileName());
            return java.util.Optional.empty();
        }
        try {
            return java.util.Optional.of(engine.getTemplate(file.toString()));
        } catch (PebbleException e) {
            problems.add(name + "/" + file.getFileName() + ": " + e.getPebbleMessage());
            return java.util.Optional.empty();
        }
    }

    public java.util.Optional<Template> get(String name) {
        return java.util.Optional.ofNullable(templates.get(name));
    }

    public Set<String> names() {
        return templates.keySet();
    }

    /**
     * Renders a template in the contact's language, or the template's first language. A variable the model lacks is
     * an error (no silently blank PHI-free text).
     */
    public Rendered render(String name, String language, Map<String, Object> model) {
        Template t = get(name).orElseThrow(() -> new IllegalArgumentException("no template " + name));
        String lang = language != null && t.languages().contains(language) ? language : t.languages().get(0);
        return new Rendered(name, lang, t.subjects().get(lang), evaluate(t.html().get(lang), model),
                evaluate(t.text().get(lang), model));
    }

    private static String evaluate(PebbleTemplate t, Map<String, Object> model) {
        StringWriter w = new StringWriter();
        try {
            t.evaluate(w, model);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (PebbleException e) {
            // names the template and the missing variable, never a value
            throw new IllegalArgumentException("template " + t.getName() + ": " + e.getPebbleMessage());
        }
        return w.toString();
    }
}
