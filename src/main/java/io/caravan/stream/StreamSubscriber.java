package io.caravan.stream;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.audit.Disclosures;
import io.caravan.consent.ConsentService;
import io.caravan.consent.Decision;
import io.caravan.consent.DecisionRequest;
import io.caravan.contact.Contact;
import io.caravan.contact.ContactStore;
import io.caravan.contact.ContactStore.LoggedEvent;
import io.caravan.contact.TriggerEvent;
import io.caravan.eventlog.EventSubscriber;
import io.caravan.workflow.Conditions;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One destination's reader of the event log, with its own cursor ({@code stream:<id>}). For each event of a listed
 * type whose contact passes the filter, it asks the gate (per contact, at this moment: an opt-out stops the very next
 * event) and writes what may go into the outbox, in the transaction that moves its cursor - so after a crash each
 * event is in the outbox exactly once. The form follows the gate's answer: {@code phi} (a BAA in force and a purpose
 * allowed) gives the allow-listed fields, anything else the Safe Harbor form.
 */
public class StreamSubscriber implements EventSubscriber {

    private static final Logger log = LoggerFactory.getLogger(StreamSubscriber.class);
    // modules named, not discovered: a module found on the classpath (Scala's, with Kafka) would change the maps
    private static final ObjectMapper JSON = com.fasterxml.jackson.databind.json.JsonMapper.builder()
            .addModule(new com.fasterxml.jackson.datatype.jsr310.JavaTimeModule()).build();
    private static final com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>> MAP =
            new com.fasterxml.jackson.core.type.TypeReference<>() { };
    public static final String FORM_BAA = "baa";

    private final StreamDestination d;
    private final ContactStore contacts;
    private final ConsentService consent;
    private final Disclosures disclosures;
    private final Surrogates surrogates;
    private final SafeHarbor harbor;
    private final StreamOutbox outbox;
    private final MeterRegistry meters;
    private final Clock clock;
    private final Map<String, io.micrometer.core.instrument.Counter> counters =
            new java.util.concurrent.ConcurrentHashMap<>();

    public StreamSubscriber(StreamDestination d, ContactStore contacts, ConsentService consent,
            Disclosures disclosures, Surrogates surrogates, SafeHarbor harbor, StreamOutbox outbox, MeterRegistry meters,
            Clock clock) {
        this.d = d;
        this.contacts = contacts;
        this.consent = consent;
        this.disclosures = disclosures;
        this.surrogates = surrogates;
        this.harbor = harbor;
        this.outbox = outbox;
        this.meters = meters;
        this.clock = clock;
    }

    @Override
    public String subscriberName() {
        return d.subscriberName();
    }

    public StreamDestination destination() {
        return d;
    }

    /** The kinds the destination's file lists; the others are never opened for it. */
    @Override
    public boolean wants(String type) {
        return d.events().contains(type);
    }

    @Override
    public void onEvent(LoggedEvent logged) {
        onEvents(List.of(logged));
    }

    /** A run of events costs one wait for the audit trail (its decisions and disclosures) and one insert batch. */
    @Override
    public boolean batches() {
        return true;
    }

