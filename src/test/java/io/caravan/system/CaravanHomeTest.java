package io.caravan.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The home over the shipped defaults, as each loader sees it through its location setting. */
class CaravanHomeTest {

    final ClassLoader loader = getClass().getClassLoader();

    @Test
    void anEmptyHomeReadsEveryShippedFile(@TempDir Path tmp) throws Exception {
        CaravanHome home = CaravanHome.open(tmp.toString(), null, loader);

        Path hl7 = home.dir("mappings/hl7v2");

        assertThat(hl7).startsWith(tmp.resolve("data"));
        for (String f : new String[] {"ADT_A04.yaml", "ORU_R01.yaml"}) {
            assertThat(hl7.resolve(f)).hasSameTextualContentAs(Path.of("mappings/hl7v2").resolve(f));
        }
        assertThat(hl7.resolve("value-maps")).isDirectory();
        assertThat(home.dir("config/templates/email")).isDirectoryContaining(p -> Files.isDirectory(p));
        assertThat(home.dataDir()).isEqualTo(tmp.resolve("data")).isDirectory();
    }

    @Test
    void aFileInTheHomeOverridesTheShippedOneAndNewFilesAreAdded(@TempDir Path tmp) throws Exception {
        Path mine = Files.createDirectories(tmp.resolve("config/workflows"));
        Files.writeString(mine.resolve("appointment-reminder.yaml"), "# this site's own\n");
        Files.writeString(mine.resolve("flu-shot.yaml"), "# added by this site\n");

        Path workflows = CaravanHome.open(tmp.toString(), null, loader).dir("config/workflows");

        assertThat(workflows.resolve("appointment-reminder.yaml")).hasContent("# this site's own");
        assertThat(workflows.resolve("flu-shot.yaml")).hasContent("# added by this site");
        assertThat(workflows.resolve("diabetes-education.yaml"))
                .hasSameTextualContentAs(Path.of("config/workflows/diabetes-education.yaml"));
    }

    @Test
    void aRemovedOverrideBringsTheShippedFileBackAtTheNextStart(@TempDir Path tmp) throws Exception {
        Path mine = Files.createDirectories(tmp.resolve("config/workflows"));
        Files.writeString(mine.resolve("appointment-reminder.yaml"), "# this site's own\n");
        CaravanHome.open(tmp.toString(), null, loader).dir("config/workflows");
        Files.delete(mine.resolve("appointment-reminder.yaml"));

        Path workflows = CaravanHome.open(tmp.toString(), null, loader).dir("config/workflows");

        assertThat(workflows.resolve("appointment-reminder.yaml"))
                .hasSameTextualContentAs(Path.of("config/workflows/appointment-reminder.yaml"));
    }

    @Test
    void theSourceCheckoutReadsItsOwnFilesAsBefore(@TempDir Path tmp) {
        CaravanHome home = CaravanHome.open(null, tmp.resolve("data").toString(), loader);

        assertThat(home.dir("mappings/hl7v2")).isEqualTo(Path.of("mappings/hl7v2"));
        assertThat(home.dir("config/policies")).isEqualTo(Path.of("config/policies"));
        assertThat(tmp.resolve("data/home-merged")).doesNotExist();
    }

    @Test
    void anAbsoluteLocationIsUsedAsItIs(@TempDir Path tmp) {
        Path own = tmp.resolve("my-adapters");

        assertThat(CaravanHome.open(tmp.toString(), null, loader).dir(own.toString())).isEqualTo(own);
    }

    @Test
    void relativeRoutePatternsReadTheHomeOverTheShippedRoutes(@TempDir Path tmp) {
        CaravanHome home = CaravanHome.open(tmp.toString(), null, loader);

        String pattern = CaravanHomeEnvironment.routes("file:routes/*.yaml,classpath:extra/*.yaml", home);

        assertThat(pattern).isEqualTo("file:" + tmp.resolve("data/home-merged/routes") + "/*.yaml,classpath:extra/*.yaml");
        assertThat(tmp.resolve("data/home-merged/routes/hl7v2-intake.yaml")).isRegularFile();
    }

    @Test
    void aHomeThatIsNotADirectoryIsExplainedInOneLine(@TempDir Path tmp) {
        Path missing = tmp.resolve("nowhere");

        assertThatThrownBy(() -> CaravanHome.open(missing.toString(), null, loader))
                .isInstanceOf(CaravanHome.NoHome.class)
                .hasMessageContaining(missing.toString()).hasMessageContaining("CARAVAN_HOME")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    @Test
    void aDataDirectoryThatCannotBeCreatedIsExplainedInOneLine(@TempDir Path tmp) throws Exception {
        Path blocker = Files.writeString(tmp.resolve("a-file"), "x");

        assertThatThrownBy(() -> CaravanHome.open(tmp.toString(), blocker.resolve("data").toString(), loader))
                .isInstanceOf(CaravanHome.NoHome.class)
                .hasMessageContaining(blocker.resolve("data").toString()).hasMessageContaining("CARAVAN_DATA_DIR")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }
}
