package io.caravan.ingest;

import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/**
 * HL7 v2 transports besides MLLP (routes/hl7-folder-ingest.yaml, routes/hl7-http-ingest.yaml).
 *
 * @param hl7v2Folder the watched folder
 */
@Validated
@ConfigurationProperties("caravan.intake")
public record IntakeProperties(Folder hl7v2Folder) {

    public IntakeProperties {
        hl7v2Folder = hl7v2Folder == null ? new Folder(true, null, null, null) : hl7v2Folder;
    }

    /**
     * @param enabled  watch the folder at all
     * @param dir      the folder; {@code .done/} and {@code .failed/} are created inside it
     * @param minAge   a file is read only once it has not changed for this long, so a file still being written (in
     *                 pieces, with pauses shorter than this) is never read half-way
     * @param poll     how often the folder is looked at
     */
    public record Folder(boolean enabled, Path dir, @NotNull Duration minAge, @NotNull Duration poll) {

        public Folder {
            minAge = minAge == null ? Duration.ofSeconds(5) : minAge;
            poll = poll == null ? Duration.ofSeconds(1) : poll;
        }
    }
}
