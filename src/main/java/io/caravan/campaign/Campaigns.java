package io.caravan.campaign;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.i18n.phonenumbers.PhoneNumberToTimeZonesMapper;
import com.google.i18n.phonenumbers.PhoneNumberUtil;
import io.caravan.channel.Channel;
import io.caravan.channel.Channels;
import io.caravan.channel.MessageStatus;
import io.caravan.channel.Messages;
import io.caravan.channel.OutboundMessage;
import io.caravan.channel.Template;
import io.caravan.contact.Contact;
import io.caravan.contact.ContactStore;
import io.caravan.mapping.MappingProperties;
import io.caravan.segment.Segments;
import io.caravan.system.Ids;
import io.caravan.system.PhiSafeLogging;
import io.caravan.system.Problems;
import io.caravan.system.Worker;
import io.caravan.workflow.WorkflowProperties;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Campaigns: variants of a template × a segment × a channel, planned in batches of recipients through the channel
 * planner ({@link Messages#planAllAs}), so the gate decides per recipient at planning and again at sending, and the
 * send path protects, audits and delivers as for any message. When a campaign starts, its segment's members are
 * snapshotted into {@code campaign_recipient} (one row per contact: the campaign's recipients cannot change under
 * it, and no list of them is held in memory); a runner thread then plans them page by page, throttled, under the
 * workflow's frequency caps and quiet hours (in the recipient's zone). Each recipient's message has an id derived
 * from campaign and contact: after a crash (even {@code kill -9}) between planning and recording, planning again
 * finds the message instead of making a second one - nobody twice, nobody missed.
 */
@Service
public class Campaigns implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(Campaigns.class);
    static final String SCHEDULED = "scheduled";
    static final String SNAPSHOTTING = "snapshotting";
    static final String RUNNING = "running";
    static final String PAUSED = "paused";
    static final String CANCELLED = "cancelled";
    static final String COMPLETED = "completed";
    private static final TypeReference<List<Assignment.Variant>> VARIANTS = new TypeReference<>() {
    };
    private static final TypeReference<Map<String, Object>> DATA = new TypeReference<>() {
    };

    /** A campaign row. */
    record Campaign(UUID id, String name, String segment, String channel, String purpose,
            List<Assignment.Variant> variants, int holdout, Map<String, Object> data, int rate, String status,
            Instant startAt, Long targeted) {
    }

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final Segments segments;
    private final Messages messages;
    private final Channels channels;
    private final ContactStore contacts;
    private final WorkflowProperties workflow;
    private final CampaignProperties props;
    private final Clock clock;
    private final ZoneId zone;
    private final MeterRegistry meters;
    private final ObjectMapper json;
    private final Map<UUID, Pacer> pacers = new ConcurrentHashMap<>();
    /** One per channel with a {@code caravan.campaigns.channel-rate}: shared by every campaign on it. */
    private final Map<String, Pacer> channelPacers = new ConcurrentHashMap<>();
    private ExecutorService workers;
    private Worker runner;
    private volatile boolean running;

    public Campaigns(JdbcTemplate jdbc, TransactionTemplate tx, Segments segments, Messages messages,
            Channels channels, ContactStore contacts, WorkflowProperties workflow, CampaignProperties props,
            Clock clock, MappingProperties mapping, MeterRegistry meters, ObjectMapper json) {
        this.jdbc = jdbc;
        this.tx = tx;
        this.segments = segments;
        this.messages = messages;
        this.channels = channels;
        this.contacts = contacts;
        this.workflow = workflow;
        this.props = props;
        this.clock = clock;
        this.zone = ZoneId.of(mapping.timeZone());
        this.meters = meters;
        this.json = json;
    }

    // ---- the API --------------------------------------------------------------------------------------------------

    /** Checks and stores a campaign; it starts at its start time. Returns its id. */
    public UUID create(CampaignRequest r, String actor) {
        if (r.segment() == null) {
            throw new IllegalArgumentException("segment: required");
        }
        Segments.Defined segment = segments.find(r.segment()).orElseThrow(() -> new IllegalArgumentException(
                "segment: no segment " + r.segment()));
        if (r.channel() == null) {
            throw new IllegalArgumentException("channel: required");
        }
        Channel channel = channels.find(r.channel()).orElseThrow(() -> new IllegalArgumentException(
                "channel: no channel " + r.channel()));
        List<Assignment.Variant> variants = new ArrayList<>();
        if (r.variants() != null && !r.variants().isEmpty()) {
            if (r.template() != null) {
                throw new IllegalArgumentException("template: give a template or variants, not both");
            }
            for (CampaignRequest.VariantSpec v : r.variants()) {
                if (v.id() == null || !v.id().matches("[a-z0-9][a-z0-9-]{0,15}") || Assignment.HOLDOUT.equals(v.id())) {
                    throw new IllegalArgumentException("variants.id: lower-case letters, digits and dashes, at most"
                            + " 16, not 'holdout'");
                }
                if (variants.stream().anyMatch(x -> x.id().equals(v.id()))) {
                    throw new IllegalArgumentException("variants.id: " + v.id() + " given twice");
                }
                int share = v.share() == null ? 1 : v.share();
                if (share <= 0 || share > 100) {
                    throw new IllegalArgumentException("variants.share: 1 to 100");
                }
                variants.add(new Assignment.Variant(v.id(), v.template(), share));
            }
        } else if (r.template() != null) {
            variants.add(new Assignment.Variant("a", r.template(), 1));
        } else {
            throw new IllegalArgumentException("template: required (or variants)");
        }
        String purpose = null;
        for (Assignment.Variant v : variants) {
            Template t = v.template() == null ? null : channel.template(v.template()).orElse(null);
            if (t == null) {
                throw new IllegalArgumentException("template: no template " + v.template() + " for channel "
                        + channel.name());
            }
            if (purpose != null && !purpose.equals(t.purpose())) {
                throw new IllegalArgumentException("variants.template: every variant's template must have one purpose");
            }
            purpose = t.purpose();
        }
        if (!purpose.equals(segment.definition().purpose)) {
            // a marketing campaign needs a segment checked as marketing (no sensitive categories)
            throw new IllegalArgumentException("segment: " + segment.definition().id + " is a "
                    + segment.definition().purpose + " segment; the templates are for " + purpose);
        }
        int holdout = r.holdout() == null ? 0 : r.holdout();
        if (holdout < 0 || holdout > 50) {
            throw new IllegalArgumentException("holdout: a percentage from 0 to 50");
        }
        int rate = r.rate() == null ? props.rate() : r.rate();
        if (rate <= 0 || rate > props.maxRate()) {
            throw new IllegalArgumentException("rate: 1 to " + props.maxRate() + " messages/s");
        }
        String data = write(r.data() == null ? Map.of() : r.data());
        if (data.length() > 4000) {
            throw new IllegalArgumentException("data: at most 4000 characters as JSON");
        }
        UUID id = Ids.next();
        Instant now = clock.instant();
        Instant start = r.startAt() == null ? now : r.startAt().toInstant();
        jdbc.update("INSERT INTO campaign (id, name, segment_id, channel, purpose, variants, holdout, data, rate,"
                + " status, start_at, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                id, r.name() == null ? null : cut(r.name(), 200), segment.definition().id, channel.name(), purpose,
                write(variants), holdout, data, rate, SCHEDULED, Timestamp.from(start), cut(actor, 64),
                Timestamp.from(now), Timestamp.from(now));
        log.info("Campaign {} created for segment {} on {}", id, segment.definition().id, channel.name());
        gauges(id, variants);
        return id;
    }

    public void pause(UUID id) {
        move(id, PAUSED, SCHEDULED, SNAPSHOTTING, RUNNING);
    }

    public void resume(UUID id) {
        move(id, RUNNING, PAUSED);
    }

    /** Nothing more is planned; what was planned already goes (the gate still decides at sending). */
    public void cancel(UUID id) {
        move(id, CANCELLED, SCHEDULED, SNAPSHOTTING, RUNNING, PAUSED);
    }

    private void move(UUID id, String to, String... from) {
        Campaign c = find(id).orElseThrow(() -> new Problems.NotFound("no campaign " + id));
        if (!Arrays.asList(from).contains(c.status())) {
            throw new Problems.Conflict("campaign is " + c.status());
        }
        // a paused campaign that had not taken its snapshot yet resumes to it
        String target = RUNNING.equals(to) && c.targeted() == null ? SCHEDULED : to;
        if (jdbc.update("UPDATE campaign SET status = ?, updated_at = ? WHERE id = ? AND status = ?", target,
                Timestamp.from(clock.instant()), id, c.status()) != 1) {
            throw new Problems.Conflict("campaign changed meanwhile; try again");
        }
    }

    public Optional<Campaign> find(UUID id) {
        return jdbc.query("SELECT id, name, segment_id, channel, purpose, variants, holdout, data, rate, status,"
                + " start_at, targeted FROM campaign WHERE id = ?", (rs, n) -> new Campaign(rs.getObject(1, UUID.class),
                        rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5), read(rs.getString(6),
                                VARIANTS), rs.getInt(7), read(rs.getString(8), DATA), rs.getInt(9), rs.getString(10),
                        rs.getTimestamp(11).toInstant(), (Long) rs.getObject(12, Long.class)), id)
                .stream().findFirst();
    }

    public List<UUID> ids() {
        return jdbc.queryForList("SELECT id FROM campaign ORDER BY created_at DESC LIMIT 1000", UUID.class);
    }

    /**
     * Progress and results per variant: targeted; blocked by reason (at planning or at sending, frequency caps,
     * quiet hours still waiting); sent, delivered, bounced, opened and clicked by a person, unsubscribed, and what
     * only machines opened or clicked apart ({@code bots}) - counts only.
     */
    public Map<String, Object> report(UUID id) {
        Campaign c = find(id).orElseThrow(() -> new Problems.NotFound("no campaign " + id));
        Map<String, Map<String, Long>> outcomes = new LinkedHashMap<>();
        jdbc.query("SELECT variant, COALESCE(outcome, 'pending'), COUNT(*) FROM campaign_recipient"
                + " WHERE campaign_id = ? GROUP BY variant, COALESCE(outcome, 'pending')", rs -> {
                    outcomes.computeIfAbsent(rs.getString(1), k -> new LinkedHashMap<>()).put(rs.getString(2),
                            rs.getLong(3));
                }, id);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", c.id().toString());
        out.put("name", c.name());
        out.put("segment", c.segment());
        out.put("channel", c.channel());
        out.put("purpose", c.purpose());
        out.put("status", c.status());
        out.put("startAt", c.startAt().toString());
        out.put("targeted", c.targeted() == null ? 0 : c.targeted());
        out.put("holdoutPercent", c.holdout());
        long pending = 0;
        List<Map<String, Object>> variants = new ArrayList<>();
        for (Assignment.Variant v : c.variants()) {
            Map<String, Long> o = outcomes.getOrDefault(v.id(), Map.of());
            pending += o.getOrDefault("pending", 0L);
            Map<String, Long> statuses = messages.countsBy(actor(c.id(), v.id()));
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("id", v.id());
            r.put("template", v.template());
            r.put("share", v.share());
            r.put("targeted", o.values().stream().mapToLong(Long::longValue).sum());
            Map<String, Long> blocked = new java.util.TreeMap<>();
            statuses.forEach((k, n) -> {
                if (k.startsWith("blocked:")) {
                    for (String reason : k.substring(8).split(",")) {
                        blocked.merge(reason, n, Long::sum);
                    }
                }
            });
            if (o.containsKey("capped")) {
                blocked.put("frequency-cap", o.get("capped"));
            }
            if (o.containsKey("postponed")) {
                blocked.put("quiet-hours", o.get("postponed"));
            }
            if (o.containsKey("gone")) {
                blocked.put("contact-gone", o.get("gone"));
            }
            r.put("blocked", blocked);
            r.put("waiting", statuses.getOrDefault("planned", 0L) + statuses.getOrDefault("deferred", 0L)
                    + o.getOrDefault("pending", 0L));
            long delivered = statuses.getOrDefault("delivered", 0L);
            long bounced = statuses.getOrDefault("bounced", 0L);
            r.put("sent", statuses.getOrDefault("sent", 0L) + delivered + bounced
                    + statuses.getOrDefault("undeliverable", 0L) + statuses.getOrDefault("expired", 0L));
            r.put("delivered", delivered);
            r.put("bounced", bounced);
            r.put("failed", statuses.getOrDefault("failed", 0L));
            Map<String, Long> engaged = engaged(c, v.id());
            r.put("opened", engaged.get("opened"));
            r.put("clicked", engaged.get("clicked"));
            r.put("unsubscribed", engaged.get("unsubscribed"));
            r.put("bots", Map.of("opened", engaged.get("bots.opened"), "clicked", engaged.get("bots.clicked")));
            variants.add(r);
        }
        out.put("pending", pending);
        out.put("variants", variants);
        Map<String, Long> held = outcomes.getOrDefault(Assignment.HOLDOUT, Map.of());
        out.put("holdout", Map.of("targeted", held.values().stream().mapToLong(Long::longValue).sum()));
        return out;
    }

    /**
     * Engagement of a variant's messages - by people (opened, clicked, unsubscribed) and, apart, by machines only
     * ({@code bots.opened}, {@code bots.clicked}) - in one pass over its recipients, a page of message ids at a time.
     */
    private Map<String, Long> engaged(Campaign c, String variant) {
        Map<String, Long> n = new LinkedHashMap<>();
        for (String k : List.of("opened", "clicked", "unsubscribed", "bots.opened", "bots.clicked")) {
            n.put(k, 0L);
        }
        long after = -1;
        while (true) {
            List<Object[]> page = jdbc.query("SELECT seq, message_id FROM campaign_recipient WHERE campaign_id = ?"
                    + " AND variant = ? AND message_id IS NOT NULL AND seq > ? ORDER BY seq LIMIT 1000",
                    (rs, i) -> new Object[] {rs.getLong(1), rs.getObject(2, UUID.class)}, c.id(), variant, after);
            if (page.isEmpty()) {
                return n;
            }
            List<UUID> ids = page.stream().map(p -> (UUID) p[1]).toList();
            for (String k : List.copyOf(n.keySet())) {
                long m = k.startsWith("bots.") ? messages.machineCount(c.channel(), ids, k.substring(5))
                        : messages.engagedCount(c.channel(), ids, k);
                n.merge(k, m, Long::sum);
            }
            after = (Long) page.get(page.size() - 1)[0];
        }
    }

    /** The report's figures per variant as gauges ({@code caravan_campaign_messages}), read from a cached report. */
    private static final List<String> FIGURES = List.of("targeted", "waiting", "sent", "delivered", "bounced",
            "failed", "opened", "clicked", "unsubscribed", "blocked", "bots-opened", "bots-clicked");
    private static final long REPORT_TTL_NANOS = Duration.ofSeconds(10).toNanos();
    private record Cached(long at, Map<String, Object> report) {
    }
    private final Map<UUID, Cached> reports = new ConcurrentHashMap<>();

    private void gauges(UUID id, List<Assignment.Variant> variants) {
        for (Assignment.Variant v : variants) {
            for (String figure : FIGURES) {
                io.micrometer.core.instrument.Gauge.builder("caravan.campaign.messages",
                        () -> figure(id, v.id(), figure)).description("Campaign report figures per variant")
                        .tag("campaign", id.toString()).tag("variant", v.id()).tag("figure", figure)
                        .register(meters);
            }
        }
    }

    @SuppressWarnings("unchecked")
    private double figure(UUID id, String variant, String figure) {
        Cached c = reports.get(id);
        if (c == null || System.nanoTime() - c.at() > REPORT_TTL_NANOS) {
            try {
                c = new Cached(System.nanoTime(), report(id));
            } catch (RuntimeException e) {
                return Double.NaN;
            }
            reports.put(id, c);
        }
        for (Map<String, Object> v : (List<Map<String, Object>>) c.report().get("variants")) {
            if (variant.equals(v.get("id"))) {
                Object x = figure.startsWith("bots-") && v.get("bots") instanceof Map<?, ?> bots
                        ? bots.get(figure.substring(5)) : v.get(figure);
                if (x instanceof Map<?, ?> m) {
                    return m.values().stream().mapToLong(n -> ((Number) n).longValue()).sum();
                }
                return x instanceof Number n ? n.doubleValue() : Double.NaN;
            }
        }
        return Double.NaN;
    }

    static String actor(UUID campaign, String variant) {
        return "campaign:" + campaign + ":" + variant;
    }

    // ---- the runner -----------------------------------------------------------------------------------------------

    @Override
    public void start() {
        // gauges for the campaigns still going or changed in the last week
        jdbc.query("SELECT id, variants FROM campaign WHERE status NOT IN (?, ?) OR updated_at > ?", rs -> {
            gauges(rs.getObject(1, UUID.class), read(rs.getString(2), VARIANTS));
        }, COMPLETED, CANCELLED, Timestamp.from(clock.instant().minus(Duration.ofDays(7))));
        java.util.concurrent.atomic.AtomicInteger k = new java.util.concurrent.atomic.AtomicInteger();
        workers = Executors.newFixedThreadPool(props.workers(), r -> {
            Thread t = new Thread(r, "caravan-campaign-" + k.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        running = true;
        if (!onCall) {
            runner = Worker.start("caravan-campaigns", true, this::loop);
        }
    }

    /** Planned only by {@link #runSlice} (several nodes: one node at a time, see there). */
    private volatile boolean onCall;

    /**
     * Several nodes on one database: no runner thread of this node's own; campaigns are planned by
     * {@link #runSlice}, which the caller fires from a trigger that runs on one node at a time. Every node's runner
     * took a new campaign's snapshot at once (one failed on the other's rows) and planned the same recipients side by
     * side. Before {@link #start()}.
     */
    public void runOnCall() {
        onCall = true;
    }

    /**
     * Rounds of planning until nothing is left to do now or {@code slice} is used, then waits for the batches still
     * planning: when the next fire runs on another node, no batch of this one is still going.
     */
    public int runSlice(Duration slice) {
        long until = System.nanoTime() + slice.toNanos();
        int total = 0;
        int n;
        try {
            do {
                n = running ? round() : 0;
                total += n;
            } while (n > 0 && System.nanoTime() < until);
        } finally {
            for (Run run : runs.values()) {
                drain(run, 0);
            }
        }
        return total;
    }

    private void loop() {
        while (running) {
            int n = 0;
            try {
                n = round();
            } catch (RuntimeException e) {
                log.error("Campaign round failed ({}); retried", PhiSafeLogging.describe(e));
            }
            if (n == 0) {
                try {
                    Thread.sleep(props.pollInterval().toMillis());
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    /** One round: due campaigns take their snapshot, running ones plan a page each. Returns recipients handled. */
    int round() {
        Instant now = clock.instant();
        List<UUID> due = jdbc.queryForList("SELECT id FROM campaign WHERE status IN (?, ?) AND start_at <= ?"
                + " ORDER BY start_at", UUID.class, SCHEDULED, SNAPSHOTTING, Timestamp.from(now));
        for (UUID id : due) {
            snapshot(id);
        }
        int n = 0;
        for (UUID id : jdbc.queryForList("SELECT id FROM campaign WHERE status = ? ORDER BY start_at", UUID.class,
                RUNNING)) {
            n += page(find(id).orElseThrow());
        }
        return n;
    }

    /**
     * The segment's members now become the campaign's recipients, each with its variant. Run again from the start
     * after a crash half-way (the rows are deleted first; the assignment is a hash, so it is the same).
     */
    void snapshot(UUID id) {
        if (jdbc.update("UPDATE campaign SET status = ?, updated_at = ? WHERE id = ? AND status IN (?, ?)",
                SNAPSHOTTING, Timestamp.from(clock.instant()), id, SCHEDULED, SNAPSHOTTING) != 1) {
            return;
        }
        Campaign c = find(id).orElseThrow();
        jdbc.update("DELETE FROM campaign_recipient WHERE campaign_id = ?", id);
        // two longs per member, not an object: a million members are 16 MB
        long[][] ids = {new long[1024], new long[1024]};
        int[] n = {0};
        segments.members(c.segment(), contact -> {
            if (n[0] == ids[0].length) {
                ids[0] = Arrays.copyOf(ids[0], n[0] * 2);
                ids[1] = Arrays.copyOf(ids[1], n[0] * 2);
            }
            ids[0][n[0]] = contact.getMostSignificantBits();
            ids[1][n[0]] = contact.getLeastSignificantBits();
            n[0]++;
        });
        for (int from = 0; from < n[0]; from += 1000) {
            int start = from;
            int end = Math.min(n[0], from + 1000);
            jdbc.batchUpdate("INSERT INTO campaign_recipient (campaign_id, seq, contact_id, variant) VALUES (?, ?, ?, ?)",
                    new org.springframework.jdbc.core.BatchPreparedStatementSetter() {
                        @Override
                        public void setValues(java.sql.PreparedStatement ps, int i) throws java.sql.SQLException {
                            UUID contact = new UUID(ids[0][start + i], ids[1][start + i]);
                            ps.setObject(1, id);
                            ps.setLong(2, start + i);
                            ps.setObject(3, contact);
                            ps.setString(4, Assignment.of(id, contact, c.holdout(), c.variants()));
                        }

                        @Override
                        public int getBatchSize() {
                            return end - start;
                        }
                    });
        }
        jdbc.update("UPDATE campaign SET status = ?, targeted = ?, updated_at = ? WHERE id = ? AND status = ?",
                RUNNING, (long) n[0], Timestamp.from(clock.instant()), id, SNAPSHOTTING);
        log.info("Campaign {} targets {} recipients", id, n[0]);
    }

    /** A recipient waiting to be planned. */
    private record Pending(long seq, UUID contact, String variant) {
    }

    /**
     * A campaign's planning on this node: how far this pass has read its recipients, and its batches still planning.
     * Only the runner thread touches it. The database stays the truth: a restart starts a pass from the beginning.
     */
    private static final class Run {
        long cursor = -1;
        final java.util.ArrayDeque<Future<?>> inflight = new java.util.ArrayDeque<>();
    }

    private final Map<UUID, Run> runs = new ConcurrentHashMap<>();

    /**
     * Reads the campaign's next page and hands it to the workers in batches, throttled; completes the campaign when
     * none is left. The page is not awaited: the next is read while this one plans (at most two batches per worker
     * in flight), and a pass reads on from where the last page ended. At the end of a pass, once its batches are
     * done, the next pass starts from the beginning: recipients postponed until now, or whose batch failed.
     */
    private int page(Campaign c) {
        Run run = runs.computeIfAbsent(c.id(), k -> new Run());
        List<Pending> page = read(c, run.cursor);
        if (page.isEmpty() && run.cursor >= 0) {
            drain(run, 0);
            run.cursor = -1;
            page = read(c, -1);
        }
        if (page.isEmpty()) {
            drain(run, 0);
            Integer waiting = jdbc.queryForObject("SELECT COUNT(*) FROM campaign_recipient WHERE campaign_id = ?"
                    + " AND (outcome IS NULL OR outcome = 'postponed')", Integer.class, c.id());
            if (waiting != null && waiting == 0) {
                jdbc.update("UPDATE campaign SET status = ?, updated_at = ? WHERE id = ? AND status = ?", COMPLETED,
                        Timestamp.from(clock.instant()), c.id(), RUNNING);
                pacers.remove(c.id());
                runs.remove(c.id());
                log.info("Campaign {} completed", c.id());
            }
            return 0;
        }
        run.cursor = page.get(page.size() - 1).seq();
        Pacer pacer = pacers.computeIfAbsent(c.id(), k -> new Pacer(c.rate()));
        Integer shared = props.channelRate().get(c.channel());
        Pacer channelPacer = shared == null || shared <= 0 ? null
                : channelPacers.computeIfAbsent(c.channel(), k -> new Pacer(shared));
        // a batch shares one wait for the trail; small enough at a low rate that its throttle ends soon (a pause
        // takes effect between batches), and as many batches as workers per page
        int size = Math.max(1, Math.min((props.page() + props.workers() - 1) / props.workers(),
                Math.min(c.rate(), shared == null || shared <= 0 ? Integer.MAX_VALUE : shared) / 10));
        for (int from = 0; from < page.size(); from += size) {
            List<Pending> batch = page.subList(from, Math.min(page.size(), from + size));
            drain(run, 2 * props.workers());
            run.inflight.add(workers.submit(() -> plan(c, batch, pacer, channelPacer)));
        }
        return page.size();
    }

    private List<Pending> read(Campaign c, long after) {
        return jdbc.query("SELECT seq, contact_id, variant FROM campaign_recipient WHERE campaign_id = ? AND seq > ?"
                + " AND (outcome IS NULL OR outcome = 'postponed' AND next_at <= ?) ORDER BY seq LIMIT " + props.page(),
                (rs, i) -> new Pending(rs.getLong(1), rs.getObject(2, UUID.class), rs.getString(3)), c.id(), after,
                Timestamp.from(clock.instant()));
    }

    /** Waits for the oldest batches until at most {@code max} are in flight. */
    private void drain(Run run, int max) {
        while (run.inflight.size() > max || !run.inflight.isEmpty() && run.inflight.peek().isDone()) {
            Future<?> f = run.inflight.poll();
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (java.util.concurrent.ExecutionException e) {
                log.error("A campaign batch failed ({}); retried in the next pass",
                        e.getCause().getClass().getSimpleName());
            }
        }
    }

    /** One batch of recipients: each takes its slot of the throttle, then the batch is planned unless paused. */
    private void plan(Campaign c, List<Pending> batch, Pacer pacer, Pacer channelPacer) {
        if (!RUNNING.equals(status(c.id()))) {
            return;
        }
        for (int i = 0; i < batch.size(); i++) {
            pacer.acquire();
            if (channelPacer != null) {
                channelPacer.acquire();
            }
        }
        // paused or cancelled while this batch waited for its slots
        if (RUNNING.equals(status(c.id()))) {
            handle(c, batch);
        }
    }

    private String status(UUID id) {
        return jdbc.queryForObject("SELECT status FROM campaign WHERE id = ?", String.class, id);
    }

    /** An outcome to record for a recipient. */
    private record Outcome(Pending p, String outcome, String reasons, UUID messageId, Instant nextAt) {
    }

    /**
     * A batch of recipients: holdout, gone, already planned (before a crash), capped, quiet hours, or planned now -
     * the contacts and earlier messages read in one query each, the plans decided and committed together (one wait
     * for the trail), the outcomes recorded in one batch.
     */
    private void handle(Campaign c, List<Pending> batch) {
        Instant now = clock.instant();
        List<Outcome> done = new ArrayList<>();
        List<Pending> rest = new ArrayList<>();
        for (Pending p : batch) {
            if (Assignment.HOLDOUT.equals(p.variant())) {
                done.add(new Outcome(p, "holdout", null, null, null));
            } else {
                rest.add(p);
            }
        }
        Map<UUID, Contact> found = rest.isEmpty() ? Map.of()
                : contacts.findAllForSend(rest.stream().map(Pending::contact).toList());
        // the message id is the survivor's when the recipient was merged since the snapshot
        Map<UUID, OutboundMessage> before = messages.findAll(rest.stream().filter(p -> found.containsKey(p.contact()))
                .map(p -> Assignment.messageId(c.id(), found.get(p.contact()).id)).toList());
        List<Pending> planning = new ArrayList<>();
        List<Messages.PlanAs> plans = new ArrayList<>();
        for (Pending p : rest) {
            Contact contact = found.get(p.contact());
            if (contact == null) {
                done.add(new Outcome(p, "gone", null, null, null));
                continue;
            }
            UUID messageId = Assignment.messageId(c.id(), contact.id);
            OutboundMessage earlier = before.get(messageId);
            if (earlier != null) {
                done.add(planned(p, earlier));
                continue;
            }
            if (capped(c, contact.id, now)) {
                done.add(new Outcome(p, "capped", "frequency-cap", null, null));
                continue;
            }
            Instant quietUntil = quietUntil(c.channel(), contact, now);
            if (quietUntil != null) {
                done.add(new Outcome(p, "postponed", "quiet-hours", null, quietUntil));
                continue;
            }
            Assignment.Variant v = c.variants().stream().filter(x -> x.id().equals(p.variant())).findFirst()
                    .orElseThrow();
            planning.add(p);
            plans.add(new Messages.PlanAs(messageId, new Messages.Request(contact.id, v.template(), c.channel(),
                    c.purpose(), c.data()), contact, actor(c.id(), v.id())));
        }
        record(c, done);
        if (!plans.isEmpty()) {
            List<OutboundMessage> ms = messages.planAllAs(plans);
            List<Outcome> outcomes = new ArrayList<>(ms.size());
            for (int i = 0; i < ms.size(); i++) {
                outcomes.add(planned(planning.get(i), ms.get(i)));
            }
            record(c, outcomes);
        }
    }

    private static Outcome planned(Pending p, OutboundMessage m) {
        boolean blocked = m.status() == MessageStatus.BLOCKED;
        return new Outcome(p, blocked ? "blocked" : "planned", blocked ? String.join(",", m.reasons()) : null, m.id(),
                null);
    }

    private void record(Campaign c, List<Outcome> outcomes) {
        if (outcomes.isEmpty()) {
            return;
        }
        Timestamp at = Timestamp.from(clock.instant());
        jdbc.batchUpdate("UPDATE campaign_recipient SET outcome = ?, reasons = ?, message_id = ?, next_at = ?, at = ?"
                + " WHERE campaign_id = ? AND contact_id = ?", outcomes, outcomes.size(), (ps, o) -> {
                    ps.setString(1, o.outcome());
                    ps.setString(2, o.reasons() == null ? null : cut(o.reasons(), 1000));
                    ps.setObject(3, o.messageId());
                    ps.setTimestamp(4, o.nextAt() == null ? null : Timestamp.from(o.nextAt()));
                    ps.setTimestamp(5, at);
                    ps.setObject(6, c.id());
                    ps.setObject(7, o.p().contact());
                });
        for (Outcome o : outcomes) {
            counter(c.id(), o.p().variant(), o.outcome()).increment();
        }
    }

    /** Registered once per campaign, variant and outcome, then looked up in a map (not the registry) per recipient. */
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();

    private Counter counter(UUID campaign, String variant, String outcome) {
        return counters.computeIfAbsent(campaign + "/" + variant + "/" + outcome, k -> Counter
                .builder("caravan.campaign.recipients").description("Campaign recipients by outcome at planning")
                .tag("campaign", campaign.toString()).tag("variant", variant).tag("outcome", outcome)
                .register(meters));
    }

    /** The workflow's frequency cap for the purpose: as many messages of it as allowed already went out lately. */
    private boolean capped(Campaign c, UUID contact, Instant now) {
        WorkflowProperties.Cap cap = workflow.frequencyCap().get(c.purpose());
        if (cap == null) {
            return false;
        }
        if (cap.perWeek() > 0 && messages.createdSince(contact, c.purpose(), now.minus(Duration.ofDays(7))).size()
                >= cap.perWeek()) {
            return true;
        }
        return cap.perDay() > 0 && messages.createdSince(contact, c.purpose(), now.minus(Duration.ofDays(1))).size()
                >= cap.perDay();
    }

    /**
     * The channel's quiet hours ({@code caravan.workflow.quiet-hours}) in the recipient's local time: the zone of
     * their phone number when it has exactly one, else the hub's. Null when they may be sent to now.
     */
    Instant quietUntil(String channel, Contact contact, Instant now) {
        WorkflowProperties.QuietHours q = workflow.quietHours().get(channel);
        if (q == null) {
            return null;
        }
        ZonedDateTime local = now.atZone(zoneOf(contact));
        LocalTime t = local.toLocalTime();
        boolean quiet = q.from().isAfter(q.to()) ? !t.isBefore(q.from()) || t.isBefore(q.to())
                : !t.isBefore(q.from()) && t.isBefore(q.to());
        if (!quiet) {
            return null;
        }
        ZonedDateTime end = local.toLocalDate().atTime(q.to()).atZone(local.getZone());
        return (end.toInstant().isAfter(now) ? end : end.plusDays(1)).toInstant();
    }

    private ZoneId zoneOf(Contact c) {
        if (c.phone != null && !c.phone.isBlank()) {
            try {
                List<String> zones = PhoneNumberToTimeZonesMapper.getInstance().getTimeZonesForNumber(
                        PhoneNumberUtil.getInstance().parse(c.phone, "US"));
                if (zones.size() == 1 && !PhoneNumberToTimeZonesMapper.getUnknownTimeZone().equals(zones.get(0))) {
                    return ZoneId.of(zones.get(0));
                }
            } catch (com.google.i18n.phonenumbers.NumberParseException | java.time.DateTimeException e) {
                // the hub's zone
            }
        }
        return zone;
    }

    /** Spaces a campaign's plans {@code 1/rate} seconds apart, over all its workers. */
    static final class Pacer {
        private final long interval;
        private long next = System.nanoTime();

        Pacer(int rate) {
            this.interval = 1_000_000_000L / rate;
        }

        void acquire() {
            long wait;
            synchronized (this) {
                long now = System.nanoTime();
                long slot = Math.max(now, next);
                next = slot + interval;
                wait = slot - now;
            }
            if (wait > 0) {
                java.util.concurrent.locks.LockSupport.parkNanos(wait);
            }
        }
    }

    @Override
    public void stop() {
        running = false;
        // never interrupt first: a thread interrupted inside H2 closes the embedded store's file for every writer
        if (runner != null) {
            runner.stop(Duration.ofSeconds(10), false);
        }
        if (workers != null) {
            workers.shutdown();
            try {
                if (!workers.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS)) {
                    workers.shutdownNow();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /** After the segments (which load the index) and the event pump. */
    @Override
    public int getPhase() {
        return Integer.MIN_VALUE + 1200;
    }

    private String write(Object o) {
        try {
            return json.writeValueAsString(o);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("data: not JSON");
        }
    }

    private <T> T read(String s, TypeReference<T> type) {
        try {
            return json.readValue(s, type);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("campaign row unreadable");
        }
    }

    private static String cut(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max);
    }
}
