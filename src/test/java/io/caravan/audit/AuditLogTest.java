package io.caravan.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.caravan.crypto.FieldCipher;
import io.caravan.support.MutableClock;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.Period;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.crypto.KeyGenerator;
import org.flywaydb.core.Flyway;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;

/** The audit writer and verifier on the hub's own schema (H2, migrated by Flyway). */
class AuditLogTest {

    JdbcDataSource ds;
    FieldCipher cipher;
    MutableClock clock = new MutableClock(Instant.parse("2020-01-01T00:00:00Z"));
    AuditLog log;
    AuditTrail trail;
    JdbcTemplate jdbc;

    @BeforeEach
    void open() throws Exception {
        ds = new JdbcDataSource();
        ds.setURL("jdbc:h2:mem:audit-" + UUID.randomUUID() + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DB_CLOSE_DELAY=-1");
        Flyway.configure().dataSource(ds).locations("classpath:db/migration").load().migrate();
        KeyGenerator aes = KeyGenerator.getInstance("AES");
        aes.init(256);
        cipher = new FieldCipher(Map.of("dek-1", aes.generateKey()), "dek-1",
                KeyGenerator.getInstance("HmacSHA256").generateKey());
        log = new AuditLog(ds, cipher, clock, new AuditProperties(Period.ofYears(6), false, false));
        log.start();
        trail = new AuditTrail(ds, cipher);
        jdbc = new JdbcTemplate(ds);
    }

    @AfterEach
    void close() {
        log.stop();
    }

    @Test
    void concurrentAppendsGetOneUnbrokenChain() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        Set<Long> seqs = ConcurrentHashMap.newKeySet();
        List<CompletableFuture<Void>> all = new ArrayList<>();
        for (int i = 0; i < 800; i++) {
            int n = i;
            all.add(CompletableFuture.runAsync(() -> seqs.add(log.appendAndWait(AuditDraft.of("t", Actions.PHI_READ)
                    .contact(UUID.randomUUID()).detail("n", n))), pool));
        }
        CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        pool.shutdown();
        assertThat(seqs).hasSize(800).allMatch(s -> s >= 1 && s <= 800);
        AuditTrail.Verification v = trail.verify();
        assertThat(v.valid()).as(v.toString()).isTrue();
        assertThat(v.verifiedEntries()).isEqualTo(800);
        assertThat(trail.find(List.of(), null, null, null, 0, 1000)).extracting(e -> e.details().get("n"))
                .as("details are sealed and read back").hasSize(800).doesNotContainNull();
        assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM audit_entry WHERE payload IS NOT NULL", Long.class))
                .isEqualTo(800);
    }

    @Test
    void aChangeAndItsEntryCommitTogetherOrNotAtAll() {
        jdbc.execute("CREATE TABLE probe (id INT PRIMARY KEY)");
        CompletableFuture<Long> ok = log.append(AuditDraft.of("t", Actions.CONSENT_RECORDED),
                c -> c.createStatement().execute("INSERT INTO probe VALUES (1)"));
        CompletableFuture<Long> bad = log.append(AuditDraft.of("t", Actions.CONSENT_RECORDED),
                c -> c.createStatement().execute("INSERT INTO probe VALUES (1)"));
        assertThat(ok.join()).isEqualTo(1);
        assertThatThrownBy(bad::join).hasCauseInstanceOf(SQLException.class);
        assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM probe", Long.class)).isEqualTo(1);
        assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM audit_entry", Long.class)).isEqualTo(1);
        assertThat(log.appendAndWait(AuditDraft.of("t", Actions.PHI_READ))).as("the chain goes on").isEqualTo(2);
        assertThat(trail.verify().valid()).isTrue();
    }