    /**
     * A run of events, in order: those of a listed type whose contact passes the filter are put to the gate together,
     * each allowed one is recorded as a disclosure, all these audit entries are durable before anything is written,
     * and the allowed ones are added to the outbox - all in the transaction that moves the cursor past the run.
     */
    @Override
    public void onEvents(List<LoggedEvent> run) {
        boolean baa = d.baaInForce(LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC));
        // the run's contacts in one read, each decrypted only when its row changed since the last run: one query and
        // one decryption per contact and run was most of the subscriber's own time
        Set<UUID> inRun = new java.util.LinkedHashSet<>();
        for (LoggedEvent logged : run) {
            if (d.events().contains(logged.type())) {
                inRun.add(logged.contactId());
            }
        }
        Map<UUID, Contact> read = inRun.isEmpty() ? Map.of() : contacts.findAllForSend(inRun);
        List<LoggedEvent> asked = new java.util.ArrayList<>();
        List<ConsentService.Ask> asks = new java.util.ArrayList<>();
        for (LoggedEvent logged : run) {
            if (!d.events().contains(logged.type())) {
                continue;
            }
            TriggerEvent e = logged.event();
            Contact c = read.get(logged.contactId());
            if (c == null) {
                continue;
            }
            if (d.filter() != null && !holds(c, e)) {
                count("filtered");
                continue;
            }
            if (TriggerEvent.CONTACT_CHANGED.equals(e.type()) && changed(e, baa).isEmpty()) {
                // nothing this destination may see changed (a BAA destination's unlisted fields, a new phone number
                // in the de-identified form): no event, no disclosure
                count("unseen-change");
                continue;
            }
            asked.add(logged);
            asks.add(new ConsentService.Ask(c, new DecisionRequest(d.purpose(), d.channel(),
                    baa ? Decision.PHI : Decision.DEIDENTIFIED, false, codes(e))));
        }
        if (asks.isEmpty()) {
            return;
        }
        // the run's decisions and the disclosures of what they allow go to the audit trail as one batch: one wait,
        // taken after the outbox rows are written (while the trail commits) and before the transaction that holds
        // them commits - no row can reach the wire before its entries are durable
        List<StreamOutbox.Added> added = new java.util.ArrayList<>();
        String actor = "stream:" + d.id();
        var queued = consent.decideAllQueued(asks, actor, ConsentService.Stage.SEND, decisions -> {
            // first what goes and in which form, then the surrogates of those contacts in one read, then the payloads
            List<Integer> going = new java.util.ArrayList<>();
            List<String> forms = new java.util.ArrayList<>();
            List<UUID> whose = new java.util.ArrayList<>();
            for (int i = 0; i < asked.size(); i++) {
                Decision decision = decisions.get(i);
                if (!decision.allowed()) {
                    count("denied");
                    continue;
                }
                TriggerEvent e = asked.get(i).event();
                String form = Decision.PHI.equals(decision.content()) ? FORM_BAA : SafeHarbor.FORM;
                if (TriggerEvent.CONTACT_CHANGED.equals(e.type()) && changed(e, FORM_BAA.equals(form)).isEmpty()) {
                    // the gate limited a BAA destination to the de-identified form, which shows none of the change
                    count("unseen-change");
                    continue;
                }
                going.add(i);
                forms.add(form);
                whose.add(asks.get(i).contact().id);
            }
            Map<UUID, UUID> surrogateOf = surrogates.surrogates(d.id(), whose);
            List<io.caravan.audit.AuditDraft> disclosed = new java.util.ArrayList<>(going.size());
            for (int k = 0; k < going.size(); k++) {
                int i = going.get(k);
                String form = forms.get(k);
                LoggedEvent logged = asked.get(i);
                TriggerEvent e = logged.event();
                Contact c = asks.get(i).contact();
                UUID surrogate = surrogateOf.get(c.id);
                UUID eventId = EventKinds.eventId(d.id(), e.id());
                Map<String, Object> payload = FORM_BAA.equals(form) ? baaPayload(eventId, e, c, surrogate)
                        : deidentified(eventId, e, c, surrogate);
                disclosed.add(Disclosures.entry(new Disclosures.Disclosure(c.id, d.purpose(), d.channel(),
                        d.kind() + ":" + d.id(), e.type() + " event, " + (FORM_BAA.equals(form)
                                ? "allow-listed fields under the BAA" : "de-identified (Safe Harbor)"), form,
                        eventId.toString(), false), actor));
                added.add(new StreamOutbox.Added(d.id(), eventId, logged.position(), e.type(), form, surrogate,
                        payload));
                count(form);
            }
            return disclosed;
        });
        outbox.addAll(added);
        // a failed wait rolls the run back (rows and cursor); a crash between the durable entries and the commit
        // repeats them with the run, never loses them
        queued.awaitDurable();
    }

    /**
     * The Safe Harbor form, with what a contact change or a message event adds: the names of the changed fields it
     * shows something of, or the message's per-destination reference, channel and purpose.
     */
    Map<String, Object> deidentified(UUID eventId, TriggerEvent e, Contact c, UUID surrogate) {
        Map<String, Object> out = harbor.deidentify(eventId, e.type(), e.occurredAt(), c, surrogate);
        if (TriggerEvent.CONTACT_CHANGED.equals(e.type())) {
            out.put("changed", changed(e, false));
        } else if (EventKinds.message(e.type()) && e.data() != null) {
            UUID ref = EventKinds.messageRef(d.id(), String.valueOf(e.data().get("message")));
            out.put("message", SafeHarbor.message(ref, e.data().get("channel"), e.data().get("purpose")));
        }
        return out;
    }

    /**
     * The changed fields a destination may hear of: under a BAA those its file lists ({@code contact.<field>}), in the
     * de-identified form those it shows something derived from ({@link SafeHarbor#CHANGE_FIELDS}).
     */
    List<String> changed(TriggerEvent e, boolean baa) {
        Object names = e.data() == null ? null : e.data().get("fields");
        if (!baa) {
            return SafeHarbor.visibleChanges(names);
        }
        if (!(names instanceof Collection<?> all)) {
            return List.of();
        }
        return all.stream().map(String::valueOf).filter(n -> d.fields().contains("contact." + n)).sorted().toList();
    }

    /** The BAA form: the listed fields only (minimum necessary), the contact still under its surrogate. */
    Map<String, Object> baaPayload(UUID eventId, TriggerEvent e, Contact c, UUID surrogate) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", eventId.toString());
        out.put("form", FORM_BAA);
        out.put("type", e.type());
        List<String> f = d.fields();
        if (f.contains("event.occurredAt") && e.occurredAt() != null) {
            // RFC 3339 with seconds always (OffsetDateTime.toString drops ":00" seconds)
            out.put("occurredAt", e.occurredAt().format(java.time.format.DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        }
        Map<String, Object> who = new LinkedHashMap<>();
        who.put("id", surrogate.toString());
        put(who, f, "contact.hubId", "hubId", c.id == null ? null : c.id.toString());
        put(who, f, "contact.identifiers", "identifiers", c.identifiers);
        put(who, f, "contact.name", "name", c.name);
        put(who, f, "contact.birthDate", "birthDate", c.birthDate);
        put(who, f, "contact.gender", "gender", c.gender);
        put(who, f, "contact.email", "email", c.email);
        put(who, f, "contact.phone", "phone", c.phone);
        put(who, f, "contact.language", "language", c.language);
        put(who, f, "contact.address", "address", c.address);
        out.put("contact", JSON.convertValue(who, MAP));
        // a contact change's data names every changed field: "changed" below says only the listed ones
        if (f.contains("event.data") && e.data() != null && !TriggerEvent.CONTACT_CHANGED.equals(e.type())) {
            out.put("data", e.data());
        }
        if (f.contains("event.source") && e.source() != null) {
            out.put("source", JSON.convertValue(e.source(), MAP));
        }
        if (TriggerEvent.CONTACT_CHANGED.equals(e.type())) {
            out.put("changed", changed(e, true));
        } else if (EventKinds.message(e.type()) && e.data() != null) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("ref", EventKinds.messageRef(d.id(), String.valueOf(e.data().get("message"))).toString());
            for (String k : List.of("channel", "purpose", "template")) {
                if (e.data().get(k) instanceof String v) {
                    m.put(k, v);
                }
            }
            out.put("message", m);
        }
        return out;
    }

    private static void put(Map<String, Object> m, List<String> fields, String field, String key, Object v) {
        if (v != null && fields.contains(field)) {
            m.put(key, v);
        }
    }

    /** A filter that cannot be evaluated for this contact (a value of the wrong kind) does not hold. */
    private boolean holds(Contact c, TriggerEvent e) {
        Map<String, Object> contact = Collections.unmodifiableMap(JSON.convertValue(c, MAP));
        Map<String, Object> event = new LinkedHashMap<>();
        event.put("type", e.type());
        event.put("occurredAt", e.occurredAt() == null ? null : e.occurredAt().toString());
        event.put("data", e.data() == null ? Map.of() : Collections.unmodifiableMap(e.data()));
        Set<String> codes = new HashSet<>(codes(e));
        if (contact.get("attributes") instanceof Map<?, ?> a && a.get("codes") instanceof Collection<?> cs) {
            cs.forEach(x -> codes.add(String.valueOf(x)));
        }
        try {
            return Conditions.test(d.filter(), new Conditions.Facts(contact, event, event, clock.instant(),
                    ZoneOffset.UTC, codes, (step, what) -> false));
        } catch (IllegalArgumentException ex) {
            log.warn("The filter of stream {} could not be evaluated for event {} ({}); not published", d.id(),
                    e.id(), ex.getMessage());
            return false;
        }
    }

    /** The codes an event carries (data {@code codes}), for the gate's sensitive categories. */
    private static List<String> codes(TriggerEvent e) {
        Object v = e.data() == null ? null : e.data().get("codes");
        if (v instanceof Collection<?> c) {
            return c.stream().map(String::valueOf).toList();
        }
        return v == null ? List.of() : List.of(String.valueOf(v));
    }

    private void count(String outcome) {
        // looked up once per outcome, not per event: the registry builds and sorts a meter id on every lookup
        counters.computeIfAbsent(outcome, o -> meters.counter("caravan_stream_events_total", "destination", d.id(),
                "outcome", o)).increment();
    }
}
