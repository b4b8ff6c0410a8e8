package io.caravan.consent;

import java.nio.file.Path;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/**
 * The consent gate.
 *
 * @param policiesDir {@code consent.yaml} and {@code sensitive-categories.yaml}
 */
@Validated
@ConfigurationProperties("caravan.consent")
public record ConsentProperties(Path policiesDir) {

    public ConsentProperties {
        policiesDir = policiesDir == null ? Path.of("config/policies") : policiesDir;
    }
}
