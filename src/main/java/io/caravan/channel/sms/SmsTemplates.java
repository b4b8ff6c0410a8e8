package io.caravan.channel.sms;

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
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * SMS templates from {@code <dir>/<name>/template.yaml} and {@code <lang>.txt.peb}, compiled once at start-up. Every
 * SMS template is PHI-free by declaration: a template that declares {@code content: phi} is refused at load (a text
 * travels in clear through carriers and lands on a lock screen), and the gate checks the content class again at send.
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

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    static final int DEFAULT_MAX_SEGMENTS = 3;

    private final Map<String, Template> templates;

    public SmsTemplates(Path dir, Set<String> purposes) {
        PebbleEngine engine = new PebbleEngine.Builder().loader(new FileLoader()).strictVariables(true)
                .autoEscaping(false).cacheActive(true).newLineTrimming(true).build();
        List<String> problems = new ArrayList<>();
        Map<String, Template> loaded = new LinkedHashMap<>();
        List<Path> folders;
        if (!Files.isDirectory(dir)) {
            this.templates = Map.of();
            return;
        }
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
            if (d.purpose == null || !purposes.contains(d.purpose)) {
                problems.add(name + ": purpose must be one of " + purposes);
            }
            if (!"phi-free".equals(d.content)) {
                problems.add(name + ": an SMS template must declare content: phi-free (texts never carry PHI)");
            }
            int max = d.maxSegments == null ? DEFAULT_MAX_SEGMENTS : d.maxSegments;
            if (max < 1 || max > 10) {
                problems.add(name + ": maxSegments must be 1-10");
            }
            if (d.languages == null || d.languages.isEmpty()) {
                problems.add(name + ": at least one language");
                continue;
            }
            Map<String, PebbleTemplate> text = new LinkedHashMap<>();
            for (String lang : d.languages) {
                Path file = folder.resolve(lang + ".txt.peb");
                if (!Files.isRegularFile(file)) {
                    problems.add(name + ": missing " + file.getFileName());
                    continue;
                }
                try {
                    text.put(lang, engine.getTemplate(file.toString()));
                } catch (PebbleException e) {
                    problems.add(name + "/" + file.getFileName() + ": " + e.getPebbleMessage());
                }
            }
            loaded.put(name, new Template(name, d.purpose, d.content, List.copyOf(d.languages),
                    d.requires == null ? List.of() : List.copyOf(d.requires), max, text));
        }
        if (!problems.isEmpty()) {
            throw new TemplateException(problems);
        }
        this.templates = Map.copyOf(loaded);
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
        StringWriter w = new StringWriter();
        try {
            t.text().get(lang).evaluate(w, model);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (PebbleException e) {
            throw new IllegalArgumentException("sms template " + name + ": " + e.getPebbleMessage());
        }
        return w.toString().strip();
    }
}
