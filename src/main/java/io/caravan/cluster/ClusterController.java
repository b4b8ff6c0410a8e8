package io.caravan.cluster;

import io.caravan.eventlog.EventSubscriber;
import io.caravan.eventlog.KafkaRoles;
import io.caravan.eventlog.ParkedContacts;
import io.caravan.eventlog.Subscriptions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.quartz.Scheduler;
import org.quartz.SchedulerException;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code GET /api/cluster} (README "Several nodes"): this node, the nodes Quartz's clustered job store has seen check
 * in, each singleton (a trigger of that store: one node runs a fire at a time) with the node running it now, and each
 * event-log subscriber's lag and parked contacts. Read from the job store's own tables, the record Quartz keeps of
 * who is alive and who is firing what. Ids, times and counts only: no PHI.
 */
@RestController
class ClusterController {

    private final Scheduler scheduler;
    private final JdbcTemplate jdbc;
    private final Subscriptions subscriptions;
    private final ObjectProvider<EventSubscriber> subscribers;
    private final ParkedContacts parked;
    private final ObjectProvider<KafkaRoles> roles;

    ClusterController(Scheduler scheduler, JdbcTemplate jdbc, Subscriptions subscriptions,
            ObjectProvider<EventSubscriber> subscribers, ParkedContacts parked, ObjectProvider<KafkaRoles> roles) {
        this.scheduler = scheduler;
        this.jdbc = jdbc;
        this.subscriptions = subscriptions;
        this.subscribers = subscribers;
        this.parked = parked;
        this.roles = roles;
    }

    @GetMapping("/api/cluster")
    Map<String, Object> cluster() throws SchedulerException {
        String name = scheduler.getSchedulerName();
        String self = scheduler.getSchedulerInstanceId();
        long now = System.currentTimeMillis();
        List<Map<String, Object>> nodes = new ArrayList<>();
        jdbc.query("SELECT instance_name, last_checkin_time, checkin_interval FROM qrtz_scheduler_state"
                + " WHERE sched_name = ? ORDER BY instance_name", rs -> {
                    Map<String, Object> n = new LinkedHashMap<>();
                    long last = rs.getLong(2);
                    long interval = rs.getLong(3);
                    n.put("id", rs.getString(1));
                    n.put("self", self.equals(rs.getString(1)));
                    n.put("lastCheckIn", Instant.ofEpochMilli(last).toString());
                    // Quartz's own test for a failed node: no check-in for the interval plus its 7.5 s grace
                    n.put("alive", now - last < interval + 7_500);
                    nodes.add(n);
                }, name);
        List<Map<String, Object>> singletons = new ArrayList<>();
        jdbc.query("SELECT t.job_group, t.job_name, t.trigger_state, t.next_fire_time, f.instance_name"
                + " FROM qrtz_triggers t LEFT JOIN qrtz_fired_triggers f ON f.sched_name = t.sched_name"
                + " AND f.trigger_name = t.trigger_name AND f.trigger_group = t.trigger_group"
                + " AND f.state = 'EXECUTING' WHERE t.sched_name = ? ORDER BY t.job_group, t.job_name", rs -> {
                    Map<String, Object> s = new LinkedHashMap<>();
                    s.put("name", rs.getString(1) + "/" + rs.getString(2));
                    s.put("state", rs.getString(3));
                    long next = rs.getLong(4);
                    s.put("nextFire", next > 0 ? Instant.ofEpochMilli(next).toString() : null);
                    // null between fires: the next fire goes to whichever live node acquires it first
                    s.put("runningOn", rs.getString(5));
                    singletons.add(s);
                }, name);
        // the roles held through Kafka's group membership (the SMPP bind): the holder for as long as it lives
        KafkaRoles kafka = roles.getIfAvailable();
        if (kafka != null) {
            singletons.addAll(kafka.describe());
        }
        List<Map<String, Object>> lag = new ArrayList<>();
        for (EventSubscriber s : subscribers.orderedStream().toList()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("subscriber", s.subscriberName());
            m.put("lag", subscriptions.lag(s.subscriberName()));
            m.put("parkedContacts", parked.count(s.subscriberName()));
            lag.add(m);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("node", self);
        out.put("cluster", name);
        out.put("nodes", nodes);
        out.put("singletons", singletons);
        out.put("subscribers", lag);
        return out;
    }
}
