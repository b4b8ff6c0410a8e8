package io.caravan.channel.email;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.caravan.channel.TemplateFiles;
import io.pebbletemplates.pebble.PebbleEngine;
import io.pebbletemplates.pebble.loader.FileLoader;
import io.pebbletemplates.pebble.template.PebbleTemplate;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Email templates from files, read by {@link TemplateFiles} like every channel's and compiled once at start-up
 * (Pebble: HTML escaped by default, undefined variables are errors, not blanks). Each template declares its purpose
 * (it drives the consent decision) and content class, has an HTML and a plain-text part per language, falls back to
 * its first language, and may name a PHI-free variant to send when only weaker protection is available. Subjects are
 * fixed text: headers are never encrypted.
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
        Map<String, Declaration> declared = new LinkedHashMap<>();
        TemplateFiles.Loaded<Template> files = TemplateFiles.load(dir, false, Declaration.class,
                (name, folder, d, found) -> {
                    if (ANY_PURPOSE.equals(d.purpose) && !"phi-free".equals(d.content)) {
                        found.add(name + ": a template for any purpose must be phi-free");
                    } else if (!purposes.contains(d.purpose) && !ANY_PURPOSE.equals(d.purpose)) {
                        found.add(name + ": purpose must be one of " + purposes + " or any");
                    }
                    if (!CONTENT.contains(d.content)) {
                        found.add(name + ": content must be phi or phi-free");
                    }
                    if (d.languages == null || d.languages.isEmpty()) {
                        found.add(name + ": at least one language");
                        return null;
                    }
                    Map<String, PebbleTemplate> html = new LinkedHashMap<>();
                    Map<String, PebbleTemplate> text = new LinkedHashMap<>();
                    for (String lang : d.languages) {
                        if (d.subject == null || d.subject.get(lang) == null || d.subject.get(lang).isBlank()) {
                            found.add(name + ": no subject for language " + lang);
                        } else if (d.subject.get(lang).contains("{{") || d.subject.get(lang).contains("{%")) {
                            found.add(name + ": the subject is sent in clear and must be fixed text, not a template");
                        }
                        TemplateFiles.compile(htmlEngine, folder.resolve(lang + ".html.peb"), name, found)
                                .ifPresent(t -> html.put(lang, t));
                        TemplateFiles.compile(textEngine, folder.resolve(lang + ".txt.peb"), name, found)
                                .ifPresent(t -> text.put(lang, t));
                    }
                    declared.put(name, d);
                    return new Template(name, d.purpose, d.content, List.copyOf(d.languages), d.phiFreeVariant,
                            d.subject == null ? Map.of() : Map.copyOf(d.subject), html, text,
                            d.requires == null ? List.of() : List.copyOf(d.requires));
                });
        List<String> problems = new ArrayList<>(files.problems());
        Map<String, Template> loaded = files.templates();
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
        // names the template and the missing variable, never a value
        return TemplateFiles.evaluate(t, model, "template " + t.getName());
    }
}
