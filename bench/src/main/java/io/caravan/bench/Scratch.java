package io.caravan.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A benchmark's data directory, deleted when the JVM exits: a run leaves up to a gigabyte of store files, and a few
 * runs filled this machine's disk.
 */
final class Scratch {

    private Scratch() {
    }

    static Path dir(String prefix) throws IOException {
        return deleteAtExit(Files.createTempDirectory(prefix));
    }

    static Path dir(Path parent, String prefix) throws IOException {
        return deleteAtExit(Files.createTempDirectory(parent, prefix));
    }

    static Path deleteAtExit(Path dir) {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> delete(dir), "bench-scratch-cleanup"));
        return dir;
    }

    static void delete(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            System.err.println("could not delete " + dir + ": " + e);
        }
    }
}
