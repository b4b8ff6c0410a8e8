package io.caravan;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/**
 * Caravan hub. The flow, package by package: {@code ingest} (feeds) → {@code mapping} → {@code contact} (contacts and
 * trigger events) → consent → channel → audit. {@code crypto} keeps PHI encrypted at rest; {@code system} holds the
 * cross-cutting wiring (security, data directory, errors).
 */
@SpringBootApplication
@ConfigurationPropertiesScan
public class CaravanApplication {
    public static void main(String[] args) {
        // SIGTERM is how a service manager stops the hub, and a stop that finished is a success: exit 0 (the JVM's
        // own handler exits 143). The shutdown hooks still run first: Spring's graceful stop (README "Deploy").
        sun.misc.Signal.handle(new sun.misc.Signal("TERM"), signal -> System.exit(0));
        try {
            SpringApplication.run(CaravanApplication.class, args);
        } catch (io.caravan.system.CaravanHome.NoHome e) {
            // one line an operator can act on, no stack trace (README "Deploy")
            System.err.println("caravan: " + e.getMessage());
            System.exit(2);
        }
    }
}
