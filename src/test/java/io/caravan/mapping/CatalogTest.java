package io.caravan.mapping;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.camel.CamelContext;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.model.ModelCamelContext;
import org.apache.camel.model.RouteDefinition;
import org.apache.camel.support.PluginHelper;
import org.apache.camel.support.ResourceHelper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every declarative file in {@code routes/}, {@code mappings/} and {@code adapters/} is loaded the way the hub loads
 * it, and an unknown key, a bad path or a dangling reference fails the build.
 */
class CatalogTest {

    static final Path MAPPINGS = Path.of("mappings/hl7v2");
    static final Path ADAPTERS = Path.of("adapters");

    @Test
    void everyMappingValueMapAndAdapterFileLoads() throws IOException {
        MappingCatalog catalog = new MappingCatalog(MAPPINGS, ADAPTERS, "US", "UTC");
        assertThat(catalog.defaultFeed().byTrigger()).hasSize((int) yaml(MAPPINGS).count());
        assertThat(catalog.defaultFeed().segments()).hasSize((int) yaml(MAPPINGS.resolve("segments")).count());
        assertThat(catalog.defaultFeed().valueMaps().byName())
                .hasSize((int) yaml(MAPPINGS.resolve("value-maps")).count());
        assertThat(catalog.adapters()).hasSize((int) yaml(ADAPTERS).count());
        assertThat(catalog.adapterFeeds()).hasSize((int) catalog.adapters().stream()
                .filter(a -> "hl7v2-mllp".equals(a.kind)).count());
        assertThat(catalog.messageTypes()).containsExactlyInAnyOrder("ADT", "ORU", "SIU");
    }

    @Test
    void everyRouteFileLoadsIntoCamelWithAStableId() throws Exception {
        List<Path> routes;
        try (Stream<Path> s = yaml(Path.of("routes"))) {
            routes = s.toList();
        }
        assertThat(routes).isNotEmpty();
        try (CamelContext ctx = new DefaultCamelContext()) {
            for (Path p : routes) {
                PluginHelper.getRoutesLoader(ctx).loadRoutes(ResourceHelper.resolveResource(ctx, "file:" + p));
            }
            List<RouteDefinition> defs = ((ModelCamelContext) ctx).getRouteDefinitions();
            assertThat(defs).hasSizeGreaterThanOrEqualTo(routes.size());
            assertThat(defs).allSatisfy(d -> assertThat(d.hasCustomIdAssigned()).as("route id set").isTrue());
        }
    }

    @Test
    void theShippedConsentPolicyLoadsWithEveryRuleCited() {
        io.caravan.consent.ConsentPolicy p = io.caravan.consent.ConsentPolicy.load(Path.of("config/policies"));
        assertThat(io.caravan.consent.ConsentPolicy.RULES).allSatisfy(r -> assertThat(p.citation(r)).isNotBlank());
        assertThat(p.purposes()).contains("treatment", "payment", "operations", "marketing");
    }

    @Test
    void anUnknownKeyInARouteFileFails(@TempDir Path tmp) throws Exception {
        Path bad = tmp.resolve("bad.yaml");
        Files.writeString(bad, Files.readString(Path.of("routes/hl7-mllp-ingest.yaml"))
                .replace("    description:", "    descripton:"));
        try (CamelContext ctx = new DefaultCamelContext()) {
            assertThatThrownBy(() -> PluginHelper.getRoutesLoader(ctx)
                    .loadRoutes(ResourceHelper.resolveResource(ctx, "file:" + bad)))
                    .hasStackTraceContaining("descripton");
        }
    }

    @Test
    void anSmtpRelayNeedsTlsAPortAndPairedCredentials(@TempDir Path tmp) throws IOException {
        Path adapters = Files.createDirectories(tmp.resolve("adapters"));
        Files.writeString(adapters.resolve("bad-relay.yaml"), String.join("\n", "id: bad-relay", "kind: smtp",
                "baa:", "  status: signed", "smtp:", "  host: smtp.example.com", "  port: 70000", "  tls: none",
                "  usernameEnv: SMTP_USER", ""));
        assertThatThrownBy(() -> new MappingCatalog(MAPPINGS, adapters, "US", "UTC"))
                .isInstanceOfSatisfying(MappingCatalog.CatalogException.class, e -> assertThat(e.problems())
                        .anySatisfy(p -> assertThat(p).contains("smtp.port"))
                        .anySatisfy(p -> assertThat(p).contains("never plaintext"))
                        .anySatisfy(p -> assertThat(p).contains("go together")));
    }

    @Test
    void anUnknownKeyInAMappingFileFailsNamingTheFileAndKey(@TempDir Path tmp) throws IOException {
        Path m = copyTree(MAPPINGS, tmp.resolve("m"));
        Files.writeString(m.resolve("ADT_A01.yaml"), Files.readString(m.resolve("ADT_A01.yaml")) + "colour: blue\n");
        assertThatThrownBy(() -> new MappingCatalog(m, ADAPTERS, "US", "UTC"))
                .isInstanceOf(MappingCatalog.CatalogException.class)
                .hasMessageContaining("ADT_A01.yaml").hasMessageContaining("colour");
    }

