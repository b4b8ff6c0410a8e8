package io.caravan.mapping;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.caravan.contact.ChangeRecord;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Data-quality tolerance, golden style: each {@code golden/data-quality/*.hl7} (one tolerance each) is mapped and
 * compared with its {@code .expected.json}: the contact, the event and the warnings recorded on the inbound message.
 * {@code -Dgolden.update=true} rewrites the expected files; review the diff like code.
 */
class DataQualityTest {

    static final Path GOLDEN = Path.of("src/test/resources/golden/data-quality");

    @TestFactory
    Stream<DynamicTest> eachToleratedMessageMapsToItsExpectedContactEventAndWarnings() throws IOException {
        List<Path> inputs;
        try (Stream<Path> s = Files.list(GOLDEN)) {
            inputs = s.filter(p -> p.toString().endsWith(".hl7")).sorted().toList();
        }
        assertThat(inputs).isNotEmpty();
        return inputs.stream().map(input -> DynamicTest.dynamicTest(input.getFileName().toString(), () -> {
            String raw = Files.readString(input, StandardCharsets.UTF_8);
            ChangeRecord m = GoldenRender.map(raw);
            ObjectNode actual = GoldenRender.render(m);
            actual.set("warnings", GoldenRender.JSON.valueToTree(m.warnings()));
            Path expectedFile = GoldenMappingTest.expectedFor(input);
            if (GoldenMappingTest.UPDATE) {
                Files.writeString(expectedFile, GoldenRender.JSON.writeValueAsString(actual) + "\n");
            }
            assertThat(expectedFile).as("expected output beside " + input).exists();
            JsonNode expected = GoldenRender.JSON.readTree(expectedFile.toFile());
            assertEquals(expected, actual, () -> "mapping of " + input + " differs from " + expectedFile);
            assertThat(m.warnings()).allSatisfy(w -> assertThat(Hl7Warnings.location(w)).isNotEqualTo("other"));
        }));
    }

    @Test
    void warningsNameTheLocationAndCodeButNeverTheValue() throws Exception {
        String raw = Files.readString(GOLDEN.resolve("bad-birth-date.hl7"));
        assertThat(GoldenRender.map(raw).warnings()).containsExactly("PID-7: 102 not an HL7 date, field skipped");
        assertThat(String.join(" ", GoldenRender.map(Files.readString(GOLDEN.resolve("bad-phone.hl7"))).warnings()))
                .doesNotContain("55").doesNotContain("not a number");
    }

    @Test
    void theRecordedWarningsReadBackAsLocationAndCode() {
        assertThat(Hl7Warnings.parse("PID-7: 102 not an HL7 date, field skipped; PID-3: placeholder identifier dropped"))
                .containsExactly(new Hl7Warnings.Warning("PID-7", "102", "not an HL7 date, field skipped"),
                        new Hl7Warnings.Warning("PID-3", null, "placeholder identifier dropped"));
        assertThat(Hl7Warnings.parse(null)).isEmpty();
    }

    @Test
    void aMessageWithoutAnyPatientIdIsStillAnErrorNamingPid3() throws Exception {
        String raw = Files.readString(GOLDEN.resolve("pid4-alternate-id.hl7")).replace("DQ105^^^MERCY^PI", "");
        assertThatThrownBy(() -> GoldenRender.map(raw)).isInstanceOfSatisfying(MappingException.class, e -> {
            assertThat(e.hl7ErrorCode()).isEqualTo("101");
            assertThat(e.location()).isEqualTo("PID^1^3");
        });
    }

    @Test
    void anAdapterCanTurnTheFallbackOff() throws Exception {
        String raw = Files.readString(GOLDEN.resolve("pid2-external-id-v23.hl7"));
        Msh msh = Msh.read(raw);
        FeedMappings base = GoldenRender.CATALOG.defaultFeed();
        AdapterProfile strict = new AdapterProfile();
        strict.identity.fallback = List.of();
        FeedMappings feed = new FeedMappings("strict", strict, base.byTrigger(), base.segments(), base.valueMaps(),
                base.phoneRegion(), base.zone());
        assertThatThrownBy(() -> new Hl7Mapper().map(Hl7Parsing.parse(raw), msh, feed, feed.forTrigger(msh.trigger()),
                GoldenRender.RECEIVED)).isInstanceOf(MappingException.class);
    }

    @Test
    void aCatalogRefusesAFallbackThatIsNoHl7Field() throws Exception {
        Path adapters = Files.createTempDirectory("adapters");
        Files.writeString(adapters.resolve("odd.yaml"), """
                id: odd
                kind: hl7v2-mllp
                baa: {status: not-applicable}
                identity:
                  fallback: [PID-2, "patient id"]
                """);
        assertThatThrownBy(() -> new MappingCatalog(Path.of("mappings/hl7v2"), adapters, "US", "UTC"))
                .hasMessageContaining("identity.fallback");
    }

    @Test
    void hapiParsesVersion21IntoTheCanonicalModel() throws Exception {
        assertThat(Hl7Parsing.parse(Files.readString(GOLDEN.resolve("version-2-1.hl7"))).getName())
                .isEqualTo("ADT_A01");
    }
}
