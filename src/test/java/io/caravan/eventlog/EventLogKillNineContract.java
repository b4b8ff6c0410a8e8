package io.caravan.eventlog;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.support.Hl7Messages;
import io.caravan.support.HubProcess;
import io.caravan.support.MllpTestClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two event-log subscribers on the packaged hub - the workflow engine and a slow recording subscriber added from test
 * classes - and {@code kill -9} while the engine's cursor has passed events the recorder's has not: after the restart
 * each has acted on each event exactly once (one journey per registration, one recorded row per position). Run on each
 * store; the test reads the cursors from the database while the hub runs.
 */
abstract class EventLogKillNineContract {

    /** The hub's store: a PostgreSQL JDBC URL, or null for the embedded default (H2). */
    abstract String jdbcUrl();

    /** Arguments the hub needs besides the store, e.g. an H2 URL the test can read while the hub runs. */
    abstract List<String> hubArgs(Path data);

    /** A JDBC URL (user and password in it) for the test's own reads of the hub's database. */
    abstract String readUrl(Path data);

    static final int PATIENTS = 60;

    @Test
    void afterKillNineBetweenTwoCursorsEachSubscriberActsOnEachEventOnce(@TempDir Path tmp) throws Exception {
        Path workflows = Files.createDirectories(tmp.resolve("workflows"));
        Files.writeString(workflows.resolve("hold.yaml"), """
                id: hold
                purpose: treatment
                trigger: { event: patient.registered }
                steps:
                  - { id: hold, wait: { for: 1h } }
                """);
        Path probe = Files.createDirectories(tmp.resolve("probe/eventlogprobe"));
        Files.copy(Path.of("target/test-classes/eventlogprobe/RecordingSubscriber.class"),
                probe.resolve("RecordingSubscriber.class"), StandardCopyOption.REPLACE_EXISTING);
        Path data = tmp.resolve("data");
        List<String> args = new ArrayList<>(List.of("--caravan.workflow.dir=" + workflows,
                "--spring.main.sources=eventlogprobe.RecordingSubscriber", "--probe.delay-ms=60"));
        args.addAll(hubArgs(data));
        String hubUrl = jdbcUrl();
        String url = hubUrl != null ? hubUrl : readUrl(data);
        try (HubProcess hub = new HubProcess(data, hubUrl, args.toArray(String[]::new))
                .withClassPath(tmp.resolve("probe"))) {
            hub.start();
            try (MllpTestClient c = new MllpTestClient(hub.mllpPort)) {
                for (int i = 0; i < PATIENTS; i++) {
                    assertThat(MllpTestClient.msa1(c.exchange(Hl7Messages.adt("A04", Hl7Messages.controlId(),
                            "KILLLOG-" + i, "Log", "Lee", "log" + i + "@example.org", OffsetDateTime.now()),
                            10_000))).isEqualTo("AA");
                }
            }
            // the engine keeps up; the recorder (60 ms an event) lags: kill once the engine has everything. On H2 the
            // ACK follows the journal write and the database takes the messages just after: wait for the whole log
            Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20))
                    .until(() -> head(url) >= PATIENTS && cursors(url).getOrDefault("workflow", 0L) >= head(url));
            // read before the kill: on H2 the database file may lag what the running hub committed (its journal and
            // the effects' own transactions cover that), so after the kill it can show an earlier state of both
            Map<String, Long> atKill = cursors(url);
            long head = head(url);
            hub.kill9();
            assertThat(head).isEqualTo(PATIENTS);
            assertThat(atKill.get("workflow")).isEqualTo(head);
            assertThat(atKill.get("probe")).as("the kill fell between the two cursors' commits").isLessThan(head);

            hub.start();
            Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250))
                    .until(() -> cursors(url).getOrDefault("probe", 0L) >= head
                            && cursors(url).getOrDefault("workflow", 0L) >= head);
            try (Connection db = DriverManager.getConnection(url); Statement s = db.createStatement()) {
                assertThat(count(s, "SELECT COUNT(*) FROM probe_acted")).as("one row per event").isEqualTo(head);
                assertThat(count(s, "SELECT COUNT(*) FROM (SELECT DISTINCT log_partition, position FROM probe_acted)"
                        + " d")).isEqualTo(head);
                // positions count per partition: each event of the log was acted on, and nothing else
                assertThat(count(s, "SELECT COUNT(*) FROM trigger_event t WHERE t.position IS NOT NULL AND NOT EXISTS"
                        + " (SELECT 1 FROM probe_acted a WHERE a.log_partition = t.log_partition"
                        + " AND a.position = t.position AND a.event_id = t.id)")).isZero();
                assertThat(count(s, "SELECT COUNT(*) FROM probe_acted a WHERE NOT EXISTS (SELECT 1 FROM"
                        + " trigger_event t WHERE a.log_partition = t.log_partition AND a.position = t.position)"))
                        .isZero();
                assertThat(count(s, "SELECT COUNT(*) FROM journey WHERE workflow_id = 'hold'"))
                        .as("one journey per registration").isEqualTo(PATIENTS);
                assertThat(count(s, "SELECT COUNT(DISTINCT contact_id) FROM journey WHERE workflow_id = 'hold'"))
                        .isEqualTo(PATIENTS);
            }
        }
    }

    /** Per subscriber, how many events its cursors have passed: the sum over the partitions. */
    static Map<String, Long> cursors(String url) throws SQLException {
        Map<String, Long> out = new HashMap<>();
        try (Connection db = DriverManager.getConnection(url); Statement s = db.createStatement();
                ResultSet rs = s.executeQuery("SELECT subscriber, position FROM event_cursor")) {
            while (rs.next()) {
                out.merge(rs.getString(1), rs.getLong(2), Long::sum);
            }
        }
        return out;
    }

    /** How many events the log holds: the sum of its partitions' heads. */
    static long head(String url) throws SQLException {
        try (Connection db = DriverManager.getConnection(url); Statement s = db.createStatement()) {
            return count(s, "SELECT COALESCE(SUM(last_position), 0) FROM event_log_head");
        }
    }

    static long count(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
