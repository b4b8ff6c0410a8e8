package io.caravan.channel;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.channel.email.feedback.Tracking;
import io.caravan.crypto.FieldCipher;
import io.caravan.support.Stores;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * What the channel answers the workflow engine instead of the engine reading the channel's tables: the messages a
 * frequency cap counts, and how many of a step's messages a person opened.
 */
class ChannelQueriesTest {

    static final Instant NOW = Instant.parse("2026-06-01T12:00:00Z");

    JdbcTemplate jdbc;
    FieldCipher cipher;
    MessageStore store;

    @BeforeEach
    void open() throws Exception {
        cipher = Stores.cipher();
        jdbc = new JdbcTemplate(Stores.migrated("channel"));
        store = new MessageStore(jdbc, cipher);
    }

    UUID message(UUID contact, String purpose, MessageStatus status, Instant created) {
        UUID id = UUID.randomUUID();
        store.insert(new OutboundMessage(id, contact, "email", purpose, "newsletter", status, null, List.of(), created,
                created), Map.of(), "test");
        return id;
    }

    @Test
    void theCapCountsTheContactsMessagesOfThePurposeInTheWindowButNotBlockedOnes() {
        UUID contact = UUID.randomUUID();
        message(contact, "marketing", MessageStatus.SENT, NOW.minus(Duration.ofDays(3)));
        Instant first = NOW.minus(Duration.ofHours(2));
        Instant second = NOW.minus(Duration.ofHours(1));
        message(contact, "marketing", MessageStatus.SENT, second);
        message(contact, "marketing", MessageStatus.PLANNED, first);
        message(contact, "marketing", MessageStatus.BLOCKED, NOW.minus(Duration.ofMinutes(30)));
        message(contact, "treatment", MessageStatus.SENT, NOW.minus(Duration.ofMinutes(20)));
        message(UUID.randomUUID(), "marketing", MessageStatus.SENT, NOW.minus(Duration.ofMinutes(10)));

        assertThat(store.createdSince(contact, "marketing", NOW.minus(Duration.ofDays(1))))
                .containsExactly(first, second);
    }

    @Test
    void aStepsOpensAreCountedOncePerMessageAndMachinesDoNotCount() {
        Tracking tracking = new Tracking(cipher, jdbc, null, Clock.systemUTC());
        List<UUID> sent = new ArrayList<>();
        for (int i = 0; i < 1200; i++) {
            sent.add(UUID.randomUUID());
        }
        event(sent.get(3), "opened", false);
        event(sent.get(3), "opened", false);            // opened twice: one message
        event(sent.get(700), "opened", false);          // in a later chunk of the IN list
        event(sent.get(1199), "opened", true);          // a privacy proxy's fetch
        event(sent.get(5), "clicked", false);
        event(UUID.randomUUID(), "opened", false);      // another step's message

        assertThat(tracking.engagedCount(sent, "opened")).isEqualTo(2);
        assertThat(tracking.engagedCount(sent, "clicked")).isEqualTo(1);
        event(sent.get(700), "opened", true);           // a proxy's fetch too, before the person's open
        assertThat(tracking.machineCount(sent, "opened")).as("only the message no person opened").isOne();
        assertThat(tracking.machineCount(sent, "clicked")).isZero();
        assertThat(tracking.engagedCount(sent, "opened"))
                .as("the same answer as asking message by message")
                .isEqualTo(sent.stream().filter(id -> tracking.engaged(id, "opened")).count());
    }

    @Test
    void anUnsubscribeCountsOncePerMessageHoweverOftenTheLinkIsPosted() {
        Tracking tracking = new Tracking(cipher, jdbc, null, Clock.systemUTC());
        UUID contact = UUID.randomUUID();
        UUID first = message(contact, "marketing", MessageStatus.SENT, NOW);
        UUID second = message(contact, "marketing", MessageStatus.DELIVERED, NOW);
        assertThat(tracking.unsubscribed(first)).isTrue();
        assertThat(tracking.unsubscribed(first)).as("the link posted again").isFalse();
        assertThat(tracking.unsubscribed(UUID.randomUUID())).as("a message the hub does not know").isFalse();

        assertThat(tracking.engagedCount(List.of(first, second), "unsubscribed")).isOne();
        assertThat(tracking.engaged(first, "unsubscribed")).isTrue();
        assertThat(tracking.engaged(second, "unsubscribed")).isFalse();
        assertThat(jdbc.queryForObject("SELECT contact_id FROM message_event WHERE message_id = ?", UUID.class, first))
                .isEqualTo(contact);
    }

    @Test
    void aPlanStoredAgainUnderItsIdLeavesTheFirstAndSaysSo() throws Exception {
        UUID contact = UUID.randomUUID();
        OutboundMessage m = new OutboundMessage(UUID.randomUUID(), contact, "email", "treatment", "reminder",
                MessageStatus.PLANNED, null, List.of(), NOW, NOW);
        java.util.concurrent.atomic.AtomicBoolean existed = new java.util.concurrent.atomic.AtomicBoolean(true);
        try (java.sql.Connection c = jdbc.getDataSource().getConnection()) {
            store.insertWork(m, Map.of("visit", "first"), "test", false, existed).run(c);
            assertThat(existed).as("a new message").isFalse();
            OutboundMessage again = new OutboundMessage(m.id(), contact, "email", "treatment", "other",
                    MessageStatus.PLANNED, null, List.of(), NOW, NOW);
            store.insertWork(again, Map.of("visit", "second"), "test", false, existed).run(c);
            assertThat(existed).as("a step run again after a crash").isTrue();
        }
        assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM outbound_message WHERE id = ?", Integer.class, m.id()))
                .isOne();
        assertThat(jdbc.queryForObject("SELECT template FROM outbound_message WHERE id = ?", String.class, m.id()))
                .isEqualTo("reminder");
        assertThat(store.data(m.id())).containsEntry("visit", "first");
    }

    void event(UUID message, String type, boolean bot) {
        jdbc.update("INSERT INTO message_event (id, message_id, contact_id, type, bot, at) VALUES (?, ?, ?, ?, ?, ?)",
                UUID.randomUUID(), message, UUID.randomUUID(), type, bot, Timestamp.from(NOW));
    }
}
