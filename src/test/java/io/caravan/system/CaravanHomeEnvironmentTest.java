package io.caravan.system;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringApplication;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;

/** Every loader's location setting, as the hub's environment hands it to the loader. */
class CaravanHomeEnvironmentTest {

    static StandardEnvironment after(Map<String, Object> settings) {
        StandardEnvironment env = new StandardEnvironment();
        env.getPropertySources().addLast(new MapPropertySource("settings", settings));
        new CaravanHomeEnvironment().postProcessEnvironment(env, new SpringApplication());
        return env;
    }

    @Test
    void inAnotherHomeEveryLoaderReadsTheHomeOverTheShippedFiles(@TempDir Path tmp) throws Exception {
        Files.createDirectories(tmp.resolve("mappings/hl7v2"));
        Files.writeString(tmp.resolve("mappings/hl7v2/ADT_A04.yaml"), "# this site's A04\n");

        StandardEnvironment env = after(Map.of("caravan.home", tmp.toString(), "caravan.data-dir", "./data",
                "camel.main.routes-include-pattern", "file:routes/*.yaml"));

        Path merged = tmp.resolve("data/home-merged");
        assertThat(env.getProperty("caravan.data-dir")).isEqualTo(tmp.resolve("data").toString());
        CaravanHomeEnvironment.LOCATIONS.forEach((key, dir) -> {
            if (!key.equals("caravan.mapping.adapters-dir")) {
                assertThat(env.getProperty(key)).as(key).isEqualTo(merged.resolve(dir).toString());
            }
        });
        // adapters are the site's own: none ship in the jar, so the home's folder is read as it is
        assertThat(env.getProperty("caravan.mapping.adapters-dir")).isEqualTo(tmp.resolve("adapters").toString());
        assertThat(Path.of(env.getProperty("caravan.mapping.hl7v2-dir")).resolve("ADT_A04.yaml"))
                .hasContent("# this site's A04");
        assertThat(env.getProperty("camel.main.routes-include-pattern"))
                .isEqualTo("file:" + merged.resolve("routes") + "/*.yaml");
    }

    @Test
    void inTheSourceCheckoutNothingButTheHomeIsSet(@TempDir Path tmp) {
        StandardEnvironment env = after(Map.of("caravan.data-dir", tmp.resolve("data").toString(),
                "caravan.workflow.dir", "config/workflows", "camel.main.routes-include-pattern", "file:routes/*.yaml"));

        assertThat(env.getPropertySources().get("caravanHome").getSource())
                .isEqualTo(Map.of("caravan.home", Path.of("").toAbsolutePath().toString()));
        assertThat(env.getProperty("caravan.workflow.dir")).isEqualTo("config/workflows");
    }
}
