package io.caravan.system;

import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/**
 * Where the hub keeps its state. Everything the embedded default writes (database, keystore, generated secrets,
 * outbox) lives under {@code caravan.data-dir}.
 */
@Validated
@ConfigurationProperties("caravan")
public record HubProperties(@NotNull Path dataDir) {

    public HubProperties {
        if (dataDir == null) {
            dataDir = Path.of("data");
        }
    }
}
