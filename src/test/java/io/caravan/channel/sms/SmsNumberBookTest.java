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
}
