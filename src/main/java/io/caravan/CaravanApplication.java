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
        SpringApplication.run(CaravanApplication.class, args);
    }
}
