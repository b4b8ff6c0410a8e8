package io.caravan.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A port for a server a test will start later (a hub's MLLP listener, a broker, a database). A port taken with
 * {@code new ServerSocket(0)} and closed is the kernel's next answer to the next bind to port 0 as well: a test server
 * started on port 0 in between (an EHR, a webhook receiver) took the hub's port, and the hub failed to start. These
 * ports come from below the kernel's ephemeral range, which port-0 binds never use, and none twice in a JVM.
 */
public final class FreePorts {

    private static final Set<Integer> GIVEN = ConcurrentHashMap.newKeySet();
    private static final int LOW = 20_000;
    private static final int HIGH = ephemeralLow();

    private FreePorts() {
    }

    public static int next() {
        if (HIGH - LOW < 1_000) {
            return anyPort();
        }
        for (int tries = 0; tries < 200; tries++) {
            int port = ThreadLocalRandom.current().nextInt(LOW, HIGH);
            if (GIVEN.add(port)) {
                try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getByName("0.0.0.0"))) {
                    s.setReuseAddress(true);
                    return port;
                } catch (IOException taken) {
                    // another process has it: try another
                }
            }
        }
        return anyPort();
    }

    private static int anyPort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int ephemeralLow() {
        try {
            String range;
            // a /proc file reports size 0: Files.readString trusts the size and returned one character here
            try (java.io.InputStream in = Files.newInputStream(Path.of("/proc/sys/net/ipv4/ip_local_port_range"))) {
                range = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII).trim();
            }
            return Math.min(Integer.parseInt(range.split("\\s+")[0]), 65_535);
        } catch (IOException | RuntimeException e) {
            return 32_768; // Linux's default start of the range
        }
    }
}
