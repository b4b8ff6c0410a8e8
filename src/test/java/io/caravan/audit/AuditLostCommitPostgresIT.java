package io.caravan.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.caravan.support.PgProxy;
import io.caravan.support.TestHub;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The connection drops inside the audit writer's COMMIT: PostgreSQL committed the group, the hub never heard. Each
 * entry must be in the trail once - a blind retry wrote them twice (a disclosure twice in the patient's accounting) -
 * and its caller must hear it is durable, or, while the database cannot be asked, that the trail is out of reach; an
 * entry queued again then is not written a second time.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@ActiveProfiles("postgres")
@DirtiesContext
class AuditLostCommitPostgresIT {

    static final TestHub HUB = TestHub.namedPostgres("audit-lost-commit");
    static final PgProxy PROXY;

    static {
        try {
            PROXY = PgProxy.before(HUB.jdbcUrl);
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        HUB.register(r);
        r.add("spring.datasource.url", () -> PROXY.url(HUB.jdbcUrl));
        // while the proxy refuses, the writer's question "did it land?" fails in seconds, not Hikari's 30
        r.add("spring.datasource.hikari.connection-timeout", () -> "2000");
    }

    @AfterAll
    static void stop() throws Exception {
        PROXY.close();
    }

    @Autowired
    AuditLog audit;
    @Autowired
    AuditTrail trail;

    @Test
    void aCommitThatLostItsAnswerIsInTheTrailOnceAndReportedDurable() throws Exception {
        List<AuditDraft> drafts = drafts("lost-answer", 5);
        var cut = PROXY.cutCommitAfter("UPDATE audit_chain", false,
                drafts.stream().map(AuditDraft::id).toList());
        List<Long> seqs = audit.appendAllAndWait(drafts);
        assertThat(cut).as("the proxy cut a commit").isDone();
        assertThat(drafts.stream().anyMatch(d -> PROXY.cutCarried(d.id()))).as("the commit cut was the test's").isTrue();
        assertThat(seqs).doesNotContainNull().doesNotHaveDuplicates();
        for (int i = 0; i < drafts.size(); i++) {
            assertThat(rows(drafts.get(i).id())).as("entry %d's rows", i).containsExactly(seqs.get(i));
        }
        assertThat(trail.verify().valid()).isTrue();
        // and the trail goes on from there
        long next = audit.appendAndWait(AuditDraft.of("test", "after-lost-answer"));
        assertThat(next).isGreaterThan(seqs.get(seqs.size() - 1));
        assertThat(trail.verify().valid()).isTrue();
    }

    @Test
    void anEntryQueuedAgainAfterAnUnansweredCommitIsNotWrittenTwice() throws Exception {
        AuditDraft draft = drafts("unknown-outcome", 1).get(0);
        var cut = PROXY.cutCommitAfter("UPDATE audit_chain", true, List.of(draft.id()));
        try {
            // the commit landed, but the writer cannot ask: its caller hears the trail is out of reach
            assertThatThrownBy(() -> audit.appendAndWait(draft)).isInstanceOf(AuditLog.AuditUnavailable.class);
            cut.get(10, TimeUnit.SECONDS);
            assertThat(PROXY.cutCarried(draft.id())).as("the commit cut was the test's").isTrue();
        } finally {
            PROXY.refuse(false);
        }
        // the caller tries again with the same entry (as the send path's record of a sent message does: Deliveries'
        // SentRecord), until the trail takes it - the pool may first hand out a connection the outage closed
        long seq = org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30))
                .pollInterval(java.time.Duration.ofMillis(200)).ignoreException(AuditLog.AuditUnavailable.class)
                .until(() -> audit.appendAndWait(draft), x -> true);
        assertThat(rows(draft.id())).containsExactly(seq);
        assertThat(trail.verify().valid()).isTrue();
        long next = audit.appendAndWait(AuditDraft.of("test", "after-unknown-outcome"));
        assertThat(next).isGreaterThan(seq);
        assertThat(trail.verify().valid()).isTrue();
    }

    static List<AuditDraft> drafts(String action, int n) {
        List<AuditDraft> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(AuditDraft.of("test", action).contact(UUID.randomUUID()).detail("n", i));
        }
        return out;
    }

    /** The seqs of the trail's rows with this entry id. */
    static List<Long> rows(UUID id) throws Exception {
        List<Long> out = new ArrayList<>();
        try (var c = java.sql.DriverManager.getConnection(HUB.jdbcUrl);
                var ps = c.prepareStatement("SELECT seq FROM audit_entry WHERE id = ? ORDER BY seq")) {
            ps.setObject(1, id);
            try (var rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getLong(1));
                }
            }
        }
        return out;
    }
}
