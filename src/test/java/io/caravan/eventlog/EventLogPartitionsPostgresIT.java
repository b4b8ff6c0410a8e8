package io.caravan.eventlog;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.contact.ContactStore.LoggedEvent;
import io.caravan.contact.Identifier;
import io.caravan.contact.LogPartitions;
import io.caravan.contact.StoreProperties;
import io.caravan.support.Hl7Messages;
import io.caravan.support.MllpTestClient;
import io.caravan.support.TestHub;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * On PostgreSQL (several writers, each group committed before its ACK) appending to the event log locks only the
 * partitions a group touches: while a transaction holds one partition's head row - as a writer does through its
 * commit's WAL flush - a patient whose events go to another partition is still ACKed at once, and a patient of the held
 * partition waits for it, then follows it in order.
 */
@SpringBootTest
@ActiveProfiles("postgres")
@DirtiesContext
class EventLogPartitionsPostgresIT {

    static final TestHub HUB = TestHub.namedPostgres("eventlog-partitions");

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        HUB.register(r);
    }

    @Autowired
    LogPartitions partitions;
    @Autowired
    StoreProperties store;
    @Autowired
    DataSource dataSource;
    @Autowired
    EventLog eventLog;

    int home(String mrn) {
        return partitions.ofKey(new Identifier("MERCY", mrn, "MR").key());
    }

    static String send(String hl7) throws Exception {
        try (MllpTestClient c = new MllpTestClient(HUB.mllpPort)) {
            return MllpTestClient.msa1(c.exchange(hl7, 10_000));
        }
    }

    List<LoggedEvent> eventsAfter(List<Long> cursors) {
        List<LoggedEvent> out = new ArrayList<>();
        for (int p = 0; p < cursors.size(); p++) {
            out.addAll(eventLog.read("it-check", p, cursors.get(p), 1000));
        }
        return out;
    }

    @Test
    void aWriterHoldingOnePartitionDoesNotHoldUpAnotherPartitionsPatients() throws Exception {
        assertThat(store.writers()).isGreaterThan(1);
        String tag = UUID.randomUUID().toString().substring(0, 8);
        String held = "PART-A-" + tag;
        int heldPartition = home(held);
        String other = null;
        for (int i = 0; other == null; i++) {
            String mrn = "PART-B-" + tag + "-" + i;
            // another partition, and one of another writer: a writer takes its queue one group at a time
            if (home(mrn) % store.writers() != heldPartition % store.writers()) {
                other = mrn;
            }
        }
        assertThat(send(Hl7Messages.adt("A04", Hl7Messages.controlId(), held, "Part", "Ada", "ada@example.org",
                OffsetDateTime.now()))).isEqualTo("AA");
        List<Long> before = eventLog.heads();

        CompletableFuture<String> waiting;
        try (Connection holder = dataSource.getConnection()) {
            holder.setAutoCommit(false);
            try (Statement s = holder.createStatement(); ResultSet rs = s.executeQuery(
                    "SELECT last_position FROM event_log_head WHERE log_partition = " + heldPartition
                            + " FOR UPDATE")) {
                assertThat(rs.next()).isTrue();
            }
            waiting = CompletableFuture.supplyAsync(() -> {
                try {
                    return send(Hl7Messages.adt("A08", Hl7Messages.controlId(), held, "Part", "Ada",
                            "ada2@example.org", OffsetDateTime.now()));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            long t0 = System.nanoTime();
            assertThat(send(Hl7Messages.adt("A04", Hl7Messages.controlId(), other, "Part", "Bo", "bo@example.org",
                    OffsetDateTime.now()))).as("another partition's patient is ACKed").isEqualTo("AA");
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(5_000);
            Thread.sleep(500);
            assertThat(waiting).as("the held partition's patient waits for the holder's commit").isNotDone();
            holder.rollback();
        }
        assertThat(waiting.get(10, TimeUnit.SECONDS)).isEqualTo("AA");

        List<LoggedEvent> events = eventsAfter(before);
        assertThat(events).hasSize(2);
        LoggedEvent updated = events.stream().filter(e -> e.event().type().equals("patient.updated")).findFirst()
                .orElseThrow();
        LoggedEvent registered = events.stream().filter(e -> e.event().type().equals("patient.registered"))
                .findFirst().orElseThrow();
        assertThat(updated.partition()).as("a contact's events stay in its partition").isEqualTo(heldPartition);
        assertThat(updated.position()).isEqualTo(before.get(heldPartition) + 1);
        assertThat(registered.partition()).isNotEqualTo(heldPartition);
    }
}
