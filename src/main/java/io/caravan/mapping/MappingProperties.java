package io.caravan.mapping;

import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/**
 * Where the declarative files are, and regional defaults used when a feed's adapter does not set its own.
 *
 * @param hl7v2Dir    base HL7 v2 mappings: one file per trigger event, {@code segments/}, {@code value-maps/}
 * @param adaptersDir one file per external system
 * @param phoneRegion ISO 3166 region for phone numbers written without a country code
 * @param timeZone    zone of HL7 times sent without an offset
 * @param maxFutureSkew moved to {@code caravan.store.max-future-skew} (the store orders changes); set here, it stops
 *                    the start rather than being silently ignored
 */
@Validated
@ConfigurationProperties("caravan.mapping")
public record MappingProperties(@NotNull Path hl7v2Dir, @NotNull Path adaptersDir, @NotBlank String phoneRegion,
        @NotBlank String timeZone, java.time.Duration maxFutureSkew) {

    public MappingProperties {
        hl7v2Dir = hl7v2Dir == null ? Path.of("mappings/hl7v2") : hl7v2Dir;
        adaptersDir = adaptersDir == null ? Path.of("adapters") : adaptersDir;
        phoneRegion = phoneRegion == null ? "US" : phoneRegion;
        timeZone = timeZone == null ? "UTC" : timeZone;
        if (maxFutureSkew != null) {
            throw new IllegalArgumentException(
                    "caravan.mapping.max-future-skew has moved: set caravan.store.max-future-skew instead");
        }
    }
}
