package io.caravan.contact;

import java.nio.file.Path;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/**
 * How accepted messages are made durable before their ACK.
 *
 * @param journal the embedded store's inbound journal. Enabled (the default, for H2): an ACK follows a group write
 *                to the journal, and the database takes the messages in large transactions right after; reads wait
 *                for it. Disabled (profile {@code postgres}): an ACK follows the database's own commit.
 */
@Validated
@ConfigurationProperties("caravan.store")
public record StoreProperties(Journal journal) {

    public StoreProperties {
        journal = journal == null ? new Journal(true, false, null) : journal;
    }

    /**
     * @param enabled journal first, database after (embedded default)
     * @param fsync   fsync each group write (and checkpoint with a sync): survives power loss, not only a killed
     *                process, at the cost of a disk flush per group
     * @param dir     journal directory; default {@code <data-dir>/journal}
     */
    public record Journal(boolean enabled, boolean fsync, Path dir) {
    }
}
