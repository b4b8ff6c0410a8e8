package io.caravan.contact;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.contact.ContactStore.LoggedEvent;
import io.caravan.crypto.FieldCipher;
import io.caravan.support.Stores;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * What the log's readers share when they read a run of the log: each event's owner now, for the whole run in one read
 * (a merge moves events to the survivor in place, at their positions), and each event's content, opened once.
 */
class LogReadersTest {

    JdbcTemplate jdbc;
    ContactStore store;
    FieldCipher cipher;
    final UUID alice = UUID.randomUUID();
    final UUID bob = UUID.randomUUID();
    final List<UUID> events = new ArrayList<>();

    @BeforeEach
    void log() throws Exception {
        jdbc = new JdbcTemplate(Stores.migrated("log-readers"));
        cipher = Stores.cipher();
        store = new ContactStore(jdbc, cipher, null, new LogPartitions(jdbc, 1));
        Instant t = Instant.parse("2026-03-01T09:00:00Z");
        for (int i = 0; i < 6; i++) {
            TriggerEvent e = new TriggerEvent(UUID.randomUUID(), "patient.registered",
                    OffsetDateTime.ofInstant(t.plusSeconds(i), ZoneOffset.UTC), null, Map.of("location", "CLINIC"));
            jdbc.update("INSERT INTO trigger_event (contact_id, id, type, key_id, payload, recorded_at, log_partition,"
                    + " position) VALUES (?, ?, ?, ?, ?, ?, 0, ?)", i % 2 == 0 ? alice : bob, e.id(), e.type(),
                    cipher.activeKeyId(), ContactStore.sealEvent(cipher, e), Timestamp.from(t.plusSeconds(i)), i + 1);
            events.add(e.id());
        }
    }

    @Test
    void aRunsOwnersAreReadAsTheyAreNowAfterAMergeAndWithoutTheEventsGoneSince() {
        List<LoggedEvent> run = store.logAfter(0, 1, 10);
        assertThat(run).extracting(LoggedEvent::contactId).containsExactly(bob, alice, bob, alice, bob);
        // after the run was read: bob merged into alice (A40), and one of alice's events erased
        jdbc.update("UPDATE trigger_event SET contact_id = ? WHERE contact_id = ?", alice, bob);
        jdbc.update("DELETE FROM trigger_event WHERE id = ?", events.get(4));

        Map<UUID, UUID> owners = store.eventOwners(run);
        assertThat(owners).containsOnlyKeys(events.get(1), events.get(2), events.get(3), events.get(5))
                .allSatisfy((event, owner) -> assertThat(owner).isEqualTo(alice));
        for (LoggedEvent e : run) {
            assertThat(owners.get(e.id())).as("as one event at a time finds it")
                    .isEqualTo(store.eventOwner(e.contactId(), e.id()).orElse(null));
        }
    }

    @Test
    void readersOfTheSameEventShareOneOpenedCopy() {
        LoggedEvent first = store.logAfter(0, 0, 1).get(0);
        LoggedEvent second = store.logAt(0, List.of(1L)).get(0);
        assertThat(first).isNotSameAs(second);
        assertThat(second.event()).isSameAs(first.event());
        assertThat(first.event().id()).isEqualTo(events.get(0));
        assertThat(first.event().data()).containsEntry("location", "CLINIC");
    }
}
