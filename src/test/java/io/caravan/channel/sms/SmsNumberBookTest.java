package io.caravan.channel.sms;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.support.Stores;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/** A treatment text's slot under the per-number caps, on the hub's own schema. */
class SmsNumberBookTest {

    static final Instant NOW = Instant.parse("2026-11-30T15:00:00Z");
    static final String NUMBER = "+12175550123";

    JdbcTemplate jdbc;
    SmsNumberBook book;

    @BeforeEach
    void open() throws Exception {
        javax.sql.DataSource ds = Stores.migrated("sms-book");
        jdbc = new JdbcTemplate(ds);
        book = new SmsNumberBook(jdbc, Stores.cipher(), new TransactionTemplate(new DataSourceTransactionManager(ds)));
    }

    @Test
    void aTextTriedAgainKeepsOneSlotMovedToItsNewAttempt() {
        UUID contact = UUID.randomUUID();
        UUID message = UUID.randomUUID();
        book.beforeSubmit(NUMBER, contact, message, "treatment", NOW.minus(Duration.ofHours(2)));
        // the hub stopped before the submit's outcome: the next attempt finds the slot and takes it over
        book.beforeSubmit(NUMBER, contact, message, "treatment", NOW);

        assertThat(book.sentSince(NUMBER, "treatment", NOW.minus(Duration.ofDays(7)))).containsExactly(NOW);
        assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM sms_sent", Integer.class)).isOne();
        assertThat(book.contacts(NUMBER)).containsExactly(contact);
    }

    @Test
    void twoTextsTakeTwoSlotsAndAReleasedOneGoes() {
        UUID contact = UUID.randomUUID();
        UUID first = UUID.randomUUID();
        UUID second = UUID.randomUUID();
        book.beforeSubmit(NUMBER, contact, first, "treatment", NOW.minus(Duration.ofDays(1)));
        book.beforeSubmit(NUMBER, contact, second, "treatment", NOW);
        assertThat(book.sentSince(NUMBER, "treatment", NOW.minus(Duration.ofDays(7)))).hasSize(2);

        book.release(second);
        assertThat(book.sentSince(NUMBER, "treatment", NOW.minus(Duration.ofDays(7))))
                .containsExactly(NOW.minus(Duration.ofDays(1)));
    }

    /** A planned message in this status; submitted to {@code number} at {@code at} when a number is given. */
    UUID text(String number, String status, Instant at) {
        UUID id = UUID.randomUUID();
        jdbc.update("INSERT INTO outbound_message (id, contact_id, channel, purpose, template, status, created_by,"
                + " key_id, payload, created_at, updated_at) VALUES (?, ?, 'sms', 'marketing', 'offer', ?, 'test', 'k',"
                + " X'00', ?, ?)", id, UUID.randomUUID(), status, java.sql.Timestamp.from(at),
                java.sql.Timestamp.from(NOW));
        if (number != null) {
            new SmsSegments(jdbc).submitted("smsc", id, book.mac(number), java.util.List.of("a" + id, "b" + id), at);
        }
        return id;
    }

    @Test
    void aStopIsCountedOnceAgainstTheLastTextSubmittedToThatNumber() {
        String other = "+12175550999";
        Instant month = NOW.minus(Duration.ofDays(30));
        text(NUMBER, "delivered", NOW.minus(Duration.ofDays(40)));            // before the window
        UUID earlier = text(NUMBER, "sent", NOW.minus(Duration.ofDays(2)));
        UUID last = text(NUMBER, "delivered", NOW.minus(Duration.ofHours(3)));
        text(NUMBER, "undeliverable", NOW.minus(Duration.ofHours(1)));        // never reached the phone
        text(other, "sent", NOW.minus(Duration.ofMinutes(1)));                 // another number, even the same person's
        text(null, "planned", NOW.minus(Duration.ofMinutes(5)));               // not submitted yet

        assertThat(book.lastSent(NUMBER, month)).hasValue(last);
        assertThat(book.lastSent(NUMBER, NOW.minus(Duration.ofHours(1)))).isEmpty();
        assertThat(book.lastSent("+12175550100", month)).as("a number never texted").isEmpty();

        assertThat(book.unsubscribed(last, NUMBER, NOW)).isTrue();
        assertThat(book.unsubscribed(last, NUMBER, NOW)).as("counted already, and no failure").isFalse();
        assertThat(book.unsubscribedCount(java.util.List.of(earlier, last, last))).isOne();
    }
}
