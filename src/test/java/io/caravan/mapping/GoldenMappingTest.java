package io.caravan.mapping;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Golden pairs: every {@code golden/hl7v2/<TRIGGER>/*.hl7} is mapped and compared with its {@code .expected.json}.
 * Files are discovered by scanning, so adding a pair needs no code. Run with {@code -Dgolden.update=true} to (re)write
 * the expected files, then review the diff like code.
 */
class GoldenMappingTest {

    static final Path GOLDEN = Path.of("src/test/resources/golden/hl7v2");
    static final boolean UPDATE = Boolean.getBoolean("golden.update");

    @TestFactory
    Stream<DynamicTest> eachGoldenMessageMapsToItsExpectedContactAndEvent() throws IOException {
        return inputs().stream().map(input -> DynamicTest.dynamicTest(GOLDEN.relativize(input).toString(), () -> {
            String raw = Files.readString(input, StandardCharsets.UTF_8);
            JsonNode actual = GoldenRender.render(raw);
            Path expectedFile = expectedFor(input);
            if (UPDATE) {
                Files.writeString(expectedFile, GoldenRender.JSON.writeValueAsString(actual) + "\n");
            }
            assertThat(expectedFile).as("expected output beside " + input).exists();
            JsonNode expected = GoldenRender.JSON.readTree(expectedFile.toFile());
            assertEquals(expected, actual, () -> "mapping of " + input + " differs from " + expectedFile);
        }));
    }

    @Test
    void everyMappedTriggerHasAtLeastTwoGoldenMessages() throws IOException {
        Map<String, Integer> counts = new TreeMap<>();
        GoldenRender.CATALOG.defaultFeed().byTrigger().keySet().forEach(t -> counts.put(t, 0));
        for (Path p : inputs()) {
            String trigger = p.getParent().getFileName().toString().replace('_', '^');
            counts.merge(trigger, 1, Integer::sum);
        }
        assertThat(counts).allSatisfy((trigger, n) -> assertThat(n).as(trigger).isGreaterThanOrEqualTo(2));
    }

    @Test
    void goldenFolderIsNamedAfterTheTriggerOfEachMessage() throws Exception {
        for (Path p : inputs()) {
            Msh msh = Msh.read(Files.readString(p));
            assertThat(p.getParent().getFileName().toString()).as(p.toString())
                    .isEqualTo(msh.trigger().replace('^', '_'));
        }
    }

    static List<Path> inputs() throws IOException {
        try (Stream<Path> s = Files.walk(GOLDEN)) {
            return s.filter(p -> p.toString().endsWith(".hl7")).sorted().toList();
        }
    }

    static Path expectedFor(Path input) {
        String name = input.getFileName().toString();
        return input.resolveSibling(name.substring(0, name.length() - 4) + ".expected.json");
    }
}
