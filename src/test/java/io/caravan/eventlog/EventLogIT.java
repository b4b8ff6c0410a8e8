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
    static final String ACTED = "CREATE TABLE IF NOT EXISTS it_acted (subscriber VARCHAR(64), position BIGINT,"
            + " event_id UUID)";

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        HUB.register(r);
    }

    /** Acts by inserting (subscriber, position, event) - no key, so acting twice would show as two rows. */
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
            jdbc.update("INSERT INTO it_acted (subscriber, position, event_id) VALUES (?, ?, ?)", name, e.position(),
                    e.event().id());
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

    /** Sends registrations of new patients; returns the log's head once all their events are in it. */
    long register(String prefix, int n) throws Exception {
        long before = eventLog.head();
        try (MllpTestClient c = new MllpTestClient(HUB.mllpPort)) {
            for (int i = 0; i < n; i++) {
                assertThat(MllpTestClient.msa1(c.exchange(Hl7Messages.adt("A04", Hl7Messages.controlId(),
                        prefix + i, "Log", "Lee", "log@example.org", OffsetDateTime.now()), 10_000))).isEqualTo("AA");
            }
        }
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> eventLog.head() >= before + n);
        return eventLog.head();
    }

    Map<Long, Long> acted(String subscriber) {
        return jdbc.queryForList("SELECT position FROM it_acted WHERE subscriber = ?", Long.class, subscriber)
                .stream().collect(Collectors.groupingBy(p -> p, Collectors.counting()));
    }

    @Test
    void twoSubscribersProgressIndependentlyAndEachActsOnEachEventOnce() throws Exception {
        Recording alpha = named("it-alpha");
        Recording beta = named("it-beta");
        long alphaFrom = subscriptions.cursor(alpha.name);
        long betaFrom = subscriptions.cursor(beta.name);
        long head = register("LOG-A", 12);

        subscriptions.poll(alpha);
        assertThat(subscriptions.cursor(alpha.name)).isEqualTo(head);
        assertThat(subscriptions.cursor(beta.name)).as("beta was not polled").isEqualTo(betaFrom);
        assertThat(acted(beta.name).keySet()).noneMatch(p -> p > betaFrom);

        long head2 = register("LOG-B", 5);
        subscriptions.poll(beta);
        subscriptions.poll(alpha);
        subscriptions.poll(alpha);
        assertThat(subscriptions.cursor(beta.name)).isEqualTo(head2);
        assertThat(subscriptions.cursor(alpha.name)).isEqualTo(head2);
        for (String s : List.of(alpha.name, beta.name)) {
            long from = s.equals(alpha.name) ? alphaFrom : betaFrom;
            Map<Long, Long> acted = acted(s);
            for (long p = from + 1; p <= head2; p++) {
                assertThat(acted.get(p)).as(s + " at " + p).isEqualTo(1L);
            }
        }
        // positions follow commit order: the log read back is gap-free and ascending over these events
        List<LoggedEvent> read = eventLog.read("it-check", alphaFrom, 1000);
        assertThat(read).extracting(LoggedEvent::position).startsWith(alphaFrom + 1).isSorted();
        assertThat(read.stream().filter(e -> e.position() <= head2).count()).isEqualTo(head2 - alphaFrom);
    }

    @Test
    void aSubscriberAddedLaterStartsFromNow() throws Exception {
        register("LOG-EARLY", 3);
        Recording late = new Recording("it-late-" + UUID.randomUUID().toString().substring(0, 8), jdbc);
        long head = eventLog.head();
        assertThat(subscriptions.cursor(late.name)).isEqualTo(head);
        long head2 = register("LOG-LATE", 2);
        subscriptions.poll(late);
        assertThat(acted(late.name).keySet()).as("only what came after it registered")
                .containsExactlyInAnyOrderElementsOf(java.util.stream.LongStream.rangeClosed(head + 1, head2)
                        .boxed().toList());
    }

    @Test
    void aFailingEventIsRetriedFiveTimesThenParkedWithoutHoldingUpTheOthers() throws Exception {
        Recording alpha = named("it-alpha");
        subscriptions.poll(alpha);
        long from = subscriptions.cursor(alpha.name);
        double parkedBefore = parkedCount();
        alpha.failOn.add("patient.admitted");
        try {
            long before = eventLog.head();
            try (MllpTestClient c = new MllpTestClient(HUB.mllpPort)) {
                for (String trigger : List.of("A04", "A01", "A04")) {
                    assertThat(MllpTestClient.msa1(c.exchange(Hl7Messages.adt(trigger, Hl7Messages.controlId(),
                            "LOG-FAIL-" + trigger + UUID.randomUUID().toString().substring(0, 6), "Log", "Lee",
                            "log@example.org", OffsetDateTime.now()), 10_000))).isEqualTo("AA");
                }
            }
            Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> eventLog.head() >= before + 3);
            long head = eventLog.head();
            subscriptions.poll(alpha);
            assertThat(subscriptions.cursor(alpha.name)).as("the failing event does not block the cursor")
                    .isEqualTo(head);
            for (int i = 0; i < 10; i++) {
                subscriptions.poll(alpha);
            }
            long failing = from + 2;
            assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM it_acted WHERE subscriber = ? AND position = ?",
                    Long.class, alpha.name, failing)).as("effects rolled back each time").isZero();
            assertThat(jdbc.queryForMap("SELECT attempts, parked FROM event_retry WHERE subscriber = ?"
                    + " AND position = ?", alpha.name, failing)).containsEntry("attempts", 5)
                    .containsEntry("parked", true);
            assertThat(acted(alpha.name)).containsEntry(from + 1, 1L).containsEntry(from + 3, 1L);
            assertThat(parkedCount() - parkedBefore).isEqualTo(1.0);
        } finally {
            alpha.failOn.clear();
        }
    }

    @Test
    void anEventMergedAwayReachesSubscribersUnderTheSurvivor() throws Exception {
        Recording beta = named("it-beta");
        subscriptions.poll(beta);
        long from = subscriptions.cursor(beta.name);
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
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> eventLog.head() >= from + 3);
        List<LoggedEvent> read = eventLog.read(beta.name, from, 3);
        assertThat(read).extracting(e -> e.event().type())
                .containsExactly("patient.registered", "patient.registered", "patient.merged");
        assertThat(read).extracting(LoggedEvent::contactId).as("the prior record's event moved to the survivor")
                .containsOnly(read.get(2).contactId());
        subscriptions.poll(beta);
        assertThat(acted(beta.name)).containsEntry(from + 1, 1L).containsEntry(from + 2, 1L)
                .containsEntry(from + 3, 1L);
    }

    double parkedCount() {
        var c = meters.find("caravan_event_log_parked_total").tag("subscriber", "it-alpha").counter();
        return c == null ? 0 : c.count();
    }
}
