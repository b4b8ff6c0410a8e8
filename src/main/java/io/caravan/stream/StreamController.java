package io.caravan.stream;

import io.caravan.audit.Actions;
import io.caravan.audit.AuditDraft;
import io.caravan.audit.AuditLog;
import io.caravan.eventlog.Subscriptions;
import io.caravan.system.Problems;
import java.security.Principal;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/** The stream destinations' status and replay (README "Event streams"). Numbers and codes only: no PHI. */
@RestController
class StreamController {

    private final StreamDestinations destinations;
    private final StreamOutbox outbox;
    private final WebhookPublisher webhooks;
    private final KafkaPublisher kafka;
    private final Subscriptions subscriptions;
    private final AuditLog audit;
    private final Clock clock;

    StreamController(StreamDestinations destinations, StreamOutbox outbox, WebhookPublisher webhooks,
            KafkaPublisher kafka, Subscriptions subscriptions, AuditLog audit, Clock clock) {
        this.kafka = kafka;
        this.destinations = destinations;
        this.outbox = outbox;
        this.webhooks = webhooks;
        this.subscriptions = subscriptions;
        this.audit = audit;
        this.clock = clock;
    }

    /**
     * Per destination: {@code lag} (log events its subscriber has not read yet), {@code backlog} (outbox entries not
     * delivered), the oldest of them, those given up, the last delivery and the last error.
     */
    @GetMapping("/api/streams")
    List<Map<String, Object>> status() {
        LocalDate today = LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC);
        return destinations.all().stream().map(d -> {
            StreamOutbox.Backlog b = outbox.backlog(d.id());
            WebhookPublisher.Failure f = StreamDestination.KAFKA.equals(d.kind()) ? kafka.lastFailure(d.id())
                    : webhooks.lastFailure(d.id());
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("destination", d.id());
            m.put("kind", d.kind());
            m.put("channel", d.channel());
            m.put("form", d.baaInForce(today) ? StreamSubscriber.FORM_BAA : SafeHarbor.FORM);
            m.put("lag", subscriptions.lag(d.subscriberName()));
            m.put("backlog", b.pending());
            m.put("oldestPending", b.oldestPending());
            m.put("givenUp", b.givenUp());
            m.put("lastDelivered", b.lastDelivered());
            m.put("lastError", f != null ? f.error() : b.headError());
            m.put("lastErrorAt", f != null ? f.at() : null);
            return m;
        }).toList();
    }

    /**
     * Sends again every event of the destination written to its outbox at or after {@code from} (ISO 8601 instant or
     * date), in order and with the same ids, so the receiver can tell a replay from a new event.
     */
    @PostMapping("/api/streams/{destination}/replay")
    @ResponseStatus(HttpStatus.ACCEPTED)
    Map<String, Object> replay(@PathVariable String destination, @RequestParam(required = false) String from,
            Principal who) {
        StreamDestination d = destinations.get(destination);
        if (d == null) {
            throw new Problems.NotFound("no stream destination with this id");
        }
        Instant since = parse(from);
        int n = outbox.replay(d.id(), since);
        audit.appendAndWait(AuditDraft.of(who.getName(), Actions.STREAM_REPLAYED).channel(d.channel())
                .outcome("replayed").detail("destination", d.id()).detail("from", since.toString())
                .detail("events", n));
        return Map.of("destination", d.id(), "from", since, "replayed", n);
    }

    private static Instant parse(String from) {
        if (from == null || from.isBlank()) {
            throw new IllegalArgumentException("from is required: an ISO 8601 instant or date");
        }
        try {
            return from.length() == 10 ? LocalDate.parse(from).atStartOfDay(ZoneOffset.UTC).toInstant()
                    : OffsetDateTime.parse(from).toInstant();
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("from must be an ISO 8601 instant or date");
        }
    }
}
