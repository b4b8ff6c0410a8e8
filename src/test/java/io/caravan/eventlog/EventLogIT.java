package io.caravan.eventlog;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.contact.ContactStore.LoggedEvent;
import io.caravan.support.Hl7Messages;
import io.caravan.support.MllpTestClient;
import io.caravan.support.TestHub;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The event log and its cursors on a running hub: real HL7 messages over MLLP append trigger events; subscribers
 * (test-only, polled by the test) record each event they act on in a table of their own, in the transaction that
 * advances their cursor.
 */
@SpringBootTest
@Import(EventLogIT.Subscribers.class)
@DirtiesContext
class EventLogIT {

    static final TestHub HUB = TestHub.named("eventlog");
    static final String ACTED = "CREATE TABLE IF NOT EXISTS it_acted (subscriber VARCHAR(64), log_partition INT,"
            + " position BIGINT, event_id UUID)";

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        HUB.register(r);
        // the poll-by-poll retry test below: no wait between attempts (backoff and parking per contact are
        // SubscriptionsParkingTest's and ParkedContactsIT's)
        r.add("caravan.event-log.retry.first-backoff", () -> "0s");
        r.add("caravan.event-log.retry.max-attempts", () -> "5");
    }

    /** Acts by inserting (subscriber, partition, position, event) - no key, so acting twice would show as two rows. */
    static class Recording implements EventSubscriber {
        final String name;
        final JdbcTemplate jdbc;
        /** Event types this subscriber fails on, to show retries and parking. */
        final Set<String> failOn = ConcurrentHashMap.newKeySet();

        Recording(String name, JdbcTemplate jdbc) {
            this.name = name;
            this.jdbc = jdbc;
        }

        @Override
        public String subscriberName() {
            return name;
        }

        @Override
        public void onEvent(LoggedEvent e) {
            jdbc.update("INSERT INTO it_acted (subscriber, log_partition, position, event_id) VALUES (?, ?, ?, ?)",
                    name, e.partition(), e.position(), e.event().id());
            if (failOn.contains(e.event().type())) {
                throw new IllegalStateException("refused by the test");
            }
        }

        @Override
        public boolean pumped() {
            return false;
        }
    }

    @TestConfiguration
    static class Subscribers {
        @Bean
        Recording alpha(JdbcTemplate jdbc) {
            jdbc.execute(ACTED);
            return new Recording("it-alpha", jdbc);
        }

        @Bean
        Recording beta(JdbcTemplate jdbc) {
            jdbc.execute(ACTED);
            return new Recording("it-beta", jdbc);
        }
    }

    @Autowired
    Subscriptions subscriptions;
    @Autowired
    EventLog eventLog;
    @Autowired
    JdbcTemplate jdbc;
    @Autowired
    MeterRegistry meters;
    @Autowired
    List<Recording> recordings;

    Recording named(String name) {
        return recordings.stream().filter(r -> r.name.equals(name)).findFirst().orElseThrow();
    }

    /** Events in the whole log: positions count from 1 in each partition. */
    static long total(List<Long> positions) {
        return positions.stream().mapToLong(Long::longValue).sum();
    }

    /** Sends registrations of new patients; returns the partitions' heads once all their events are in the log. */
    List<Long> register(String prefix, int n) throws Exception {
        long before = total(eventLog.heads());
        try (MllpTestClient c = new MllpTestClient(HUB.mllpPort)) {
            for (int i = 0; i < n; i++) {
                assertThat(MllpTestClient.msa1(c.exchange(Hl7Messages.adt("A04", Hl7Messages.controlId(),
                        prefix + i, "Log", "Lee", "log@example.org", OffsetDateTime.now()), 10_000))).isEqualTo("AA");
            }
        }
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> total(eventLog.heads()) >= before + n);
        return eventLog.heads();
    }

    /** How often the subscriber acted on each event, by "partition:position". */
    Map<String, Long> acted(String subscriber) {
        return jdbc.queryForList("SELECT log_partition, position FROM it_acted WHERE subscriber = ?", subscriber)
                .stream().map(r -> r.get("log_partition") + ":" + r.get("position"))
                .collect(Collectors.groupingBy(p -> p, Collectors.counting()));
    }

    /** Every event of the log after these cursors, partition by partition. */
    List<LoggedEvent> after(List<Long> cursors) {
        List<LoggedEvent> out = new java.util.ArrayList<>();
        for (int p = 0; p < cursors.size(); p++) {
            out.addAll(eventLog.read("it-check", p, cursors.get(p), 1000));
        }
        return out;
    }

    static String at(LoggedEvent e) {
        return e.partition() + ":" + e.position();
    }

    @Test
    void twoSubscribersProgressIndependentlyAndEachActsOnEachEventOnce() throws Exception {
        Recording alpha = named("it-alpha");
        Recording beta = named("it-beta");
        List<Long> alphaFrom = subscriptions.cursor(alpha.name);
        List<Long> betaFrom = subscriptions.cursor(beta.name);
        List<Long> head = register("LOG-A", 12);

        subscriptions.poll(alpha);
        assertThat(subscriptions.cursor(alpha.name)).isEqualTo(head);
        assertThat(subscriptions.cursor(beta.name)).as("beta was not polled").isEqualTo(betaFrom);
        assertThat(acted(beta.name).keySet()).noneMatch(k -> {
            String[] pp = k.split(":");
            return Long.parseLong(pp[1]) > betaFrom.get(Integer.parseInt(pp[0]));
        });

        List<Long> head2 = register("LOG-B", 5);
        subscriptions.poll(beta);
        subscriptions.poll(alpha);
        subscriptions.poll(alpha);
        assertThat(subscriptions.cursor(beta.name)).isEqualTo(head2);
        assertThat(subscriptions.cursor(alpha.name)).isEqualTo(head2);
        for (String s : List.of(alpha.name, beta.name)) {
            List<Long> from = s.equals(alpha.name) ? alphaFrom : betaFrom;
            Map<String, Long> acted = acted(s);
            for (int p = 0; p < head2.size(); p++) {
                for (long pos = from.get(p) + 1; pos <= head2.get(p); pos++) {
                    assertThat(acted.get(p + ":" + pos)).as(s + " at " + p + ":" + pos).isEqualTo(1L);
                }
            }
        }
        // positions follow commit order: each partition read back is gap-free and ascending over these events
        for (int p = 0; p < head2.size(); p++) {
            long from = alphaFrom.get(p);
            List<LoggedEvent> read = eventLog.read("it-check", p, from, 1000);
            long upTo = head2.get(p);
            int partition = p;
            assertThat(read).allMatch(e -> e.partition() == partition);
            assertThat(read).extracting(LoggedEvent::position).isSorted();
            assertThat(read.stream().filter(e -> e.position() <= upTo).map(LoggedEvent::position).toList())
                    .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(from + 1, upTo).boxed()
                            .toList());
        }
    }

    /** What keeps a due journey step behind its contact's unread events, answered by the database's log. */
    @Test
    void aContactIsBehindForASubscriberUntilItsEventsAreRead() throws Exception {
        Recording beta = named("it-beta");
        subscriptions.poll(beta);
        List<Long> before = subscriptions.cursor(beta.name);
        register("LOG-BEHIND", 1);
        LoggedEvent e = after(before).stream().filter(x -> x.event().type().equals("patient.registered"))
                .findFirst().orElseThrow();
        long last = after(before).stream().filter(x -> x.contactId().equals(e.contactId()))
                .mapToLong(LoggedEvent::position).max().orElseThrow();
        assertThat(eventLog.hasEventOf(e.contactId(), e.partition(), e.position() - 1)).isTrue();
        assertThat(eventLog.hasEventOf(e.contactId(), e.partition(), last)).isFalse();
        assertThat(eventLog.hasEventOf(java.util.UUID.randomUUID(), e.partition(), 0)).isFalse();
        assertThat(subscriptions.behind(beta.name, e.contactId(), e.partition())).as("not read yet").isTrue();
        subscriptions.poll(beta);
        assertThat(subscriptions.behind(beta.name, e.contactId(), e.partition())).as("read").isFalse();
    }

    @Test
    void aSubscriberAddedLaterStartsFromNow() throws Exception {
        register("LOG-EARLY", 3);
        Recording late = new Recording("it-late-" + UUID.randomUUID().toString().substring(0, 8), jdbc);
        List<Long> head = eventLog.heads();
        assertThat(subscriptions.cursor(late.name)).isEqualTo(head);
        register("LOG-LATE", 2);
        List<String> since = after(head).stream().map(EventLogIT::at).toList();
        assertThat(since).hasSize(2);
        subscriptions.poll(late);
        assertThat(acted(late.name).keySet()).as("only what came after it registered")
                .containsExactlyInAnyOrderElementsOf(since);
    }

    @Test
    void aFailingEventIsRetriedFiveTimesThenParkedWithoutHoldingUpTheOthers() throws Exception {
        Recording alpha = named("it-alpha");
        subscriptions.poll(alpha);
        List<Long> from = subscriptions.cursor(alpha.name);
        double parkedBefore = parkedCount();
        alpha.failOn.add("patient.admitted");
        try {
            long before = total(eventLog.heads());
            try (MllpTestClient c = new MllpTestClient(HUB.mllpPort)) {
                for (String trigger : List.of("A04", "A01", "A04")) {
                    assertThat(MllpTestClient.msa1(c.exchange(Hl7Messages.adt(trigger, Hl7Messages.controlId(),
                            "LOG-FAIL-" + trigger + UUID.randomUUID().toString().substring(0, 6), "Log", "Lee",
                            "log@example.org", OffsetDateTime.now()), 10_000))).isEqualTo("AA");
                }
            }
            Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> total(eventLog.heads()) >= before + 3);
            List<Long> head = eventLog.heads();
            subscriptions.poll(alpha);
            assertThat(subscriptions.cursor(alpha.name)).as("the failing event does not block the cursor")
                    .isEqualTo(head);
            for (int i = 0; i < 10; i++) {
                subscriptions.poll(alpha);
            }
            List<LoggedEvent> sent = after(from);
            assertThat(sent).hasSize(3);
            LoggedEvent failing = sent.stream().filter(e -> e.event().type().equals("patient.admitted"))
                    .findFirst().orElseThrow();
            assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM it_acted WHERE subscriber = ? AND log_partition = ?"
                    + " AND position = ?", Long.class, alpha.name, failing.partition(), failing.position()))
                    .as("effects rolled back each time").isZero();
            assertThat(jdbc.queryForMap("SELECT attempts, parked FROM event_retry WHERE subscriber = ?"
                    + " AND log_partition = ? AND position = ?", alpha.name, failing.partition(), failing.position()))
                    .containsEntry("attempts", 5).containsEntry("parked", true);
            for (LoggedEvent e : sent) {
                if (e != failing) {
                    assertThat(acted(alpha.name)).containsEntry(at(e), 1L);
                }
            }
            assertThat(parkedCount() - parkedBefore).isEqualTo(1.0);
        } finally {
            alpha.failOn.clear();
        }
    }

    @Test
    void anEventMergedAwayReachesSubscribersUnderTheSurvivor() throws Exception {
        Recording beta = named("it-beta");
        subscriptions.poll(beta);
        List<Long> from = subscriptions.cursor(beta.name);
        String tag = UUID.randomUUID().toString().substring(0, 6);
        try (MllpTestClient c = new MllpTestClient(HUB.mllpPort)) {
            for (String hl7 : List.of(
                    Hl7Messages.adt("A04", Hl7Messages.controlId(), "LOG-PRIOR-" + tag, "Log", "Lee",
                            "prior@example.org", OffsetDateTime.now()),
                    Hl7Messages.adt("A04", Hl7Messages.controlId(), "LOG-SURV-" + tag, "Log", "Lee",
                            "surv@example.org", OffsetDateTime.now()),
                    Hl7Messages.a40(Hl7Messages.controlId(), "LOG-SURV-" + tag, "LOG-PRIOR-" + tag))) {
                assertThat(MllpTestClient.msa1(c.exchange(hl7, 10_000))).isEqualTo("AA");
            }
        }
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> total(eventLog.heads()) >= total(from) + 3);
        List<LoggedEvent> read = after(from);
        assertThat(read).extracting(e -> e.event().type())
                .containsExactlyInAnyOrder("patient.registered", "patient.registered", "patient.merged");
        UUID survivor = read.stream().filter(e -> e.event().type().equals("patient.merged")).findFirst()
                .orElseThrow().contactId();
        assertThat(read).extracting(LoggedEvent::contactId).as("the prior record's event moved to the survivor")
                .containsOnly(survivor);
        subscriptions.poll(beta);
        for (LoggedEvent e : read) {
            assertThat(acted(beta.name)).containsEntry(at(e), 1L);
        }
    }

    double parkedCount() {
        var c = meters.find("caravan_event_log_parked_total").tag("subscriber", "it-alpha").counter();
        return c == null ? 0 : c.count();
    }
}