    @Test
    void anUnknownKeyInsideARuleFails(@TempDir Path tmp) throws IOException {
        Path m = copyTree(MAPPINGS, tmp.resolve("m"));
        Path pid = m.resolve("segments/PID.yaml");
        Files.writeString(pid, Files.readString(pid).replace("as: date }", "as: date, format: yyyy }"));
        assertThatThrownBy(() -> new MappingCatalog(m, ADAPTERS, "US", "UTC"))
                .hasMessageContaining("PID.yaml").hasMessageContaining("format");
    }

    @Test
    void badPathsUnknownValueMapsAndMissingSegmentsAreAllReported(@TempDir Path tmp) throws IOException {
        Path m = copyTree(MAPPINGS, tmp.resolve("m"));
        Path a01 = m.resolve("ADT_A01.yaml");
        Files.writeString(a01, Files.readString(a01)
                .replace("visitNumber: PV1-19", "visitNumber: PV1.19")
                .replace("segments: [PID, PD1, CON]", "segments: [PID, PD1, CON, ZZZ]"));
        Path pid = m.resolve("segments/PID.yaml");
        Files.writeString(pid, Files.readString(pid).replace("map: administrative-gender", "map: sexes"));
        assertThatThrownBy(() -> new MappingCatalog(m, ADAPTERS, "US", "UTC"))
                .isInstanceOfSatisfying(MappingCatalog.CatalogException.class, e -> assertThat(e.problems())
                        .anySatisfy(p -> assertThat(p).contains("PV1.19"))
                        .anySatisfy(p -> assertThat(p).contains("no segment mapping ZZZ"))
                        .anySatisfy(p -> assertThat(p).contains("unknown value map 'sexes'")));
    }

    @Test
    void aConditionMustTestTheRulesOwnSegmentAndAFlagNeedsItsValues(@TempDir Path tmp) throws IOException {
        Path m = copyTree(MAPPINGS, tmp.resolve("m"));
        Path con = m.resolve("segments/CON.yaml");
        Files.writeString(con, Files.readString(con)
                .replace("when: { path: CON-2-1, equals: MKT }", "when: { path: PID-3, equals: MKT }")
                .replace("equals: [R, X], when: { path: CON-2-1, equals: SMS }", "equals: [], when: { path: CON-2-1, equals: SMS }"));
        assertThatThrownBy(() -> new MappingCatalog(m, ADAPTERS, "US", "UTC"))
                .isInstanceOfSatisfying(MappingCatalog.CatalogException.class, e -> assertThat(e.problems())
                        .anySatisfy(p -> assertThat(p).contains("opt-out:any:marketing")
                                .contains("same segment"))
                        .anySatisfy(p -> assertThat(p).contains("opt-out:sms:any").contains("needs 'equals'")));
    }

    @Test
    void aMappingFileMustBeNamedAfterItsTrigger(@TempDir Path tmp) throws IOException {
        Path m = copyTree(MAPPINGS, tmp.resolve("m"));
        Files.move(m.resolve("ADT_A03.yaml"), m.resolve("discharge.yaml"));
        assertThatThrownBy(() -> new MappingCatalog(m, ADAPTERS, "US", "UTC"))
                .hasMessageContaining("discharge.yaml").hasMessageContaining("ADT_A03.yaml");
    }

    @Test
    void anUnknownKeyOrBadBaaInAnAdapterFails(@TempDir Path tmp) throws IOException {
        Path a = copyTree(ADAPTERS, tmp.resolve("a"));
        Path f = a.resolve("example-epic-adt.yaml");
        Files.writeString(f, Files.readString(f).replace("status: not-applicable", "status: maybe")
                + "password: hunter2\n");
        assertThatThrownBy(() -> new MappingCatalog(MAPPINGS, a, "US", "UTC"))
                .hasMessageContaining("password");
        Files.writeString(f, Files.readString(f).replace("password: hunter2\n", ""));
        assertThatThrownBy(() -> new MappingCatalog(MAPPINGS, a, "US", "UTC"))
                .hasMessageContaining("baa.status");
    }

    @Test
    void anAdapterOverridingATriggerWithoutBaseMappingFails(@TempDir Path tmp) throws IOException {
        Path a = copyTree(ADAPTERS, tmp.resolve("a"));
        Path f = a.resolve("example-epic-adt.yaml");
        Files.writeString(f, Files.readString(f).replace("ADT^A08:", "ADT^A99:"));
        assertThatThrownBy(() -> new MappingCatalog(MAPPINGS, a, "US", "UTC"))
                .hasMessageContaining("ADT^A99");
    }

    private static Stream<Path> yaml(Path dir) throws IOException {
        return Files.list(dir).filter(Files::isRegularFile).filter(p -> p.toString().endsWith(".yaml"));
    }

    static Path copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t);
                }
            }
        }
        return to;
    }
}
