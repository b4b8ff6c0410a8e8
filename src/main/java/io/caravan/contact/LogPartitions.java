package io.caravan.contact;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * The event log's partitions: a contact's events all go to partition {@code murmur2(contact id) mod count}, so one
 * patient's events keep their order while different patients' events are appended (and committed) independently -
 * each partition has its own head row, locked only by the writers appending to it. The hash is Kafka's default
 * partitioner on the contact id's text, so a Kafka topic with as many partitions, keyed by contact id, holds each
 * event in the same partition as here.
 *
 * <p>The count ({@code caravan.event-log.partitions}) is fixed once the log holds events: a different count would move
 * contacts to other partitions and break their order. Checked (and the head rows created) when the hub starts, before
 * the contact writer takes any message.
 */
@Component
public class LogPartitions {

    private static final Logger log = LoggerFactory.getLogger(LogPartitions.class);
    static final int MAX = 1024;

    private final int count;

    public LogPartitions(JdbcTemplate jdbc, @Value("${caravan.event-log.partitions:16}") int count) {
        if (count < 1 || count > MAX) {
            throw new IllegalStateException("caravan.event-log.partitions must be between 1 and " + MAX + ", not "
                    + count);
        }
        this.count = count;
        for (int attempt = 1; ; attempt++) {
            try {
                fix(jdbc);
                break;
            } catch (DuplicateKeyException raced) {
                // another node created the rows at the same time: check what it wrote. It writes the heads, then the
                // config row, so a node can lose the race on each in turn (SharedKeysPostgresIT starts two at once)
                if (attempt == 3) {
                    throw raced;
                }
            }
        }
    }

    /** The number of partitions. */
    public int count() {
        return count;
    }

    /** The partition of a contact's events. */
    public int of(UUID contactId) {
        return ofKey(contactId.toString());
    }

    /** The partition a key hashes to, as Kafka's default partitioner places a record with that key. */
    public int ofKey(String key) {
        return (murmur2(key.getBytes(StandardCharsets.UTF_8)) & 0x7fffffff) % count;
    }

    private void fix(JdbcTemplate jdbc) {
        List<Integer> fixed = jdbc.queryForList("SELECT partitions FROM event_log_config WHERE id = 1", Integer.class);
        Long held = jdbc.queryForObject("SELECT COALESCE(SUM(last_position), 0) FROM event_log_head", Long.class);
        if (!fixed.isEmpty() && fixed.get(0) != count) {
            if (held != null && held > 0) {
                throw new IllegalStateException("caravan.event-log.partitions is " + count + " but the event log"
                        + " holds events in " + fixed.get(0) + " partitions; the count cannot change once it holds"
                        + " events (contacts are hashed to partitions): set it back to " + fixed.get(0));
            }
            log.info("Event log partitions changed from {} to {} (the log is empty)", fixed.get(0), count);
        }
        jdbc.update("DELETE FROM event_log_head WHERE log_partition >= ?", count);
        List<Integer> have = jdbc.queryForList("SELECT log_partition FROM event_log_head", Integer.class);
        for (int p = 0; p < count; p++) {
            if (!have.contains(p)) {
                jdbc.update("INSERT INTO event_log_head (log_partition, last_position) VALUES (?, 0)", p);
            }
        }
        if (fixed.isEmpty()) {
            jdbc.update("INSERT INTO event_log_config (id, partitions) VALUES (1, ?)", count);
        } else if (fixed.get(0) != count) {
            jdbc.update("UPDATE event_log_config SET partitions = ? WHERE id = 1", count);
        }
    }

    /** Kafka's murmur2 ({@code org.apache.kafka.common.utils.Utils.murmur2}), which its default partitioner uses. */
    static int murmur2(byte[] data) {
        int length = data.length;
        int m = 0x5bd1e995;
        int r = 24;
        int h = 0x9747b28c ^ length;
        int length4 = length / 4;
        for (int i = 0; i < length4; i++) {
            int i4 = i * 4;
            int k = (data[i4] & 0xff) + ((data[i4 + 1] & 0xff) << 8) + ((data[i4 + 2] & 0xff) << 16)
                    + ((data[i4 + 3] & 0xff) << 24);
            k *= m;
            k ^= k >>> r;
            k *= m;
            h *= m;
            h ^= k;
        }
        int tail = length & ~3;
        switch (length % 4) {
            case 3:
                h ^= (data[tail + 2] & 0xff) << 16;
                // fall through
            case 2:
                h ^= (data[tail + 1] & 0xff) << 8;
                // fall through
            case 1:
                h ^= data[tail] & 0xff;
                h *= m;
                break;
            default:
                break;
        }
        h ^= h >>> 13;
        h *= m;
        h ^= h >>> 15;
        return h;
    }
}
