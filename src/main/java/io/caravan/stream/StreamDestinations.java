package io.caravan.stream;

import io.caravan.mapping.AdapterProfile;
import io.caravan.mapping.MappingCatalog;
import io.caravan.workflow.Conditions;
import java.net.URI;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.springframework.stereotype.Component;

/**
 * The stream destinations among the adapters, checked at start-up: a destination that cannot be honoured (an http
 * URL to another host, no signing secret variable, an unknown event type or field, a filter that does not compile)
 * stops the start with every problem named, rather than publishing something else than the file says.
 */
@Component
public class StreamDestinations implements io.caravan.contact.LoggedKinds {

    /** Contact and event fields a BAA destination may list (minimum necessary: nothing goes that is not listed). */
    public static final Set<String> BAA_FIELDS = Set.of("contact.identifiers", "contact.name", "contact.birthDate",
            "contact.gender", "contact.email", "contact.phone", "contact.language", "contact.address",
            "contact.hubId", "event.occurredAt", "event.data", "event.source");
    static final Set<String> PURPOSES = Set.of("treatment", "payment", "operations", "marketing");

    private final Map<String, StreamDestination> byId = new LinkedHashMap<>();

    public StreamDestinations(MappingCatalog catalog) {
        List<String> problems = new ArrayList<>();
        for (AdapterProfile a : catalog.adapters()) {
            if (StreamDestination.WEBHOOK.equals(a.kind) || StreamDestination.KAFKA.equals(a.kind)) {
                StreamDestination d = check(a, problems);
                if (d != null) {
                    byId.put(d.id(), d);
                }
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalStateException("Stream destinations: " + String.join("; ", problems));
        }
    }

    /** A contact change or a message status goes into the event log only while a destination lists it. */
    @Override
    public boolean wanted(String type) {
        return byId.values().stream().anyMatch(d -> d.events().contains(type));
    }

    public List<StreamDestination> all() {
        return List.copyOf(byId.values());
    }

    public StreamDestination get(String id) {
        return byId.get(id);
    }

    static StreamDestination check(AdapterProfile a, List<String> problems) {
        String at = "adapters/" + a.id + ".yaml: ";
        int before = problems.size();
        AdapterProfile.Stream s = a.stream == null ? new AdapterProfile.Stream() : a.stream;
        Set<String> events = new LinkedHashSet<>(s.events == null ? List.of() : s.events);
        if (events.isEmpty()) {
            problems.add(at + "stream.events must list at least one event type");
        }
        events.stream().filter(e -> !EventKinds.known(e))
                .forEach(e -> problems.add(at + "stream.events: unknown event type " + e));
        if (s.purpose == null || !PURPOSES.contains(s.purpose)) {
            problems.add(at + "stream.purpose must be one of " + PURPOSES);
        }
        List<String> fields = s.fields == null ? List.of() : List.copyOf(s.fields);
        fields.stream().filter(f -> !BAA_FIELDS.contains(f))
                .forEach(f -> problems.add(at + "stream.fields: unknown field " + f + " (known: "
                        + new java.util.TreeSet<>(BAA_FIELDS) + ")"));
        org.springframework.expression.Expression filter = null;
        if (s.filter != null && !s.filter.isBlank()) {
            String p = Conditions.problem(s.filter);
            if (p != null) {
                problems.add(at + "stream.filter does not compile: " + p);
            } else {
                filter = Conditions.compile(s.filter);
            }
        }
        LocalDate expires = null;
        if (a.baa.expires != null && !a.baa.expires.isBlank()) {
            try {
                expires = LocalDate.parse(a.baa.expires);
            } catch (DateTimeParseException e) {
                problems.add(at + "baa.expires must be a date (YYYY-MM-DD)");
            }
        }
        if (StreamDestination.WEBHOOK.equals(a.kind)) {
            if (a.webhook == null || a.webhook.url == null) {
                problems.add(at + "webhook.url is required");
            } else {
                try {
                    if (!StreamDestination.urlAllowed(URI.create(a.webhook.url))) {
                        problems.add(at + "webhook.url must be https (http only to 127.0.0.1 or localhost)");
                    }
                } catch (IllegalArgumentException e) {
                    problems.add(at + "webhook.url is not a URL");
                }
            }
            if (a.webhook == null || a.webhook.secretEnv == null || a.webhook.secretEnv.isBlank()) {
                problems.add(at + "webhook.secretEnv must name the environment variable holding the signing secret");
            }
        } else {
            if (a.kafka == null || a.kafka.bootstrapServers == null || a.kafka.topic == null) {
                problems.add(at + "kafka.bootstrapServers and kafka.topic are required");
            } else if (a.kafka.producer != null) {
                // what makes a resend harmless and an acknowledged record durable is not negotiable
                String idem = a.kafka.producer.get("enable.idempotence");
                String acks = a.kafka.producer.get("acks");
                if (idem != null && !"true".equals(idem) || acks != null && !"all".equals(acks)
                        && !"-1".equals(acks) || a.kafka.producer.containsKey("transactional.id")) {
                    problems.add(at + "kafka.producer cannot turn off enable.idempotence or acks=all, nor set"
                            + " transactional.id");
                }
            }
        }
        if (a.id.length() > 56) {
            problems.add(at + "a stream destination's id is at most 56 characters");
        }
        if (problems.size() > before) {
            return null;
        }
        String channel = (StreamDestination.WEBHOOK.equals(a.kind) ? "webhook:" : "queue:") + a.id;
        return new StreamDestination(a.id, a.kind, channel, s.purpose, Set.copyOf(events), filter, fields,
                a.baa.status, expires, a.webhook, a.kafka);
    }
}
