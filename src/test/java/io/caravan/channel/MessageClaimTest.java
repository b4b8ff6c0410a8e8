package io.caravan.channel;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.support.Stores;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The send gate's claim on several nodes: a planned message handed to two nodes' gates (a starting node hands over
 * every planned message of the shared store, including those in a live node's queue) is sent by one attempt only, and
 * still goes when the claiming node died.
 */
class MessageClaimTest {

    static final Instant NOW = Instant.parse("2026-06-01T12:00:00Z");

    JdbcTemplate jdbc;
    MessageStore store;

    @BeforeEach
    void open() throws Exception {
        jdbc = new JdbcTemplate(Stores.migrated("claim"));
        store = new MessageStore(jdbc, Stores.cipher());
    }

    UUID planned(Instant created) {
        UUID id = UUID.randomUUID();
        store.insert(new OutboundMessage(id, UUID.randomUUID(), "email", "treatment", "reminder",
                MessageStatus.PLANNED, null, List.of(), created, created), Map.of(), "test");
        return id;
    }

    Instant due(UUID id) {
        Timestamp t = jdbc.queryForObject("SELECT next_attempt_at FROM outbound_message WHERE id = ?", Timestamp.class,
                id);
        return t == null ? null : t.toInstant();
    }

    @Test
    void twoGatesClaimingOneMessageOnlyOneSendsAndTheOtherMakesItDueWhenTheClaimRunsOut() {
        UUID id = planned(NOW);
        Instant until = NOW.plus(Deliveries.CLAIM);

        assertThat(store.claim(id, "node-a-attempt", NOW, until)).isTrue();
        assertThat(store.claim(id, "node-b-attempt", NOW.plusSeconds(1), NOW.plusSeconds(1).plus(Deliveries.CLAIM)))
                .as("a second gate, on this node or another, while the first attempt holds the message").isFalse();
        store.dueAfterClaim(id, NOW.plusSeconds(1));
        assertThat(due(id)).as("due again when the claim runs out, in case its node died").isEqualTo(until);

        // the claiming node died: after the claim the retry's gate takes it
        assertThat(store.claim(id, "node-c-attempt", until, until.plus(Deliveries.CLAIM))).isTrue();
    }

    /** Node "gone" stopped (the cluster recovered it): a claim of its older than 30 s is free to take over. */
    static final io.caravan.system.NodeLiveness LIVENESS = new io.caravan.system.NodeLiveness() {
        @Override
        public String self() {
            return "here";
        }

        @Override
        public boolean stopped(String node, Instant claimedAt) {
            return node.equals("gone") && claimedAt.isBefore(NOW.minusSeconds(30));
        }

        @Override
        public java.util.Set<String> nodes() {
            return java.util.Set.of("here", "there");
        }
    };

    @Test
    void aNodeWhoseCheckInRecordGoesHasLeftTheCluster() {
        java.util.concurrent.atomic.AtomicReference<java.util.Set<String>> nodes =
                new java.util.concurrent.atomic.AtomicReference<>(java.util.Set.of("here", "gone"));
        Messages messages = new Messages(null, null, store, null, java.time.Clock.fixed(NOW, java.time.ZoneOffset.UTC));
        assertThat(messages.nodeLeft()).as("one node: no record of nodes").isFalse();
        messages.liveness(new io.caravan.system.NodeLiveness() {
            @Override
            public String self() {
                return "here";
            }

            @Override
            public boolean stopped(String node, Instant claimedAt) {
                return false;
            }

            @Override
            public java.util.Set<String> nodes() {
                return nodes.get();
            }
        });
        assertThat(messages.nodeLeft()).as("the first look").isFalse();
        assertThat(messages.nodeLeft()).isFalse();
        nodes.set(java.util.Set.of("here", "gone", "new"));
        assertThat(messages.nodeLeft()).as("a node joined").isFalse();
        nodes.set(java.util.Set.of("here", "new"));
        assertThat(messages.nodeLeft()).as("a node's record went").isTrue();
        assertThat(messages.nodeLeft()).as("once").isFalse();
    }

    @Test
    void theClaimsOfAStoppedNodeFallDueAtOnceAndOneGateTakesEachOver() {
        UUID old = planned(NOW.minusSeconds(60));
        UUID young = planned(NOW.minusSeconds(60));
        UUID alive = planned(NOW.minusSeconds(60));
        UUID sent = planned(NOW.minusSeconds(60));
        assertThat(store.claim(old, "gone-1", "gone", NOW.minusSeconds(40), NOW.minusSeconds(40).plus(Deliveries.CLAIM)))
                .isTrue();
        assertThat(store.claim(young, "gone-2", "gone", NOW.minusSeconds(10),
                NOW.minusSeconds(10).plus(Deliveries.CLAIM))).isTrue();
        assertThat(store.claim(alive, "there-1", "there", NOW.minusSeconds(40),
                NOW.minusSeconds(40).plus(Deliveries.CLAIM))).isTrue();
        assertThat(store.claim(sent, "gone-3", "gone", NOW.minusSeconds(50),
                NOW.minusSeconds(50).plus(Deliveries.CLAIM))).isTrue();
        assertThat(store.finish(sent, MessageStatus.SENT, "tls", List.of(), NOW.minusSeconds(45))).isTrue();

        Deliveries deliveries = new Deliveries(store, null, null, java.time.Clock.fixed(NOW, java.time.ZoneOffset.UTC),
                null, true, "");
        assertThat(deliveries.dueFromStoppedNodes()).as("one node: no liveness, claims last until they run out")
                .isZero();
        deliveries.liveness(LIVENESS);
        assertThat(deliveries.dueFromStoppedNodes()).isEqualTo(1);
        assertThat(store.takeDue(NOW, Duration.ofMinutes(10))).containsExactly(old);

        // two gates find it due: the first takes the claim over, the second finds a live claim
        MessageStore.Claim held = store.claimOf(old, NOW).orElseThrow();
        assertThat(held).isEqualTo(new MessageStore.Claim("gone-1", "gone", NOW.minusSeconds(40).plus(Deliveries.CLAIM)));
        assertThat(store.takeOver(old, held.attempt(), "here-1", "here", NOW.plus(Deliveries.CLAIM))).isTrue();
        assertThat(store.takeOver(old, held.attempt(), "here-2", "here", NOW.plus(Deliveries.CLAIM))).isFalse();
        assertThat(store.claimOf(old, NOW).orElseThrow().node()).isEqualTo("here");
        assertThat(store.claimOf(sent, NOW)).as("a finished message has no claim to take").isEmpty();
        assertThat(store.claimsOf("gone", NOW)).as("a finished attempt's claim went with it").containsOnlyKeys(young);
        assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM outbound_message WHERE id = ? AND claimed_by IS NULL"
                + " AND claim_node IS NULL AND claim_until IS NULL", Integer.class, sent)).isEqualTo(1);
        assertThat(store.claimingNodes(NOW)).containsOnlyKeys("here", "gone", "there");
    }

    @Test
    void aSentMessageIsNeitherClaimedNorMadeDueAgain() {
        UUID id = planned(NOW);
        assertThat(store.claim(id, "a", NOW, NOW.plus(Deliveries.CLAIM))).isTrue();
        assertThat(store.finish(id, MessageStatus.SENT, "tls", List.of(), NOW.plusSeconds(2))).isTrue();

        Instant later = NOW.plus(Deliveries.CLAIM).plusSeconds(1);
        assertThat(store.claim(id, "b", later, later.plus(Deliveries.CLAIM))).isFalse();
        assertThat(store.takeDue(later.plus(Duration.ofHours(1)), Duration.ofMinutes(10))).doesNotContain(id);
    }

    @Test
    void aDeferredAttemptGivesItsClaimBackSoTheRetryMayRunOnAnyNode() {
        UUID id = planned(NOW);
        assertThat(store.claim(id, "a", NOW, NOW.plus(Deliveries.CLAIM))).isTrue();
        store.defer(id, List.of("store-unavailable"), false, NOW.plusSeconds(5), NOW);

        assertThat(store.takeDue(NOW.plusSeconds(5), Duration.ofMinutes(10))).containsExactly(id);
        assertThat(store.claim(id, "b", NOW.plusSeconds(6), NOW.plusSeconds(6).plus(Deliveries.CLAIM))).isTrue();
    }

    @Test
    void plannedMessagesStrandedInAStoppedNodesQueueFallDueButNotFreshOrClaimedOnes() {
        UUID stranded = planned(NOW.minus(Duration.ofMinutes(30)));
        UUID fresh = planned(NOW.minus(Duration.ofSeconds(30)));
        UUID sending = planned(NOW.minus(Duration.ofMinutes(30)));
        assertThat(store.claim(sending, "a", NOW.minusSeconds(10), NOW.plus(Deliveries.CLAIM))).isTrue();

        assertThat(store.dueIfStranded(NOW.minus(Messages.STRANDED), NOW)).isEqualTo(1);
        assertThat(store.takeDue(NOW, Duration.ofMinutes(10))).containsExactly(stranded);
        assertThat(due(fresh)).isNull();
    }

    @Test
    void anAuditTrailOutOfReachBeforeTheWireDefersTheMessageAfterTheWireItFails() throws Exception {
        Deliveries deliveries = new Deliveries(store, null, null, java.time.Clock.fixed(NOW, java.time.ZoneOffset.UTC),
                null);
        java.lang.reflect.Constructor<io.caravan.audit.AuditLog.AuditUnavailable> c =
                io.caravan.audit.AuditLog.AuditUnavailable.class.getDeclaredConstructor(String.class, Throwable.class);
        c.setAccessible(true);
        var camel = new org.apache.camel.impl.DefaultCamelContext();

        UUID before = planned(NOW);
        org.apache.camel.Exchange held = new org.apache.camel.support.DefaultExchange(camel);
        held.setProperty(Messages.MESSAGE_ID, before);
        java.util.concurrent.CompletableFuture<Long> never = new java.util.concurrent.CompletableFuture<>();
        never.completeExceptionally(c.newInstance("the audit trail could not record the action",
                new java.util.concurrent.TimeoutException()));
        held.setProperty(Deliveries.DECISION_RECORDED, never);
        try {
            Deliveries.awaitDecision(held);
        } catch (RuntimeException e) {
            held.setProperty(org.apache.camel.Exchange.EXCEPTION_CAUGHT, e);
        }
        deliveries.failed(held);
        assertThat(store.find(before).orElseThrow().status()).isEqualTo(MessageStatus.DEFERRED);

        // the same exception after the channel's wire (the disclosure could not be recorded): failed, not sent again
        UUID after = planned(NOW);
        org.apache.camel.Exchange went = new org.apache.camel.support.DefaultExchange(camel);
        went.setProperty(Messages.MESSAGE_ID, after);
        went.setProperty(org.apache.camel.Exchange.EXCEPTION_CAUGHT, c.newInstance("the audit trail could not"
                + " record the action", new java.util.concurrent.TimeoutException()));
        deliveries.failed(went);
        assertThat(store.find(after).orElseThrow().status()).isEqualTo(MessageStatus.FAILED);
    }
}
