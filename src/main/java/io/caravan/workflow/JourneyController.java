package io.caravan.workflow;

import io.caravan.audit.PhiReads;
import io.caravan.channel.Messages;
import io.caravan.consent.ConsentService;
import io.caravan.system.Problems;
import java.security.Principal;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;

/**
 * A contact's journeys ({@code GET /api/contacts/{id}/journeys} - which workflows a patient is in says something
 * about their health, so the read is audited) and a workflow's report ({@code GET /api/workflows/{id}/report}:
 * counts only, no patient).
 */
@RestController
class JourneyController {

    /** One journey as the API shows it. */
    record JourneyView(String workflow, JourneyStatus status, String step, String reason) {
    }

    private final JdbcTemplate jdbc;
    private final WorkflowCatalog catalog;
    private final ConsentService consents;
    private final PhiReads reads;
    private final Messages messages;

    JourneyController(JdbcTemplate jdbc, WorkflowCatalog catalog, ConsentService consents, PhiReads reads,
            Messages messages) {
        this.messages = messages;
        this.jdbc = jdbc;
        this.catalog = catalog;
        this.consents = consents;
        this.reads = reads;
    }

    @GetMapping("/api/contacts/{id}/journeys")
    List<JourneyView> journeys(@PathVariable UUID id, Principal who) {
        UUID contact = consents.requireContact(id).id;
        reads.record(who.getName(), contact, "journeys", "api");
        return jdbc.query("SELECT workflow_id, status, step, reason FROM journey WHERE contact_id = ?"
                + " ORDER BY started_at, id", (rs, i) -> new JourneyView(rs.getString(1),
                JourneyStatus.of(rs.getString(2)), rs.getString(3), rs.getString(4)), contact);
    }

    /**
     * Per workflow: journeys entered, active, completed and exited (by reason); per step: how many reached it, sent,
     * blocked (by reason), opened and clicked (people, not machines), and how many journeys ended there (drop-off).
     */
    @GetMapping("/api/workflows/{id}/report")
    Map<String, Object> report(@PathVariable String id) {
        WorkflowDefinition w = catalog.get(id).orElseThrow(() -> new Problems.NotFound("no workflow with this id"));
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("workflow", w.id);
        out.put("entered", count("SELECT COUNT(*) FROM journey WHERE workflow_id = ?", w.id));
        Map<String, Long> byStatus = new TreeMap<>();
        jdbc.query("SELECT status, COUNT(*) FROM journey WHERE workflow_id = ? GROUP BY status",
                rs -> { byStatus.put(rs.getString(1), rs.getLong(2)); }, w.id);
        out.put("active", byStatus.getOrDefault(JourneyStatus.ACTIVE.value(), 0L));
        out.put("completed", byStatus.getOrDefault(JourneyStatus.COMPLETED.value(), 0L));
        out.put("exited", byStatus.getOrDefault(JourneyStatus.EXITED.value(), 0L));
        Map<String, Long> reasons = new TreeMap<>();
        jdbc.query("SELECT reason, COUNT(*) FROM journey WHERE workflow_id = ? AND status = ? GROUP BY reason",
                rs -> { reasons.put(rs.getString(1), rs.getLong(2)); }, w.id, JourneyStatus.EXITED.value());
        out.put("exitReasons", reasons);
        List<Map<String, Object>> steps = new java.util.ArrayList<>();
        for (WorkflowDefinition.Step s : w.steps) {
            Map<String, Object> st = new LinkedHashMap<>();
            st.put("step", s.id);
            st.put("kind", s.kind());
            st.put("reached", count("SELECT COUNT(*) FROM journey_step WHERE workflow_id = ? AND step = ?", w.id,
                    s.id));
            if ("send".equals(s.kind())) {
                st.put("sent", count("SELECT COUNT(*) FROM journey_step WHERE workflow_id = ? AND step = ?"
                        + " AND outcome = 'sent'", w.id, s.id));
                Map<String, Long> blocked = new TreeMap<>();
                jdbc.query("SELECT outcome, COUNT(*) FROM journey_step WHERE workflow_id = ? AND step = ? AND"
                        + " outcome LIKE 'blocked:%' GROUP BY outcome", rs -> {
                            blocked.put(rs.getString(1).substring(8), rs.getLong(2));
                        }, w.id, s.id);
                st.put("blocked", blocked);
                // engagement is the channel's to count: this package knows only which messages the step sent
                List<UUID> sent = jdbc.queryForList("SELECT DISTINCT message_id FROM journey_step WHERE"
                        + " workflow_id = ? AND step = ? AND message_id IS NOT NULL", UUID.class, w.id, s.id);
                String channel = s.send != null && s.send.channel != null ? s.send.channel : w.channel;
                for (String type : List.of("opened", "clicked", "unsubscribed")) {
                    st.put(type, messages.engagedCount(channel, sent, type));
                }
            }
            st.put("endedHere", count("SELECT COUNT(*) FROM journey WHERE workflow_id = ? AND step = ? AND"
                    + " status = ?", w.id, s.id, JourneyStatus.EXITED.value()));
            steps.add(st);
        }
        out.put("steps", steps);
        return out;
    }

    private long count(String sql, Object... args) {
        Long n = jdbc.queryForObject(sql, Long.class, args);
        return n == null ? 0 : n;
    }
}
