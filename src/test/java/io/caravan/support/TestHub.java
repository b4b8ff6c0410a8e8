package io.caravan.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.springframework.test.context.DynamicPropertyRegistry;

/**
 * One hub configuration for integration tests: its data directory, MLLP port and store. The same instance always
 * registers the same properties, so test classes that use it share one Spring context.
 */
public final class TestHub {

    private static TestHub h2;
    private static TestHub postgres;
    private static final java.util.Map<String, TestHub> NAMED = new java.util.HashMap<>();

    public final Path dataDir;
    public final int mllpPort;
    public final String jdbcUrl;

    private TestHub(String jdbcUrl) {
        try {
            // under target/, not /tmp: a hub's store outlives the test JVM (its context closes at exit), and a day of
            // runs left gigabytes of them in /tmp; `mvn clean` or the clone's removal takes these
            Path parent = Files.createDirectories(Path.of("target", "it-data").toAbsolutePath());
            this.dataDir = Files.createTempDirectory(parent, "caravan-it-");
            this.mllpPort = FreePorts.next();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        this.jdbcUrl = jdbcUrl;
    }

    public static synchronized TestHub h2() {
        if (h2 == null) {
            h2 = new TestHub(null);
        }
        return h2;
    }

    /**
     * A hub of its own on H2. Spring caches a context per test class configuration, and two live contexts must not
     * share a data directory or a port.
     */
    public static synchronized TestHub named(String name) {
        return NAMED.computeIfAbsent(name, n -> new TestHub(null));
    }

    /** The PHI canary test's hub: a data directory with nothing else in it. */
    public static TestHub canary() {
        return named("canary");
    }

    /** A PostgreSQL hub of its own (own database, data directory and port), for a test class that needs its context. */
    public static synchronized TestHub namedPostgres(String name) {
        return NAMED.computeIfAbsent("pg:" + name, n -> new TestHub(PostgresSupport.newDatabase()));
    }

    public static synchronized TestHub postgres() {
        if (postgres == null) {
            postgres = new TestHub(PostgresSupport.newDatabase());
        }
        return postgres;
    }

    /** Users of each role besides admin (README "Roles"); one password for all, hashed once per test JVM. */
    public static final String USER_PASSWORD = "correct-horse-battery";
    private static final String USER_HASH = "{bcrypt}"
            + new org.springframework.security.crypto.bcrypt.BCryptPasswordEncoder(4).encode(USER_PASSWORD);
    public static final String COMPLIANCE = "carol";
    public static final String INTEGRATION = "ivan";
    public static final String OPERATOR = "olga";

    private static final java.util.concurrent.atomic.AtomicInteger CONTEXTS =
            new java.util.concurrent.atomic.AtomicInteger();

    /**
     * This hub's settings as one node of several in this JVM on {@code database}'s PostgreSQL database (a second node
     * an operator adds): its own data directory, ports and JMX domain; no Hawtio or Jolokia, since closing a context
     * with them unregisters platform MBeans (Hawtio's RBACRegistry) that a hub cached by another test class registered.
     * As {@code --key=value} arguments: default properties would lose to application.yaml.
     */
    public java.util.Map<String, Object> nodeOf(TestHub database, String jmxDomain) {
        java.util.Map<String, Object> props = new java.util.HashMap<>();
        register((name, value) -> props.put(name, value.get()));
        props.put("spring.profiles.active", "postgres");
        props.put("spring.datasource.url", database.jdbcUrl);
        props.put("spring.datasource.username", "postgres");
        props.put("spring.datasource.password", "");
        props.put("server.port", 0);
        props.put("spring.jmx.unique-names", true);
        props.put("management.endpoints.jmx.domain", jmxDomain);
        props.put("management.endpoints.web.exposure.include", "health,prometheus");
        return props;
    }

    /** {@code props} as the command-line arguments {@link #nodeOf} means them for. */
    public static String[] args(java.util.Map<String, Object> props) {
        return props.entrySet().stream().map(e -> "--" + e.getKey() + "=" + e.getValue()).toArray(String[]::new);
    }

    public void register(DynamicPropertyRegistry r) {
        String[][] users = {{COMPLIANCE, "compliance"}, {INTEGRATION, "integration"}, {OPERATOR, "operator"}};
        for (int i = 0; i < users.length; i++) {
            String[] u = users[i];
            r.add("caravan.security.users[" + i + "].name", () -> u[0]);
            r.add("caravan.security.users[" + i + "].roles", () -> u[1]);
            r.add("caravan.security.users[" + i + "].password-hash", () -> USER_HASH);
        }
        // Several hub contexts live in one test JVM: each gets a Camel name of its own. On a clash Camel renames the
        // context's JMX name after camel-quartz has registered it under the first name, and the workflow tick's job
        // then finds no context ("No CamelContext could be found with name: caravan-8") - never a journey started.
        String camelName = "caravan-" + CONTEXTS.incrementAndGet();
        r.add("camel.main.name", () -> camelName);
        // Quartz keys its JDBC connection provider by scheduler name in a JVM-wide registry: contexts sharing the
        // name "caravan" took each other's data source, and a cached context's scheduler then fired into a pool
        // closed with another context ("HikariDataSource has been closed"), its tick never reaching a journey
        r.add("spring.quartz.properties.org.quartz.scheduler.instanceName", () -> camelName);
        r.add("caravan.data-dir", dataDir::toString);
        r.add("caravan.mllp.host", () -> "127.0.0.1");
        r.add("caravan.mllp.port", () -> mllpPort);
        r.add("caravan.mllp.accepted-processing-ids", () -> "P,T");
        r.add("caravan.mllp.idle-timeout", () -> "3s");
        r.add("caravan.mllp.frame-timeout", () -> "2s");
        if (jdbcUrl != null) {
            r.add("spring.datasource.url", () -> jdbcUrl);
            r.add("spring.datasource.username", () -> param(jdbcUrl, "user", "postgres"));
            r.add("spring.datasource.password", () -> param(jdbcUrl, "password", ""));
        }
    }

    static String param(String url, String name, String otherwise) {
        int q = url.indexOf('?');
        if (q >= 0) {
            for (String kv : url.substring(q + 1).split("&")) {
                if (kv.startsWith(name + "=")) {
                    return kv.substring(name.length() + 1);
                }
            }
        }
        return otherwise;
    }

    public String adminPassword() {
        try {
            return Files.readString(dataDir.resolve("admin-password")).trim();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
