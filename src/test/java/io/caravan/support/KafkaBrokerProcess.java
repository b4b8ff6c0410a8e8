package io.caravan.support;

import java.io.File;
import java.io.IOException;
import java.net.Socket;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;

/**
 * A Kafka broker in a process of its own, started from the Kafka jars on the test class path (KRaft, one node that is
 * broker and controller, replication factor 1, formatted by Kafka's own StorageTool), so that a test can stop it and
 * start it again on the same port and log directory - a broker restart as an operator would do one - or kill it.
 */
public final class KafkaBrokerProcess implements AutoCloseable {

    public final int port;
    private final int controllerPort;
    private final Path dir;
    private final Path properties;
    private Process process;

    private KafkaBrokerProcess(Path dir) throws IOException {
        this.dir = dir;
        this.port = FreePorts.next();
        this.controllerPort = FreePorts.next();
        this.properties = dir.resolve("server.properties");
        Files.writeString(properties, String.join("\n", "process.roles=broker,controller", "node.id=1",
                "controller.quorum.voters=1@127.0.0.1:" + controllerPort,
                "listeners=PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort,
                "advertised.listeners=PLAINTEXT://127.0.0.1:" + port, "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "log.dirs=" + dir.resolve("logs"), "num.partitions=3", "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1", "transaction.state.log.min.isr=1",
                "group.initial.rebalance.delay.ms=0", "auto.create.topics.enable=true", ""));
    }

    /** Formats a new log directory under {@code dir} and starts the broker; returns once it takes connections. */
    public static KafkaBrokerProcess start(Path dir) throws Exception {
        Files.createDirectories(dir);
        KafkaBrokerProcess broker = new KafkaBrokerProcess(dir);
        Process format = new ProcessBuilder(java(), "-cp", classpath(), "kafka.tools.StorageTool", "format", "-t",
                org.apache.kafka.common.Uuid.randomUuid().toString(), "-c", broker.properties.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("format.log").toFile()).start();
        if (!format.waitFor(60, TimeUnit.SECONDS) || format.exitValue() != 0) {
            throw new IllegalStateException("kafka-storage format failed: " + Files.readString(
                    dir.resolve("format.log")));
        }
        broker.start();
        return broker;
    }

    /** {@code host:port} for {@code bootstrap.servers}. */
    public String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    /** Where the broker's output goes (appended across restarts). */
    public Path log() {
        return dir.resolve("broker.log");
    }

    /** Starts the broker on its port and log directory (after {@link #stop()} or {@link #kill()}). */
    public synchronized void start() throws Exception {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException("the broker is running");
        }
        // the hubs' start-up flags: a restart mid-test on a loaded machine is otherwise a minute of JIT compiling
        process = new ProcessBuilder(java(), "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp",
                classpath(), "kafka.Kafka", properties.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log().toFile())).start();
        // on a loaded 2-core machine (three hub JVMs of a cluster test beside it) a KRaft start took 100 s
        long until = System.currentTimeMillis() + 180_000;
        while (System.currentTimeMillis() < until) {
            if (!process.isAlive()) {
                throw new IllegalStateException("broker exited with " + process.exitValue() + ": see " + log());
            }
            try (Socket s = new Socket("127.0.0.1", port)) {
                return;
            } catch (IOException notYet) {
                Thread.sleep(250);
            }
        }
        // not left running behind a failed test class
        process.destroyForcibly();
        throw new IllegalStateException("broker did not start: see " + log());
    }

    /** SIGTERM, as a service manager stops it: the broker shuts down in order (a restart is stop, then start). */
    public synchronized void stop() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor();
            }
        }
    }

    /** SIGKILL: the broker dies without a word to its clients. */
    public synchronized void kill() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            process.waitFor();
        }
    }

    /** Stop, then start on the same port and log directory: what the broker held is still there. */
    public void restart() throws Exception {
        stop();
        start();
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** This JVM's class path, also when the test runner hands it over in a manifest-only jar. */
    public static String classpath() throws Exception {
        String cp = System.getProperty("java.class.path");
        String[] parts = cp.split(File.pathSeparator);
        if (parts.length == 1 && parts[0].endsWith(".jar")) {
            try (JarFile jar = new JarFile(parts[0])) {
                String manifest = jar.getManifest().getMainAttributes().getValue("Class-Path");
                if (manifest != null) {
                    List<String> files = new ArrayList<>();
                    for (String u : manifest.trim().split("\\s+")) {
                        files.add(Path.of(new URL(new URL("file:" + parts[0]), u).toURI()).toString());
                    }
                    return String.join(File.pathSeparator, files);
                }
            }
        }
        return cp;
    }
}
