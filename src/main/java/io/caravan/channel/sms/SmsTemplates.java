package io.caravan.channel.sms;

import io.caravan.channel.TemplateFiles;
import io.pebbletemplates.pebble.PebbleEngine;
import io.pebbletemplates.pebble.loader.FileLoader;
import io.pebbletemplates.pebble.template.PebbleTemplate;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * SMS templates from {@code <dir>/<name>/template.yaml} and {@code <lang>.txt.peb}, read by {@link TemplateFiles}
 * like every channel's and compiled once at start-up. Every SMS template is PHI-free by declaration: a template that
 * declares {@code content: phi} is refused at load (a text travels in clear through carriers and lands on a lock
 * screen), and the gate checks the content class again at send.
 * A template may cap its segments ({@code maxSegments}); a rendered text over the cap is not sent.
 */
public final class SmsTemplates {

    /** What {@code template.yaml} declares. */
    static final class Declaration {
        public String purpose;
        public String content;
        public List<String> languages;
        public List<String> requires = List.of();
        public Integer maxSegments;
    }

    public record Template(String name, String purpose, String content, List<String> languages, List<String> requires,
            int maxSegments, Map<String, PebbleTemplate> text) {
    }

    /** Bad template files: every problem found. */
    public static final class TemplateException extends RuntimeException {
        private final List<String> problems;

        TemplateException(List<String> problems) {
            super("sms templates are invalid:\n  " + String.join("\n  ", problems));
            this.problems = List.copyOf(problems);
        }

        public List<String> problems() {
            return problems;
        }
    }

    static final int DEFAULT_MAX_SEGMENTS = 3;

    private final Map<String, Template> templates;

    public SmsTemplates(Path dir, Set<String> purposes) {
        PebbleEngine engine = new PebbleEngine.Builder().loader(new FileLoader()).strictVariables(true)
                .autoEscaping(false).cacheActive(true).newLineTrimming(true).build();
        TemplateFiles.Loaded<Template> loaded = TemplateFiles.load(dir, true, Declaration.class,
                (name, folder, d, problems) -> {
                    if (d.purpose == null || !purposes.contains(d.purpose)) {
                        problems.add(name + ": purpose must be one of " + purposes);
                    }
                    if (!"phi-free".equals(d.content)) {
                        problems.add(name + ": an SMS template must declare content: phi-free (texts never carry"
                                + " PHI)");
                    }
                    int max = d.maxSegments == null ? DEFAULT_MAX_SEGMENTS : d.maxSegments;
                    if (max < 1 || max > 10) {
                        problems.add(name + ": maxSegments must be 1-10");
                    }
                    if (d.languages == null || d.languages.isEmpty()) {
                        problems.add(name + ": at least one language");
                        return null;
                    }
                    Map<String, PebbleTemplate> text = new LinkedHashMap<>();
                    for (String lang : d.languages) {
                        TemplateFiles.compile(engine, folder.resolve(lang + ".txt.peb"), name, problems)
                                .ifPresent(t -> text.put(lang, t));
                    }
                    return new Template(name, d.purpose, d.content, List.copyOf(d.languages),
                            d.requires == null ? List.of() : List.copyOf(d.requires), max, text);
                });
        if (!loaded.problems().isEmpty()) {
            throw new TemplateException(loaded.problems());
        }
        this.templates = Map.copyOf(loaded.templates());
    }

    public Optional<Template> get(String name) {
        return Optional.ofNullable(templates.get(name));
    }

    public Set<String> names() {
        return templates.keySet();
    }

    /** The text in the contact's language, or the template's first; a missing variable is an error, not a blank. */
    public String render(String name, String language, Map<String, Object> model) {
        Template t = get(name).orElseThrow(() -> new IllegalArgumentException("no sms template " + name));
        String lang = language != null && t.text().containsKey(language) ? language : t.languages().get(0);
        return TemplateFiles.evaluate(t.text().get(lang), model, "sms template " + name).strip();
    }
}