    @Test
    void outboxEntriesJoinTheChainOnceAndLeaveTheOutbox() throws Exception {
        UUID contact = UUID.randomUUID();
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            log.writeOutbox(c, List.of(AuditDraft.of("hl7:feed", Actions.CONSENT_CHANGED).contact(contact)
                    .detail("raised", List.of("opt-out:any:marketing"))));
            c.commit();
        }
        log.outboxWritten();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() ->
                jdbc.queryForObject("SELECT COUNT(*) FROM audit_outbox", Long.class) == 0);
        List<AuditEntry> entries = trail.find(List.of(contact), null, null, "consent.", 0, 10);
        assertThat(entries).hasSize(1);
        assertThat(entries.get(0).actor()).isEqualTo("hl7:feed");
        assertThat(entries.get(0).details()).containsEntry("raised", List.of("opt-out:any:marketing"));
        assertThat(trail.verify().valid()).isTrue();
    }

    @Test
    void purgeKeepsTheRestVerifiableAndIsItselfRecorded() {
        for (int year = 0; year < 9; year++) {
            clock.now = Instant.parse("2020-01-01T00:00:00Z").atZone(ZoneOffset.UTC).plusYears(year).toInstant();
            for (int i = 0; i < 5; i++) {
                log.appendAndWait(AuditDraft.of("t", Actions.DISCLOSURE).detail("year", 2020 + year));
            }
        }
        Instant cutoff = clock.now.atZone(ZoneOffset.UTC).minusYears(6).toInstant(); // 2022-01-01
        long purgeSeq = log.purgeBefore(cutoff).join();
        AuditTrail.Verification v = trail.verify();
        assertThat(v.valid()).as(v.toString()).isTrue();
        assertThat(v.purgedThrough()).isEqualTo(10);
        assertThat(v.verifiedEntries()).isEqualTo(45 - 10 + 1);
        List<AuditEntry> left = trail.find(List.of(), null, null, null, 0, 1000);
        assertThat(left.get(0).seq()).isEqualTo(11);
        assertThat(left.get(0).details()).containsEntry("year", 2022);
        AuditEntry purge = left.get(left.size() - 1);
        assertThat(purge.seq()).isEqualTo(purgeSeq);
        assertThat(purge.action()).isEqualTo(Actions.PURGED);
        assertThat(purge.details()).containsEntry("purgedThrough", 10);
        assertThat(log.purgeBefore(cutoff).join()).as("a purge with nothing to purge adds no entry")
                .isEqualTo(purgeSeq);
        assertThat(trail.verify().verifiedEntries()).isEqualTo(45 - 10 + 1);

        // deleting the oldest remaining entry is still caught after a purge
        jdbc.update("DELETE FROM audit_entry WHERE seq = 11");
        assertThat(trail.verify()).satisfies(x -> {
            assertThat(x.valid()).isFalse();
            assertThat(x.firstBroken()).isEqualTo(11L);
        });
    }

    long entries() {
        return jdbc.queryForObject("SELECT COUNT(*) FROM audit_entry", Long.class);
    }

    @Test
    void theDailyPurgeAtStartWithAClockSetYearsAheadDeletesNothingTheRetentionStillCovers() {
        for (int year = 0; year < 3; year++) {
            clock.now = Instant.parse("2020-01-01T00:00:00Z").atZone(ZoneOffset.UTC).plusYears(year).toInstant();
            for (int i = 0; i < 5; i++) {
                log.appendAndWait(AuditDraft.of("t", Actions.DISCLOSURE).detail("year", 2020 + year));
            }
        }
        log.stop();
        clock.now = Instant.parse("2042-06-01T00:00:00Z"); // twenty years ahead of the newest entry
        log = new AuditLog(ds, cipher, clock, new AuditProperties(Period.ofYears(6), true, false));
        log.start(); // the daily purge runs at once
        org.awaitility.Awaitility.await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(3))
                .until(() -> entries() == 15);
        assertThat(trail.verify()).satisfies(v -> {
            assertThat(v.valid()).isTrue();
            assertThat(v.purgedThrough()).isZero();
            assertThat(v.verifiedEntries()).isEqualTo(15);
        });
    }

    @Test
    void aPurgeIsRefusedWhenTheTrailJumpsAheadOrTheClockIsBehindTheNewestEntry() {
        for (int year = 0; year < 3; year++) {
            clock.now = Instant.parse("2020-01-01T00:00:00Z").atZone(ZoneOffset.UTC).plusYears(year).toInstant();
            for (int i = 0; i < 5; i++) {
                log.appendAndWait(AuditDraft.of("t", Actions.DISCLOSURE).detail("year", 2020 + year));
            }
        }
        // the hub ran for a while with a clock twenty years ahead: its entries carry that time
        clock.now = Instant.parse("2042-06-01T00:00:00Z");
        for (int i = 0; i < 3; i++) {
            log.appendAndWait(AuditDraft.of("t", Actions.PHI_READ));
        }
        Instant cutoff = clock.now.atZone(ZoneOffset.UTC).minusYears(6).toInstant();
        assertThatThrownBy(() -> log.purgeBefore(cutoff).join()).hasCauseInstanceOf(AuditLog.PurgeRefused.class)
                .hasMessageContaining("jumps ahead in time");
        assertThat(entries()).isEqualTo(18);

        // the clock is put back, behind the newest entry
        clock.now = Instant.parse("2023-01-01T00:00:00Z");
        assertThatThrownBy(() -> log.purgeBefore(Instant.parse("2017-01-01T00:00:00Z")).join())
                .hasCauseInstanceOf(AuditLog.PurgeRefused.class).hasMessageContaining("earlier than the newest");
        assertThat(entries()).isEqualTo(18);
        assertThat(trail.verify().valid()).isTrue();
        assertThat(log.appendAndWait(AuditDraft.of("t", Actions.PHI_READ))).as("the trail goes on").isEqualTo(19);
    }

    @Test
    void entriesOfAContactAreFoundWhetherAlreadyIndexedOrStillInTheTail() {
        UUID a = UUID.randomUUID();
        UUID b = UUID.randomUUID();
        for (int i = 0; i < 30; i++) {
            log.appendAndWait(AuditDraft.of("t", i % 2 == 0 ? Actions.DISCLOSURE : Actions.PHI_READ)
                    .contact(i % 3 == 0 ? b : a).detail("n", i));
        }
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> jdbc.queryForObject(
                "SELECT indexed_through FROM audit_index_state", Long.class) == 30);
        for (int i = 30; i < 40; i++) {
            log.appendAndWait(AuditDraft.of("t", Actions.DISCLOSURE).contact(i % 3 == 0 ? b : a).detail("n", i));
        }
        List<Integer> expected = java.util.stream.IntStream.range(0, 40).filter(i -> i % 3 != 0).boxed().toList();
        assertThat(trail.find(List.of(a), null, null, null, 0, 1000)).extracting(e -> e.details().get("n"))
                .as("indexed part then tail, in order, once each").containsExactlyElementsOf(expected);
        assertThat(trail.find(List.of(a), null, null, Actions.DISCLOSURE, 0, 1000)).extracting(e -> e.details().get("n"))
                .containsExactlyElementsOf(expected.stream().filter(i -> i % 2 == 0 || i >= 30).toList());
        List<AuditEntry> firstPage = trail.find(List.of(a), null, null, null, 0, 7);
        List<AuditEntry> rest = trail.find(List.of(a), null, null, null, firstPage.get(6).seq(), 1000);
        assertThat(firstPage.size() + rest.size()).isEqualTo(expected.size());
        assertThat(trail.find(List.of(UUID.randomUUID()), null, null, null, 0, 1000)).isEmpty();
    }

    @Test
    void entriesAreFilteredByTimeAndAction() {
        Instant start = Instant.parse("2021-03-01T00:00:00Z");
        for (int day = 0; day < 10; day++) {
            clock.now = start.plus(Duration.ofDays(day));
            log.appendAndWait(AuditDraft.of("t", day % 2 == 0 ? Actions.CONSENT_RECORDED : Actions.CONSENT_REVOKED)
                    .detail("day", day));
        }
        assertThat(trail.find(List.of(), start.plus(Duration.ofDays(3)), start.plus(Duration.ofDays(6)), null, 0,
                100)).extracting(e -> e.details().get("day")).containsExactly(3, 4, 5);
        assertThat(trail.find(List.of(), null, null, "consent.", 0, 100)).hasSize(10);
        assertThat(trail.find(List.of(), null, null, Actions.CONSENT_REVOKED, 0, 100))
                .extracting(e -> e.details().get("day")).containsExactly(1, 3, 5, 7, 9);
    }

    @Test
    void aRetentionShorterThanSixYearsIsRefused() {
        assertThatThrownBy(() -> new AuditProperties(Period.ofYears(5), true, false)).hasMessageContaining("six years");
    }
}
