package io.caravan.system;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.springframework.boot.SpringApplication;
import org.springframework.core.io.Resource;
import org.springframework.core.io.support.PathMatchingResourcePatternResolver;

/**
 * The hub's home: the directory whose {@code routes/}, {@code mappings/}, {@code config/} and {@code adapters/}
 * the hub reads. The files the project ships are also inside the jar (classpath {@value #DEFAULTS}); a file in the
 * home overrides the shipped one with the same relative path, and files only in the home are added. A source
 * checkout is a complete home, so it reads exactly its own files.
 */
public final class CaravanHome {

    /** Where the build puts the shipped files inside the jar. */
    public static final String DEFAULTS = "caravan-defaults/";

    private final Path home;
    private final boolean isWorkingDirectory;
    private final Path dataDir;
    private final PathMatchingResourcePatternResolver resources;

    private CaravanHome(Path home, boolean isWorkingDirectory, Path dataDir, ClassLoader loader) {
        this.home = home;
        this.isWorkingDirectory = isWorkingDirectory;
        this.dataDir = dataDir;
        this.resources = new PathMatchingResourcePatternResolver(loader);
    }

    /**
     * Checks the home and the data directory. A hub without a usable home (not a readable directory) or without a
     * data directory it can create and write cannot run; the caller is told in one sentence naming the path and the
     * setting that chose it.
     *
     * @param configuredHome {@code caravan.home} (env {@code CARAVAN_HOME}); null: the working directory
     * @param configuredData {@code caravan.data-dir} (env {@code CARAVAN_DATA_DIR}); null: {@code <home>/data};
     *                       relative: under the home
     */
    public static CaravanHome open(String configuredHome, String configuredData, ClassLoader loader) {
        Path cwd = Path.of("").toAbsolutePath();
        Path home = configuredHome == null || configuredHome.isBlank() ? cwd
                : cwd.resolve(configuredHome).normalize();
        String from = configuredHome == null || configuredHome.isBlank() ? "the working directory"
                : "caravan.home / CARAVAN_HOME";
        if (!Files.isDirectory(home)) {
            throw new NoHome("no home: " + home + " (" + from + ") is not a directory; set CARAVAN_HOME (or"
                    + " caravan.home) to the unpacked distribution or another existing directory");
        }
        if (!Files.isReadable(home)) {
            throw new NoHome("no home: " + home + " (" + from + ") cannot be read by this user; set CARAVAN_HOME (or"
                    + " caravan.home) to a directory it can read");
        }
        Path data = configuredData == null || configuredData.isBlank() ? home.resolve("data")
                : home.resolve(configuredData).normalize();
        try {
            Files.createDirectories(data);
        } catch (IOException | SecurityException e) {
            throw new NoHome("no data directory: " + data + " cannot be created (" + e.getClass().getSimpleName()
                    + "); set CARAVAN_DATA_DIR (caravan.data-dir) or CARAVAN_HOME (caravan.home) to a place this"
                    + " user can write");
        }
        if (!Files.isDirectory(data) || !Files.isWritable(data)) {
            throw new NoHome("no data directory: " + data + " is not a directory this user can write; set"
                    + " CARAVAN_DATA_DIR (caravan.data-dir) or CARAVAN_HOME (caravan.home) to one it can");
        }
        return new CaravanHome(home, home.equals(cwd), data, loader);
    }

    public Path home() {
        return home;
    }

    public Path dataDir() {
        return dataDir;
    }

    /**
     * The directory a loader should read for a configured location. An absolute location is the operator's (or a
     * test's) explicit choice and is used as it is. A relative one is taken under the home; when the jar ships files
     * under it that the home lacks, the loader gets a merged copy (shipped files, then the home's over them) in
     * {@code <data-dir>/home-merged/}, rebuilt at every start so an upgraded jar brings its new defaults.
     *
     * @return the path to give the loader (relative, as configured, when the home is the working directory and holds
     *         every shipped file: a source checkout reads its files exactly as before)
     */
    public Path dir(String configured) {
        Path rel = Path.of(configured).normalize();
        if (rel.isAbsolute()) {
            return rel;
        }
        Map<String, Resource> shipped = shipped(rel);
        Path inHome = home.resolve(rel);
        boolean complete = shipped.keySet().stream().allMatch(f -> Files.isRegularFile(inHome.resolve(f)));
        if (complete) {
            return isWorkingDirectory ? rel : inHome;
        }
        Path merged = dataDir.resolve("home-merged").resolve(rel);
        try {
            deleteTree(merged);
            Files.createDirectories(merged);
            for (Map.Entry<String, Resource> e : shipped.entrySet()) {
                Path target = merged.resolve(e.getKey());
                Files.createDirectories(target.getParent());
                try (InputStream in = e.getValue().getInputStream()) {
                    Files.copy(in, target);
                }
            }
            if (Files.isDirectory(inHome)) {
                try (Stream<Path> files = Files.walk(inHome)) {
                    for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                        Path target = merged.resolve(inHome.relativize(f).toString());
                        Files.createDirectories(target.getParent());
                        Files.copy(f, target, StandardCopyOption.REPLACE_EXISTING);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare " + merged, e);
        }
        return merged;
    }

    /** The shipped files under {@code rel}, by their path relative to it. */
    private Map<String, Resource> shipped(Path rel) {
        String base = DEFAULTS + rel.toString().replace('\\', '/') + "/";
        Map<String, Resource> found = new TreeMap<>();
        try {
            for (Resource r : resources.getResources("classpath*:" + base + "**")) {
                String url = r.getURL().toString();
                int at = url.lastIndexOf(base);
                if (at < 0 || url.endsWith("/") || !r.isReadable()) {
                    continue;
                }
                String name = url.substring(at + base.length());
                if (!name.isEmpty()) {
                    found.putIfAbsent(java.net.URLDecoder.decode(name, java.nio.charset.StandardCharsets.UTF_8), r);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the shipped files under " + base, e);
        }
        return found;
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) all.sorted(Comparator.reverseOrder())::iterator) {
                Files.delete(p);
            }
        }
    }

    /**
     * The start cannot go on: the message is the whole explanation, printed as one line by
     * {@code CaravanApplication.main}. Spring Boot does not report (log with a stack trace) an abandoned run.
     */
    public static final class NoHome extends SpringApplication.AbandonedRunException {
        private final String message;

        NoHome(String message) {
            this.message = message;
        }

        @Override
        public String getMessage() {
            return message;
        }
    }
}
