package io.caravan.channel;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.pebbletemplates.pebble.PebbleEngine;
import io.pebbletemplates.pebble.error.PebbleException;
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
import java.util.stream.Stream;

/**
 * A channel's template files, read the same way for every channel: one folder per template under the channel's
 * directory, a {@code template.yaml} declaring what the channel asks for (unknown keys refused), and Pebble files per
 * language, compiled once at start-up. Every problem in every folder is collected, so a bad start names them all;
 * what a channel checks beyond the files (email's subjects, SMS's PHI-free rule and segment cap) is its own hook.
 */
public final class TemplateFiles {

    /** A channel's checks of one declared template, and the template it compiles; problems go to {@code problems}. */
    public interface Build<D, T> {
        /** The compiled template, or null to leave it out (its problems say why). */
        T build(String name, Path folder, D declared, List<String> problems);
    }

    /** The templates that loaded, by name in folder order, and every problem found. */
    public record Loaded<T>(Map<String, T> templates, List<String> problems) {
    }

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private TemplateFiles() {
    }

    /**
     * Reads every template folder under {@code dir}. A missing directory is an empty set when {@code optional} (a
     * channel that may run without templates), a problem otherwise.
     */
    public static <D, T> Loaded<T> load(Path dir, boolean optional, Class<D> declaration, Build<D, T> build) {
        List<String> problems = new ArrayList<>();
        Map<String, T> loaded = new LinkedHashMap<>();
        if (optional && !Files.isDirectory(dir)) {
            return new Loaded<>(Map.of(), List.of());
        }
        List<Path> folders;
        try (Stream<Path> s = Files.list(dir)) {
            folders = s.filter(Files::isDirectory).sorted().toList();
        } catch (IOException e) {
            return new Loaded<>(Map.of(), List.of(dir + ": cannot list templates (" + e.getClass().getSimpleName()
                    + ")"));
        }
        for (Path folder : folders) {
            String name = folder.getFileName().toString();
            D d;
            try {
                d = YAML.readValue(folder.resolve("template.yaml").toFile(), declaration);
            } catch (IOException e) {
                problems.add(name + "/template.yaml: " + (e.getMessage() == null ? e.getClass().getSimpleName()
                        : e.getMessage().lines().findFirst().orElse("")));
                continue;
            }
            T t = build.build(name, folder, d, problems);
            if (t != null) {
                loaded.put(name, t);
            }
        }
        return new Loaded<>(loaded, problems);
    }

    /** Compiles {@code file} of template {@code name}; a missing file or a syntax error is a problem. */
    public static Optional<PebbleTemplate> compile(PebbleEngine engine, Path file, String name,
            List<String> problems) {
        if (!Files.isRegularFile(file)) {
            problems.add(name + ": missing " + file.getFileName());
            return Optional.empty();
        }
        try {
            return Optional.of(engine.getTemplate(file.toString()));
        } catch (PebbleException e) {
            problems.add(name + "/" + file.getFileName() + ": " + e.getPebbleMessage());
            return Optional.empty();
        }
    }

    /**
     * Renders a compiled template. A variable the model lacks is an error naming {@code label} and the variable,
     * never a value (no silently blank text).
     */
    public static String evaluate(PebbleTemplate t, Map<String, Object> model, String label) {
        StringWriter w = new StringWriter();
        try {
            t.evaluate(w, model);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (PebbleException e) {
            throw new IllegalArgumentException(label + ": " + e.getPebbleMessage());
        }
        return w.toString();
    }
}
