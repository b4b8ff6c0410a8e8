package io.caravan.mapping;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.caravan.contact.SourceMessage;
import io.caravan.ingest.fhir.FhirSource;
import io.caravan.mapping.fhir.FhirMappings;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * FHIR golden pairs: every {@code golden/fhir/<ResourceType>/*.json} is read by the {@code fhir} source with the
 * example adapter ({@code adapters/example-epic-fhir.yaml}) and compared with its {@code .expected.json} - the same
 * rendering of the change record the HL7 v2 golden pairs use. Discovered by scanning; {@code -Dgolden.update=true}
 * (re)writes the expected files, to be reviewed like code.
 */
class FhirGoldenMappingTest {

    static final Path GOLDEN = Path.of("src/test/resources/golden/fhir");
    static final String ADAPTER = "example-epic-fhir";
    static final FhirMappings MAPPINGS = new FhirMappings(Path.of("mappings/fhir"), "US");
    static final FhirSource SOURCE = new FhirSource(MAPPINGS, GoldenRender.CATALOG);

    static ObjectNode render(Path input) throws IOException {
        IBaseResource r = FhirSource.jsonParser().parseResource(Files.readString(input, StandardCharsets.UTF_8));
        SourceMessage read = SOURCE.read(ADAPTER, r, GoldenRender.RECEIVED);
        if (read.change() != null) {
            ObjectNode out = GoldenRender.render(read.change());
            out.set("warnings", GoldenRender.JSON.valueToTree(read.change().warnings()));
            out.put("dedupe", read.dedupeText());
            return out;
        }
        ObjectNode out = GoldenRender.JSON.createObjectNode();
        out.put("outcome", read.failure() != null ? "failed:" + read.failure().errorCode() : "ignored");
        return out;
    }

    @TestFactory
    Stream<DynamicTest> eachGoldenResourceMapsToItsExpectedContactAndEvent() throws IOException {
        return inputs().stream().map(input -> DynamicTest.dynamicTest(GOLDEN.relativize(input).toString(), () -> {
            JsonNode actual = render(input);
            Path expectedFile = Path.of(input.toString().replace(".json", ".expected.json"));
            if (Boolean.getBoolean("golden.update")) {
                Files.writeString(expectedFile, GoldenRender.JSON.writeValueAsString(actual) + "\n");
            }
            assertThat(expectedFile).as("expected output beside " + input).exists();
            assertEquals(GoldenRender.JSON.readTree(expectedFile.toFile()), actual,
                    () -> "mapping of " + input + " differs from " + expectedFile);
        }));
    }

    @Test
    void everyMappedResourceTypeHasAtLeastTwoGoldenResources() throws IOException {
        Map<String, Integer> counts = new TreeMap<>();
        MAPPINGS.resourceTypes().forEach(t -> counts.put(t, 0));
        for (Path p : inputs()) {
            counts.merge(p.getParent().getFileName().toString(), 1, Integer::sum);
        }
        assertThat(counts).isNotEmpty().allSatisfy((type, n) -> assertThat(n).as(type).isGreaterThanOrEqualTo(2));
    }

    static List<Path> inputs() throws IOException {
        try (Stream<Path> s = Files.walk(GOLDEN)) {
            return s.filter(p -> p.toString().endsWith(".json") && !p.toString().endsWith(".expected.json"))
                    .sorted().toList();
        }
    }
}
