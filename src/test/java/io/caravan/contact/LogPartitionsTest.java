package io.caravan.contact;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.UUID;
import org.flywaydb.core.Flyway;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;

/** The event log's partitions: Kafka's placement of a contact id, and a count that cannot change under the events. */
class LogPartitionsTest {

    static JdbcTemplate freshStore() {
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL("jdbc:h2:mem:partitions-" + UUID.randomUUID()
                + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DB_CLOSE_DELAY=-1");
        ds.setUser("sa");
        Flyway.configure().dataSource(ds).locations("classpath:db/migration").load().migrate();
        return new JdbcTemplate(ds);
    }

    @Test
    void aContactsPartitionIsWhereKafkasDefaultPartitionerPutsARecordKeyedByItsId() {
        // murmur2 values as computed by kafka-clients 3.9.1 (org.apache.kafka.common.utils.Utils.murmur2)
        assertThat(LogPartitions.murmur2("".getBytes(StandardCharsets.UTF_8))).isEqualTo(275646681);
        assertThat(LogPartitions.murmur2("a".getBytes(StandardCharsets.UTF_8))).isEqualTo(-1563381124);
        assertThat(LogPartitions.murmur2("ab".getBytes(StandardCharsets.UTF_8))).isEqualTo(316155434);
        assertThat(LogPartitions.murmur2("abc".getBytes(StandardCharsets.UTF_8))).isEqualTo(479470107);
        assertThat(LogPartitions.murmur2("abcd".getBytes(StandardCharsets.UTF_8))).isEqualTo(-1323649548);
        LogPartitions p = new LogPartitions(freshStore(), 16);
        // toPositive(murmur2(key)) % 16, as Kafka's BuiltInPartitioner.partitionForKey gives for these keys
        assertThat(p.of(UUID.fromString("0190f5a2-7c3e-7d41-9a3b-5c2e1f0d4b6a"))).isEqualTo(12);
        assertThat(p.of(UUID.fromString("018f3b2e-1a2b-7c3d-8e4f-a5b6c7d8e9f0"))).isEqualTo(3);
        assertThat(p.of(UUID.fromString("c0ffee00-0000-7000-8000-000000000001"))).isEqualTo(14);
    }

    @Test
    void theFirstStartCreatesOneHeadRowPerPartition() {
        JdbcTemplate jdbc = freshStore();
        new LogPartitions(jdbc, 16);
        assertThat(jdbc.queryForList("SELECT log_partition FROM event_log_head ORDER BY log_partition", Integer.class))
                .containsExactlyElementsOf(java.util.stream.IntStream.range(0, 16).boxed().toList());
        new LogPartitions(jdbc, 16);
        assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM event_log_head", Long.class)).isEqualTo(16);
    }

    @Test
    void theCountCanChangeWhileTheLogIsEmptyButNotOnceItHoldsEvents() {
        JdbcTemplate jdbc = freshStore();
        new LogPartitions(jdbc, 16);
        new LogPartitions(jdbc, 8);
        assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM event_log_head", Long.class)).isEqualTo(8);
        jdbc.update("UPDATE event_log_head SET last_position = 1 WHERE log_partition = 5");

        assertThatThrownBy(() -> new LogPartitions(jdbc, 4)).isInstanceOf(IllegalStateException.class)
                .hasMessage("caravan.event-log.partitions is 4 but the event log holds events in 8 partitions; the"
                        + " count cannot change once it holds events (contacts are hashed to partitions): set it back"
                        + " to 8");
        assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM event_log_head", Long.class)).isEqualTo(8);
        assertThat(new LogPartitions(jdbc, 8).count()).isEqualTo(8);
    }
}
