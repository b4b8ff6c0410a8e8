package io.caravan.ingest;

import io.caravan.audit.Actions;
import io.caravan.audit.AuditDraft;
import io.caravan.audit.AuditLog;
import io.caravan.contact.InboundLog;
import io.caravan.contact.InboundMessage;
import io.caravan.system.Problems.Conflict;
import io.caravan.system.Problems.NotFound;
import java.security.Principal;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * The inbound messages for integration engineers (role integration): what came in, what failed and where, and a
 * replay through the mappings in force now. Metadata only - the message text is PHI and never leaves the hub here.
 */
@RestController
class InboundController {

    static final int MAX_LIMIT = 500;

    private final InboundLog log;
    private final Intake intake;
    private final AuditLog audit;

    InboundController(InboundLog log, Intake intake, AuditLog audit) {
        this.log = log;
        this.intake = intake;
        this.audit = audit;
    }

    /**
     * Newest first, {@code limit} (1-500, default 50) a page; the next page is asked with {@code cursor} = the
     * {@code nextCursor} of this one (absent on the last page). {@code from} inclusive, {@code to} exclusive.
     */
    @GetMapping("/api/inbound")
    Map<String, Object> list(@RequestParam(required = false) String status,
            @RequestParam(required = false) String feed, @RequestParam(required = false) String from,
            @RequestParam(required = false) String to, @RequestParam(required = false) String cursor,
            @RequestParam(required = false) String limit) {
        InboundLog.Status s = null;
        if (status != null) {
            try {
                s = InboundLog.Status.valueOf(status.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("status must be one of failed, replayed, ignored, accepted");
            }
        }
        if (feed != null && !feed.matches("[a-z0-9][a-z0-9-]{0,63}")) {
            throw new IllegalArgumentException("feed must be a feed id: default or an adapter id"
                    + " (lower-case letters, digits and dashes)");
        }
        int n = 50;
        if (limit != null) {
            try {
                n = Integer.parseInt(limit);
            } catch (NumberFormatException e) {
                n = -1;
            }
            if (n < 1 || n > MAX_LIMIT) {
                throw new IllegalArgumentException("limit must be a whole number from 1 to " + MAX_LIMIT);
            }
        }
        UUID before = null;
        if (cursor != null) {
            try {
                before = UUID.fromString(cursor);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("cursor must be the nextCursor of a previous page");
            }
        }
        List<InboundLog.Entry> page = log.list(new InboundLog.Query(s, feed, instant("from", from),
                instant("to", to), before, n + 1));
        Map<String, Object> out = new LinkedHashMap<>();
        List<InboundLog.Entry> items = page.size() > n ? page.subList(0, n) : page;
        out.put("items", items);
        if (page.size() > n) {
            out.put("nextCursor", items.get(n - 1).id().toString());
        }
        return out;
    }

    @GetMapping("/api/inbound/{id}")
    InboundLog.Entry one(@PathVariable UUID id) {
        return log.find(id).orElseThrow(() -> new NotFound("no inbound message with this id"));
    }

    /**
     * Runs a failed message again through the current mappings. Only an unresolved failure is replayed (409
     * otherwise): re-applying an accepted message would raise its trigger event twice. Audited with who asked, which
     * message and the outcome; the answer carries the outcome and the ACK the sender would have had.
     */
    @PostMapping("/api/inbound/{id}/replay")
    Map<String, Object> replay(@PathVariable UUID id, Principal who) throws InterruptedException {
        InboundMessage stored = log.sealed(id).orElseThrow(() -> new NotFound("no inbound message with this id"));
        InboundLog.Entry entry = log.find(id).orElseThrow(() -> new NotFound("no inbound message with this id"));
        if (!InboundLog.Status.FAILED.apiName().equals(entry.status())) {
            throw new Conflict("only a failed message is replayed; this one is " + entry.status()
                    + (entry.replayedBy() != null ? " (by " + entry.replayedBy() + ")" : ""));
        }
        Intake.Replayed r = intake.replay(stored);
        String outcome = r.outcome();
        UUID resolvedBy = null;
        UUID contact = null;
        if (r.replayId() != null) {
            // in journal mode the writer answers once journaled; what the store made of it is read back
            InboundLog.Entry stored2 = log.find(r.replayId()).orElse(null);
            if (stored2 == null) {
                outcome = "duplicate";
            } else if (InboundLog.Status.FAILED.apiName().equals(stored2.status())) {
                outcome = "failed";
            }
            if (!"failed".equals(outcome)) {
                resolvedBy = log.resolve(id, "duplicate".equals(outcome) ? null : r.replayId(),
                        "duplicate".equals(outcome) ? r.dedupeKey() : null).orElse(null);
                contact = resolvedBy == null ? null : log.contactOf(resolvedBy).orElse(null);
            }
        }
        audit.appendAndWait(AuditDraft.of(who.getName(), Actions.INBOUND_REPLAYED).contact(contact).outcome(outcome)
                .detail("inboundMessage", id.toString())
                .detail("resolvedBy", resolvedBy == null ? null : resolvedBy.toString())
                .detail("errorCode", r.errorCode()).detail("errorLocation", r.errorLocation()));
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", id);
        out.put("outcome", outcome);
        if (resolvedBy != null) {
            out.put("resolvedBy", resolvedBy);
        }
        if (r.errorCode() != null) {
            out.put("errorCode", r.errorCode());
        }
        if (r.errorLocation() != null) {
            out.put("errorLocation", r.errorLocation());
        }
        if (r.ack() != null) {
            out.put("ack", r.ack());
        }
        return out;
    }

    private static Instant instant(String name, String value) {
        if (value == null) {
            return null;
        }
        try {
            return OffsetDateTime.parse(value).toInstant();
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(name + " must be an ISO 8601 date-time with an offset,"
                    + " e.g. 2026-11-29T04:00:00Z");
        }
    }
}
