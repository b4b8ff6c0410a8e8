package io.caravan.system;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.support.FreePorts;
import io.caravan.support.Hl7Messages;
import io.caravan.support.MllpTestClient;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The distribution archive as an operator meets it (README "Deploy"): unpacked into an empty directory and started
 * with the two documented commands, from another working directory, configured by the home's
 * {@code config/application.yaml} and by environment variables (a nested key: {@code CARAVAN_MLLP_PORT}).
 */
class DistributionIT {

    static final String PASSWORD = "distribution-test-password";

    @Test
    void unpackedArchiveStartsTakesAnA04AndStopsCleanly(@TempDir Path tmp) throws Exception {
        Path installDir = Files.createDirectories(tmp.resolve("opt"));
        Path elsewhere = Files.createDirectories(tmp.resolve("cwd"));
        Path bin = unpack(installDir);
        int http = FreePorts.next();
        int mllp = FreePorts.next();
        Path log = tmp.resolve("hub.log");
        // the site's config/application.yaml of the home (not the working directory) sets the HTTP port
        Files.writeString(bin.getParent().resolveSibling("config/application.yaml"),
                "server:\n  port: " + http + "\n", java.nio.file.StandardOpenOption.APPEND);
        ProcessBuilder pb = new ProcessBuilder("sh", bin.toString()).directory(elsewhere.toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        env(pb.environment(), Map.of("CARAVAN_MLLP_PORT", String.valueOf(mllp), "CARAVAN_MLLP_HOST", "127.0.0.1"));
        Process hub = pb.start();
        try {
            awaitHealthy(hub, http, log);
            try (MllpTestClient c = new MllpTestClient(mllp)) {
                String ctl = Hl7Messages.controlId();
                String ack = c.exchange(Hl7Messages.a04(ctl, "DIST-" + ctl, "Tar", "Ball", "d@example.org"), 30_000);
                assertThat(MllpTestClient.msa1(ack)).as("A04 ACK from the unpacked hub").isEqualTo("AA");
            }
            Path home = bin.getParent().getParent();
            assertThat(home.resolve("data/db")).as("the data directory defaults to <home>/data").isDirectory();
            assertThat(elsewhere).as("nothing written to the working directory").isEmptyDirectory();
            hub.destroy();
            assertThat(hub.waitFor(60, TimeUnit.SECONDS)).as("stopped within 60 s of SIGTERM").isTrue();
            assertThat(hub.exitValue()).as("exit code after SIGTERM").isZero();
            assertThat(Files.readString(log)).doesNotContain(" ERROR ").doesNotContain("Exception");
        } finally {
            hub.destroyForcibly();
        }
    }

    /**
     * README "Deploy", "A faster start": the archive made by the documented commands - made again, as after an upgrade,
     * over one this Java cannot use - is what the next start loads its classes from. The starts stop after loading
     * (the context refresh): the classes are all loaded by then. Moved under a path with a space (where Java 17 does
     * not use it), the archive must not keep the hub from starting.
     */
    @Test
    void classDataSharingArchiveMadeAsDocumentedIsUsedByTheNextStart(@TempDir Path tmp) throws Exception {
        Path bin = unpack(Files.createDirectories(tmp.resolve("opt")));
        Path dist = bin.getParent().getParent();
        Map<String, String> ports = Map.of("SERVER_PORT", String.valueOf(FreePorts.next()), "CARAVAN_MLLP_PORT",
                String.valueOf(FreePorts.next()), "CARAVAN_MLLP_HOST", "127.0.0.1");
        // an earlier Java's archive, read-only as the JVM writes one
        Path archive = Files.writeString(dist.resolve("lib/caravan.jsa"), "an archive this Java cannot read");
        assertThat(archive.toFile().setReadOnly()).isTrue();
        Map<String, String> training = new java.util.HashMap<>(ports);
        training.put("CARAVAN_HOME", Files.createTempDirectory(tmp, "throwaway-home").toString());
        String out = startUntilLoaded(dist, tmp.resolve("train.log"), training,
                "-XX:ArchiveClassesAtExit=lib/caravan.jsa -Dspring.context.exit=onRefresh");
        assertThat(Files.size(archive)).as("the archive made again; output:%n%s", out).isGreaterThan(1_000_000);
        assertThat(dist.resolve("data")).as("the making touched no store of the site's").doesNotExist();

        Path loaded = tmp.resolve("class-load.txt");
        String log = startUntilLoaded(dist, tmp.resolve("hub.log"), ports,
                "-Dspring.context.exit=onRefresh -Xlog:class+load=info:file=" + loaded);
        List<String> lines = Files.readAllLines(loaded);
        long shared = lines.stream().filter(l -> l.contains("source: shared objects file (top)")).count();
        assertThat(shared).as("classes loaded from the archive, of %s", lines.size()).isGreaterThan(lines.size() / 2);
        assertThat(log).doesNotContain("[warning]").doesNotContain(" ERROR ").doesNotContain("Exception");

        Path moved = Files.move(dist, Files.createDirectories(tmp.resolve("with space")).resolve(dist.getFileName()));
        assertThat(moved.resolve("lib/caravan.jsa")).isRegularFile();
        assertThat(startUntilLoaded(moved, tmp.resolve("moved.log"), ports, "-Dspring.context.exit=onRefresh"))
                .doesNotContain(" ERROR ").doesNotContain("Exception");
    }

    /** {@code cd <dist>; JAVA_OPTS="… options" bin/caravan}, for a start that ends by itself (exit code 0): its output. */
    static String startUntilLoaded(Path dist, Path log, Map<String, String> settings, String options)
            throws Exception {
        ProcessBuilder pb = new ProcessBuilder("sh", "bin/caravan").directory(dist.toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        env(pb.environment(), settings);
        pb.environment().merge("JAVA_OPTS", options, (a, b) -> a + " " + b);
        Process p = pb.start();
        try {
            assertThat(p.waitFor(180, TimeUnit.SECONDS)).as("the start ends by itself").isTrue();
            String out = Files.readString(log);
            assertThat(p.exitValue()).as("exit code; output:%n%s", out).isZero();
            return out;
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void startWithoutAHomeExplainsItselfInOneLine(@TempDir Path tmp) throws Exception {
        Path bin = unpack(Files.createDirectories(tmp.resolve("opt")));
        Path missing = tmp.resolve("no-such-home");
        ProcessBuilder pb = new ProcessBuilder("sh", bin.toString()).directory(tmp.toFile())
                .redirectErrorStream(true);
        env(pb.environment(), Map.of("CARAVAN_HOME", missing.toString()));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("exit code; output: %s", out).isEqualTo(2);
        List<String> lines = out.lines().filter(l -> !l.isBlank()).toList();
        assertThat(lines).as("what the operator sees").hasSize(1);
        assertThat(lines.get(0)).contains(missing.toString()).contains("CARAVAN_HOME").doesNotContain("Exception");
    }

    /** {@code tar xzf target/caravan-<v>-dist.tar.gz}: the path of its bin/caravan. */
    static Path unpack(Path into) throws Exception {
        Path archive;
        try (Stream<Path> s = Files.list(Path.of("target"))) {
            archive = s.filter(p -> p.getFileName().toString().matches("caravan-.*-dist\\.tar\\.gz")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("run 'mvn package': the archive is missing"));
        }
        Process tar = new ProcessBuilder("tar", "xzf", archive.toAbsolutePath().toString()).directory(into.toFile())
                .inheritIO().start();
        assertThat(tar.waitFor()).isZero();
        try (Stream<Path> s = Files.list(into)) {
            Path dist = s.findFirst().orElseThrow();
            assertThat(dist.resolve("lib/caravan.jar")).isRegularFile();
            // Spring Boot's extracted layout, not the fat jar: the libraries beside the jar that names them
            try (Stream<Path> libs = Files.list(dist.resolve("lib/dependencies"))) {
                assertThat(libs.map(p -> p.getFileName().toString()))
                        .anyMatch(n -> n.startsWith("spring-boot-3.")).anyMatch(n -> n.startsWith("camel-core-"));
            }
            try (java.util.jar.JarFile jar = new java.util.jar.JarFile(dist.resolve("lib/caravan.jar").toFile())) {
                assertThat(jar.getManifest().getMainAttributes().getValue("Class-Path"))
                        .contains("dependencies/spring-boot-3.");
                assertThat(jar.getEntry("BOOT-INF/")).as("no nested jars").isNull();
            }
            assertThat(dist.resolve("bin/caravan")).isExecutable();
            return dist.resolve("bin/caravan");
        }
    }

    /** Settings by environment only; this test JVM's java, and none of the caller's CARAVAN_* variables. */
    static void env(Map<String, String> env, Map<String, String> settings) {
        env.keySet().removeIf(k -> k.startsWith("CARAVAN_") || k.startsWith("SPRING_") || k.equals("JAVA_OPTS"));
        env.put("JAVA_HOME", System.getProperty("java.home"));
        env.put("JAVA_OPTS", "-Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1");
        env.put("CARAVAN_ADMIN_PASSWORD", PASSWORD);
        env.putAll(settings);
    }

    static void awaitHealthy(Process hub, int port, Path log) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.currentTimeMillis() + 120_000;
        while (System.currentTimeMillis() < deadline) {
            if (!hub.isAlive()) {
                throw new IllegalStateException("hub exited with " + hub.exitValue() + ":\n" + Files.readString(log));
            }
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + port + "/actuator/health")).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200 && r.body().contains("UP")) {
                    return;
                }
            } catch (IOException notYet) {
                // still starting
            }
            Thread.sleep(250);
        }
        throw new IllegalStateException("hub did not become healthy:\n" + Files.readString(log));
    }
}
