package io.caravan.contact;

import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.ConstructorBinding;
import org.springframework.validation.annotation.Validated;

/**
 * How accepted messages are made durable before their ACK.
 *
 * @param journal the embedded store's inbound journal. Enabled (the default, for H2): an ACK follows a group write
 *                to the journal, and the database takes the messages in large transactions right after; reads wait
 *                for it. Disabled (profile {@code postgres}): an ACK follows the database's own commit.
 * @param writers without the journal: group-committing writers, each with its own connection, so one group's round
 *                trips overlap another's. A patient's messages always go to the same writer; contact rows are locked
 *                for update, so writers never overwrite each other. With the journal there is one writer.
 * @param maxFutureSkew how far ahead of its receipt a message's event time (EVN-2, else MSH-7) is still trusted to
 *                order changes; beyond it the receive time orders the message (a data-quality warning is recorded).
 *                The store orders changes, so the setting is the store's (it was {@code caravan.mapping.*})
 */
@Validated
@ConfigurationProperties("caravan.store")
public record StoreProperties(Journal journal, @jakarta.validation.constraints.Min(1)
        @jakarta.validation.constraints.Max(64) int writers, Duration maxFutureSkew) {

    @ConstructorBinding
    public StoreProperties {
        journal = journal == null ? new Journal(true, null, null) : journal;
        writers = writers == 0 ? 1 : writers;
        maxFutureSkew = maxFutureSkew == null ? Duration.ofDays(1) : maxFutureSkew;
        if (maxFutureSkew.isNegative()) {
            throw new IllegalArgumentException("caravan.store.max-future-skew must not be negative");
        }
    }

    public StoreProperties(Journal journal, int writers) {
        this(journal, writers, null);
    }

    /**
     * @param enabled journal first, database after (embedded default)
     * @param fsync   (default true) flush each group write to the disk before its ACK, and checkpoint the database
     *                with a sync: an ACK survives power loss, at the cost of one flush per group. False: each group
     *                is only written to the file - it survives a killed process, not power loss or a kernel crash
     * @param dir     journal directory; default {@code <data-dir>/journal}
     */
    public record Journal(boolean enabled, Boolean fsync, Path dir) {

        public Journal {
            fsync = fsync == null || fsync;
        }
    }
}
