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

    UUID text(UUID contact, String channel, String status, Instant at) {
        UUID id = UUID.randomUUID();
        jdbc.update("INSERT INTO outbound_message (id, contact_id, channel, purpose, template, status, created_by,"
                + " key_id, payload, created_at, updated_at) VALUES (?, ?, ?, 'marketing', 'offer', ?, 'test', 'k',"
                + " X'00', ?, ?)", id, contact, channel, status, java.sql.Timestamp.from(at),
                java.sql.Timestamp.from(at));
        return id;
    }

    @Test
    void aStopIsCountedOnceAgainstTheLastTextSentToTheNumbersContacts() {
        UUID mother = UUID.randomUUID();
        UUID child = UUID.randomUUID();
        UUID since = UUID.randomUUID();
        Instant month = NOW.minus(Duration.ofDays(30));
        text(mother, "sms", "delivered", NOW.minus(Duration.ofDays(40)));        // before the window
        UUID earlier = text(mother, "sms", "sent", NOW.minus(Duration.ofDays(2)));
        UUID last = text(child, "sms", "delivered", NOW.minus(Duration.ofHours(3)));
        text(child, "email", "sent", NOW.minus(Duration.ofHours(1)));              // another channel
        text(mother, "sms", "undeliverable", NOW.minus(Duration.ofHours(1)));      // never reached the phone
        text(mother, "sms", "planned", NOW.minus(Duration.ofMinutes(5)));          // not sent yet
        text(since, "sms", "sent", NOW.minus(Duration.ofMinutes(1)));             // someone else's number

        assertThat(book.lastSent(java.util.List.of(mother, child), month)).hasValue(last);
        assertThat(book.lastSent(java.util.List.of(mother), month)).hasValue(earlier);
        assertThat(book.lastSent(java.util.List.of(), month)).isEmpty();

        assertThat(book.unsubscribed(last, NUMBER, NOW)).isTrue();
        assertThat(book.unsubscribed(last, NUMBER, NOW)).as("counted already").isFalse();
        assertThat(book.unsubscribedCount(java.util.List.of(earlier, last, last))).isOne();
    }
}
