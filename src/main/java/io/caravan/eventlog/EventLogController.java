package io.caravan.eventlog;

import io.caravan.system.Problems;
import java.security.Principal;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/**
 * Parked contacts (README "Operations"): {@code GET /api/event-log/parked} lists them, {@code POST
 * /api/event-log/parked/{subscriber}/{contact}/retry} tries the failed event now, {@code .../skip} gives it up and
 * releases the events held behind it. Both actions are audited. Ids, positions and where a failure arose; no message.
 */
@RestController
class EventLogController {

    private final ParkedContacts parked;

    EventLogController(ParkedContacts parked) {
        this.parked = parked;
    }

    @GetMapping("/api/event-log/parked")
    List<Map<String, Object>> parked(@RequestParam(required = false) String subscriber) {
        return parked.list(subscriber).stream().map(p -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("subscriber", p.subscriber());
            m.put("contactId", p.contactId());
            m.put("events", p.events().stream().map(EventLogController::held).toList());
            m.put("attempts", p.attempts());
            m.put("exhausted", p.exhausted());
            m.put("error", p.error());
            m.put("since", p.since());
            m.put("nextAttempt", p.nextAttempt());
            return m;
        }).toList();
    }

    @PostMapping("/api/event-log/parked/{subscriber}/{contact}/retry")
    @ResponseStatus(HttpStatus.ACCEPTED)
    Map<String, Object> retry(@PathVariable String subscriber, @PathVariable UUID contact, Principal who) {
        ParkedContacts.Held h = parked.retry(subscriber, contact, who.getName()).orElseThrow(EventLogController::none);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("subscriber", subscriber);
        m.put("contactId", contact);
        m.put("retrying", held(h));
        return m;
    }

    @PostMapping("/api/event-log/parked/{subscriber}/{contact}/skip")
    Map<String, Object> skip(@PathVariable String subscriber, @PathVariable UUID contact, Principal who) {
        ParkedContacts.Skipped s = parked.skip(subscriber, contact, who.getName())
                .orElseThrow(EventLogController::none);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("subscriber", subscriber);
        m.put("contactId", contact);
        m.put("skipped", held(s.event()));
        m.put("released", s.released());
        return m;
    }

    private static Map<String, Object> held(ParkedContacts.Held h) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("eventId", h.eventId());
        m.put("partition", h.partition());
        m.put("position", h.position());
        return m;
    }

    private static Problems.NotFound none() {
        return new Problems.NotFound("this contact is not parked for this subscriber");
    }
}
