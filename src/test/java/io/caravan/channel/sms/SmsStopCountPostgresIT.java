package io.caravan.channel.sms;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.support.PostgresSupport;
import io.caravan.support.Stores;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.datasource.DriverManagerDataSource;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * On PostgreSQL, where a failed statement aborts its transaction: a STOP counted against a text another STOP counted
 * already must change nothing and fail nothing, since it is part of the number's opt-out.
 */
class SmsStopCountPostgresIT {

    static final Instant NOW = Instant.parse("2026-11-30T15:00:00Z");

    @Test
    void aSecondStopCountedAgainstTheSameTextLeavesItsOptOutCommitted() throws Exception {
        DriverManagerDataSource ds = new DriverManagerDataSource(PostgresSupport.newDatabase());
        Flyway.configure().dataSource(ds).locations("classpath:db/migration").load().migrate();
        JdbcTemplate jdbc = new JdbcTemplate(ds);
        TransactionTemplate tx = new TransactionTemplate(new DataSourceTransactionManager(ds));
        SmsNumberBook book = new SmsNumberBook(jdbc, Stores.cipher(), tx);
        String mother = "+12175550123";
        String child = "+12175550124";
        UUID text = UUID.randomUUID();
        jdbc.update("INSERT INTO outbound_message (id, contact_id, channel, purpose, template, status, created_by,"
                + " key_id, payload, created_at, updated_at) VALUES (?, ?, 'sms', 'marketing', 'offer', 'delivered',"
                + " 'test', 'k', '\\x00'::bytea, ?, ?)", text, UUID.randomUUID(), Timestamp.from(NOW),
                Timestamp.from(NOW));
        new SmsSegments(jdbc).submitted("smsc", text, book.mac(mother), List.of("s1"), NOW.minus(Duration.ofHours(1)));

        assertThat(book.lastSent(mother, NOW.minus(Duration.ofDays(30)))).hasValue(text);
        tx.executeWithoutResult(s -> {
            assertThat(book.optOut(mother, NOW)).isTrue();
            assertThat(book.unsubscribed(text, mother, NOW)).isTrue();
        });
        // the other number's STOP picks the same text in its opt-out (one message submitted again to a contact's new
        // number, after a takeover)
        tx.executeWithoutResult(s -> {
            assertThat(book.optOut(child, NOW)).isTrue();
            assertThat(book.unsubscribed(text, child, NOW)).isFalse();
        });
        assertThat(book.optedOut(child)).as("the opt-out committed").isTrue();
        assertThat(book.unsubscribedCount(List.of(text))).isOne();
    }
}
