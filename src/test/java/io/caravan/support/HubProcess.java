package io.caravan.support;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/** The packaged hub run as its own process, so a test can kill it with SIGKILL and start it again. */
public final class HubProcess implements AutoCloseable {

    public static final String PASSWORD = "kill-nine-test-password";

    private final Path dataDir;
    private final List<String> extraArgs;
    private final Path log;
    public final int httpPort;
    public final int mllpPort;
    private final String jdbcUrl;
    private Process process;
    private Path extraClasses;
    private final List<String> jvmOptions = new ArrayList<>();
    private final HttpClient http = HttpClient.newHttpClient();

    public HubProcess(Path dataDir, String jdbcUrl, String... extraArgs) throws IOException {
        this.dataDir = dataDir;
        this.jdbcUrl = jdbcUrl;
        this.extraArgs = List.of(extraArgs);
        this.httpPort = freePort();
        this.mllpPort = freePort();
        this.log = dataDir.resolveSibling(dataDir.getFileName() + ".log");
    }

    static int freePort() throws IOException {
        return FreePorts.next();
    }

    /**
     * Data directories {@code <dir>/<name>} for the nodes of one cluster, each holding the same master key (the nodes
     * read each other's sealed rows); created, in the order of {@code names}.
     */
    public static List<Path> nodeDirs(Path dir, String masterKey, String... names) throws IOException {
        List<Path> out = new ArrayList<>();
        for (String n : names) {
            Path data = Files.createDirectories(dir.resolve(n));
            Files.writeString(data.resolve("master-key"), masterKey + "\n");
            out.add(data);
        }
        return out;
    }

    /** What an operator would call an error in a node's log: ERROR lines, exceptions, stack frames. */
    public static List<String> errorLines(Path log) throws IOException {
        return Files.readAllLines(log).stream()
                .filter(l -> l.contains(" ERROR ") || l.contains("Exception") || l.startsWith("\tat "))
                .toList();
    }

    /** The runnable jar as the distribution ships it (pom: {@code target/layout}, Spring Boot's extracted layout). */
    static Path jar() {
        Path jar = Path.of("target", "layout", "caravan.jar").toAbsolutePath();
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("run 'mvn verify': " + jar + " is missing");
        }
        return jar;
    }

    /**
     * The class-data sharing archive the build made beside the jar for this JVM (pom: {@code cds-archive}), when there
     * is one: a JVM that cannot use it (another Java's, an older layout's) says so in one warning and starts without.
     */
    static List<String> classDataSharing() {
        Path archive = jar().resolveSibling("caravan.jsa");
        return Files.isRegularFile(archive) ? List.of("-XX:SharedArchiveFile=" + archive) : List.of();
    }

    /**
     * Adds a directory of classes to the packaged hub's class path: a test-only bean, named with
     * {@code --spring.main.sources=...}.
     */
    public HubProcess withClassPath(Path classes) {
        this.extraClasses = classes;
        return this;
    }

    /**
     * JVM options after the defaults (a later {@code -Xmx} wins), e.g. {@code -Xmx256m -XX:ActiveProcessorCount=1}
     * for a node of several on one machine.
     */
    public HubProcess withJvmOptions(String... options) {
        jvmOptions.addAll(List.of(options));
        return this;
    }

    public void start() throws Exception {
        // the extra classes after the jar: the archive's classes (the jar's) stay a prefix of the class path
        List<String> launch = extraClasses == null ? List.of("-jar", jar().toString())
                : List.of("-cp", jar() + java.io.File.pathSeparator + extraClasses.toAbsolutePath(),
                        "io.caravan.CaravanApplication");
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
        cmd.addAll(classDataSharing());
        cmd.addAll(jvmOptions);
        cmd.addAll(launch);
        cmd.addAll(List.of(
                "--caravan.data-dir=" + dataDir, "--server.port=" + httpPort,
                "--caravan.mllp.host=127.0.0.1", "--caravan.mllp.port=" + mllpPort));
        if (jdbcUrl != null) {
            cmd.add("--spring.profiles.active=postgres");
            cmd.add("--spring.datasource.url=" + jdbcUrl);
            cmd.add("--spring.datasource.username=" + TestHub.param(jdbcUrl, "user", "postgres"));
            cmd.add("--spring.datasource.password=" + TestHub.param(jdbcUrl, "password", ""));
        }
        cmd.addAll(extraArgs);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().put("CARAVAN_ADMIN_PASSWORD", PASSWORD);
        process = pb.start();
        long deadline = System.currentTimeMillis() + 240_000; // a loaded 2-core machine: a start can take minutes
        while (System.currentTimeMillis() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("hub exited with " + process.exitValue() + "; see " + log);
            }
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + httpPort + "/actuator/health")).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // still starting
            }
            Thread.sleep(250);
        }
        throw new IllegalStateException("hub did not become healthy; see " + log);
    }

    /** SIGKILL: no shutdown hooks, no flush. */
    public void kill9() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    /**
     * SIGTERM ({@link Process#destroy()}), as a service manager stops the hub: its exit code, or -1 when it was still
     * running after {@code limit} (then it is killed).
     */
    public int terminate(Duration limit) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(limit.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            process.waitFor();
            return -1;
        }
        return process.exitValue();
    }

    /** The process id, e.g. for a thread dump ({@code jcmd <pid> Thread.print}) when a test fails. */
    public long pid() {
        return process.pid();
    }

    /** Whether the process runs (false once killed, halted or stopped). */
    public boolean isAlive() {
        return process != null && process.isAlive();
    }

    /** Waits for the process to end by itself (a halt); its exit code, or -1 when it still runs after {@code limit}. */
    public int awaitExit(Duration limit) throws InterruptedException {
        if (!process.waitFor(limit.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
            return -1;
        }
        return process.exitValue();
    }

    /** Everything the hub printed (both starts), for assertions on what an operator would read. */
    public Path log() {
        return log;
    }

    public String get(String pathAndQuery) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + httpPort + pathAndQuery))
                .header("Authorization", "Basic " + Base64.getEncoder().encodeToString(
                        ("admin:" + PASSWORD).getBytes(StandardCharsets.UTF_8)))
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException(pathAndQuery + " -> " + r.statusCode());
        }
        return r.body();
    }

    /** POSTs a JSON body as admin; returns the status and body. */
    public HttpResponse<String> post(String path, String json) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
                .header("Authorization", "Basic " + Base64.getEncoder().encodeToString(
                        ("admin:" + PASSWORD).getBytes(StandardCharsets.UTF_8)))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json))
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }
}
