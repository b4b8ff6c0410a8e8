package io.caravan.cluster;

import io.caravan.system.NodeLiveness;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.quartz.Scheduler;
import org.quartz.SchedulerException;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * The nodes' liveness as the clustered Quartz job store records it: a node checks in to {@code qrtz_scheduler_state}
 * every {@code clusterCheckinInterval}, and when it stops, the first node to find it failed recovers its fires and
 * deletes its record. Quartz's verdict is the one followed here - a stale record is not enough, since after a database
 * outage every node's record is stale until it checks in again, and Quartz's own test allows for that. Node ids are
 * the scheduler instance ids.
 */
@Component
@ConditionalOnProperty(name = "caravan.cluster.enabled", havingValue = "true")
class QuartzNodeLiveness implements NodeLiveness {

    /**
     * A claim by a node with no check-in record: a node checks in when its scheduler starts, right after its Camel
     * context and before any send; past this the record is missing because another node recovered the node.
     */
    static final Duration FIRST_CHECK_IN = Duration.ofSeconds(30);

    private final JdbcTemplate jdbc;
    private final String schedulerName;
    private final String self;
    private final Clock clock;

    QuartzNodeLiveness(Scheduler scheduler, JdbcTemplate jdbc, Clock clock) throws SchedulerException {
        this.jdbc = jdbc;
        this.schedulerName = scheduler.getSchedulerName();
        this.self = scheduler.getSchedulerInstanceId();
        this.clock = clock;
    }

    @Override
    public String self() {
        return self;
    }

    @Override
    public boolean stopped(String node, Instant claimedAt) {
        if (self.equals(node) || !claimedAt.plus(FIRST_CHECK_IN).isBefore(clock.instant())) {
            return false;
        }
        Integer records = jdbc.queryForObject("SELECT COUNT(*) FROM qrtz_scheduler_state WHERE sched_name = ?"
                + " AND instance_name = ?", Integer.class, schedulerName, node);
        return records != null && records == 0;
    }

    @Override
    public java.util.Set<String> nodes() {
        return java.util.Set.copyOf(jdbc.queryForList("SELECT instance_name FROM qrtz_scheduler_state"
                + " WHERE sched_name = ?", String.class, schedulerName));
    }
}
