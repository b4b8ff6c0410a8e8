package io.caravan.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A real PostgreSQL for the {@code postgres}-profile tests: the server named by {@code CARAVAN_TEST_PG_URL} when set
 * (a JDBC URL of a superuser connection), else a private throwaway cluster started from the machine's PostgreSQL
 * binaries (Debian package {@code postgresql}; {@code .ci/run} installs it). Each test class gets its own database.
 */
public final class PostgresSupport {

    private static String adminUrl;
    /** The private cluster's binaries and data directory (null when the server is CARAVAN_TEST_PG_URL's). */
    private static Path privateBin;
    private static Path privateData;
    private static boolean privateAsPostgres;
    private static String privateOptions;
    private static final AtomicInteger DBS = new AtomicInteger();

    private PostgresSupport() {
    }

    /** A new, empty database; returns its JDBC URL (user and password in the URL). */
    public static synchronized String newDatabase() {
        String base = adminUrl();
        String name = "caravan_test_" + ProcessHandle.current().pid() + "_" + DBS.incrementAndGet();
        try (Connection c = DriverManager.getConnection(base); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create test database on " + base, e);
        }
        int q = base.indexOf('?');
        String server = base.substring(0, base.lastIndexOf('/', q < 0 ? base.length() : q) + 1);
        return server + name + (q < 0 ? "" : base.substring(q));
    }

    private static String adminUrl() {
        if (adminUrl == null) {
            String env = System.getenv("CARAVAN_TEST_PG_URL");
            adminUrl = env != null && !env.isBlank() ? env : startPrivateCluster();
        }
        return adminUrl;
    }

    private static String startPrivateCluster() {
        try {
            Path bin = findBin();
            Path dir = Files.createTempDirectory("caravan-pg-");
            Path data = dir.resolve("data");
            int port;
            port = FreePorts.next();
            boolean root = "root".equals(System.getProperty("user.name"));
            if (root) {
                run(List.of("chown", "-R", "postgres:postgres", dir.toString()), false);
            }
            run(List.of(bin.resolve("initdb").toString(), "-D", data.toString(), "-A", "trust", "-U", "postgres",
                    "--no-sync", "-E", "UTF8"), root);
            // fsync off: these tests kill the hub, never PostgreSQL; the benchmark uses a durable server
            String options = "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c fsync=off"
                    + " -c max_connections=200";
            run(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-l", dir.resolve("log").toString(),
                    "-w", "-o", options, "start"), root);
            privateOptions = options;
            privateBin = bin;
            privateData = data;
            privateAsPostgres = root;
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    awaitSpringShutdownHook();
                    run(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "immediate", "stop"),
                            root);
                    // a database per test class is thousands of files: deleted here, they held the JVM's exit past
                    // failsafe's 30 s under load; rm goes on once the JVM is gone
                    new ProcessBuilder("rm", "-rf", dir.toString()).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                            .redirectError(ProcessBuilder.Redirect.DISCARD).start();
                } catch (Exception ignored) {
                    // best effort at exit
                }
            }, "caravan-test-postgres-stop"));
            return "jdbc:postgresql://127.0.0.1:" + port + "/postgres?user=postgres";
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException("cannot start a private PostgreSQL cluster", e);
        }
    }

    /**
     * Restarts the private cluster as an operator would ({@code pg_ctl restart -m fast}: open connections are cut,
     * the server comes back on the same port with the same data) and returns once it takes connections again. Only for
     * the private cluster: a server named by {@code CARAVAN_TEST_PG_URL} is not the test's to restart.
     */
    public static synchronized boolean restartPrivateCluster() {
        adminUrl();
        if (privateData == null) {
            return false;
        }
        try {
            // -l as at the first start: without it the server inherits pg_ctl's output, and reading that never ends
            run(List.of(privateBin.resolve("pg_ctl").toString(), "-D", privateData.toString(), "-l",
                    privateData.resolveSibling("log").toString(), "-m", "fast", "-w", "restart"), privateAsPostgres);
            return true;
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException("cannot restart the private PostgreSQL cluster", e);
        }
    }

    /**
     * Stops the private cluster ({@code pg_ctl stop -m fast}) or starts it again on the same port with the same data;
     * false when the server is not the test's ({@code CARAVAN_TEST_PG_URL}).
     */
    public static synchronized boolean stopOrStartPrivateCluster(boolean start) {
        adminUrl();
        if (privateData == null) {
            return false;
        }
        try {
            List<String> cmd = new ArrayList<>(List.of(privateBin.resolve("pg_ctl").toString(), "-D",
                    privateData.toString(), "-l", privateData.resolveSibling("log").toString(), "-w"));
            cmd.addAll(start ? List.of("-o", privateOptions, "start") : List.of("-m", "fast", "stop"));
            run(cmd, privateAsPostgres);
            return true;
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException("cannot stop or start the private PostgreSQL cluster", e);
        }
    }

    /** The one number a {@code SELECT COUNT(...)} (or another single-value query) returns on {@code url}. */
    public static long count(String url, String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement();
                java.sql.ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static Path findBin() throws IOException {
        Path root = Path.of("/usr/lib/postgresql");
        if (Files.isDirectory(root)) {
            try (Stream<Path> s = Files.list(root)) {
                for (Path v : s.sorted(Comparator.reverseOrder()).toList()) {
                    if (Files.isExecutable(v.resolve("bin/initdb"))) {
                        return v.resolve("bin");
                    }
                }
            }
        }
        throw new IllegalStateException("PostgreSQL binaries not found: install the Debian package 'postgresql' "
                + "or set CARAVAN_TEST_PG_URL");
    }

    /**
     * Lets Spring Boot's shutdown hook, when this JVM ran an application, close its contexts before the server stops:
     * a context still open on a stopped server waits out the pool's connection timeout in its workers' stops (a test
     * fork's exit took 30 s more). Every shutdown hook starts at once, so that hook's thread is looked for a moment; a
     * JVM without an application (the cluster tests') has none. Bounded below failsafe's 30 s, after which it kills
     * the fork and the server would be left running.
     */
    private static void awaitSpringShutdownHook() throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500);
        while (System.nanoTime() < until) {
            for (Thread t : Thread.getAllStackTraces().keySet()) {
                if ("SpringApplicationShutdownHook".equals(t.getName())) {
                    t.join(20_000);
                    return;
                }
            }
            Thread.sleep(20);
        }
    }

    private static void run(List<String> cmd, boolean asPostgres) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>();
        if (asPostgres) {
            full.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        full.addAll(cmd);
        Process p = new ProcessBuilder(full).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("command failed: " + String.join(" ", full) + "\n" + out);
        }
    }
}
