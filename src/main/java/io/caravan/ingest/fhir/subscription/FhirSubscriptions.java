package io.caravan.ingest.fhir.subscription;

import ca.uhn.fhir.parser.DataFormatException;
import io.caravan.ingest.fhir.FhirHttp;
import io.caravan.ingest.fhir.FhirResourceIntake;
import io.caravan.ingest.fhir.FhirServerAuth;
import io.caravan.ingest.fhir.FhirSource;
import io.caravan.ingest.fhir.subscription.SubscriptionStore.State;
import io.caravan.mapping.AdapterProfile;
import io.caravan.mapping.FhirSubscriptionSettings;
import io.caravan.mapping.MappingCatalog;
import io.caravan.mapping.fhir.FhirMappings;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Basic;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Extension;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Parameters.ParametersParameterComponent;
import org.hl7.fhir.r4.model.PrimitiveType;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.hl7.fhir.r4.model.Type;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.convert.DurationStyle;
import org.springframework.core.env.Environment;
import org.springframework.stereotype.Component;

/**
 * Topic-based subscriptions, Subscriptions R5 Backport IG on R4: the notification Bundles an EHR posts (handshake,
 * heartbeat, event-notification; {@code full-resource}, {@code id-only} and {@code empty} payloads), each event's
 * resource through the same intake as a POSTed one. Delivery is at least once and in any order: events are numbered
 * ({@code eventsSinceSubscriptionStart}), a number seen twice is applied once (and the resource version once anyway),
 * and a number still missing after {@code gapWait} is fetched with {@code $events} - or, from a server without it,
 * closed by a search of the adapter's types by {@code _lastUpdated} since the last event before the gap. A silent
 * subscription (no heartbeat within its period) is asked {@code $status}, which names the events it sent.
 */
@Component
public class FhirSubscriptions {

    private static final Logger log = LoggerFactory.getLogger(FhirSubscriptions.class);
    static final String FHIR_JSON = "application/fhir+json";

    /** Why a notification is refused; the status to answer with. */
    public static final class Refused extends RuntimeException {
        public final int status;

        Refused(int status, String text) {
            super(text, null, false, false);
            this.status = status;
        }
    }

    /** One event of a notification: its number, time, and where its resource is. */
    record Event(long number, Instant timestamp, String focus, IBaseResource resource) {
    }

    /** What a notification said. */
    record Notification(String subscription, String type, String status, long eventsSinceStart, List<Event> events) {
    }

    /** What was done with a notification, for the answer. */
    public record Received(String type, int events, int applied, int duplicates, int failed) {
    }

    private final SubscriptionStore store;
    private final FhirResourceIntake intake;
    private final MappingCatalog catalog;
    private final FhirServerAuth auth;
    private final Environment env;
    private final Clock clock;
    private final FhirHttp http;

    FhirSubscriptions(SubscriptionStore store, FhirResourceIntake intake, MappingCatalog catalog, FhirServerAuth auth,
            Environment env, Clock clock, @Value("${caravan.fhir.bulk.http-timeout:60s}") Duration httpTimeout) {
        this.store = store;
        this.intake = intake;
        this.catalog = catalog;
        this.auth = auth;
        this.env = env;
        this.clock = clock;
        this.http = new FhirHttp(httpTimeout);
    }

    AdapterProfile adapter(String id) {
        return catalog.adapters().stream().filter(a -> "fhir".equals(a.kind) && a.id.equals(id) && a.fhir != null
                && a.fhir.subscription != null).findFirst().orElse(null);
    }

    /** Checks the shared secret; the same answer for an unknown adapter and a wrong secret. */
    public AdapterProfile authenticate(String adapterId, java.util.function.Function<String, String> headers) {
        AdapterProfile a = adapter(adapterId);
        String secret = a == null || a.fhir.subscription.secretEnv == null ? null
                : env.getProperty(a.fhir.subscription.secretEnv);
        String sent = a == null ? null : headers.apply(a.fhir.subscription.header);
        if (secret == null || secret.isEmpty() || sent == null || !MessageDigest.isEqual(
                secret.getBytes(StandardCharsets.UTF_8), sent.getBytes(StandardCharsets.UTF_8))) {
            throw new Refused(401, "not authenticated: the adapter's subscription secret is required");
        }
        return a;
    }

    /** A notification Bundle the EHR posted. */
    public Received receive(AdapterProfile a, Bundle bundle) throws InterruptedException {
        Notification n = read(bundle);
        Instant now = clock.instant();
        long first = n.events().stream().mapToLong(Event::number).filter(x -> x > 0).min().orElse(0);
        store.seen(a.id, n.subscription(), n.status(), n.type(), n.eventsSinceStart(), first, now);
        Received r;
        if ("event-notification".equals(n.type()) || "query-event".equals(n.type())) {
            r = apply(a, n, now);
        } else {
            // handshake, heartbeat, query-status: the numbers they carry may open a gap, closed by the tick
            store.settle(a.id, n.subscription(), now);
            r = new Received(n.type(), 0, 0, 0, 0);
        }
        return r;
    }

    private Received apply(AdapterProfile a, Notification n, Instant now) throws InterruptedException {
        List<long[]> done = new ArrayList<>();
        int applied = 0;
        int duplicates = 0;
        int failed = 0;
        for (Event e : n.events()) {
            if (e.number() > 0 && store.applied(a.id, n.subscription(), e.number())) {
                // a notification delivered again (at least once): its event is not applied twice
                duplicates++;
                continue;
            }
            IBaseResource resource = e.resource();
            if (resource == null && e.focus() != null) {
                resource = readBack(a, e.focus());   // id-only: the resource from the server
            }
            if (resource == null) {
                // empty payload (or a focus the server would not give): left missing, recovered like a gap
                continue;
            }
            FhirResourceIntake.Result result = intake.commit(a.id, resource);
            switch (result) {
                case APPLIED, PASSED_OVER -> applied++;
                case DUPLICATE -> duplicates++;
                case FAILED -> failed++;
                case RESEND -> throw new Refused(503, "the store did not confirm: send the notification again");
            }
            if (e.number() > 0) {
                done.add(new long[] {e.number(), e.timestamp() == null ? 0 : e.timestamp().toEpochMilli()});
            }
        }
        store.applied(a.id, n.subscription(), done, now);
        return new Received(n.type(), n.events().size(), applied, duplicates, failed);
    }

    private IBaseResource readBack(AdapterProfile a, String focus) throws InterruptedException {
        String url = absolute(a, focus);
        try {
            FhirHttp.Answer r = http(a).get(url, auth.authorization(a), FHIR_JSON);
            if (r.status() != 200) {
                log.warn("FHIR subscription of adapter {}: reading an id-only event's resource answered {}", a.id,
                        FhirHttp.summary(r));
                return null;
            }
            return FhirSource.jsonParser().parseResource(r.body());
        } catch (IOException | DataFormatException e) {
            log.warn("FHIR subscription of adapter {}: an id-only event's resource could not be read ({})", a.id,
                    e.getClass().getSimpleName());
            return null;
        }
    }

    private static String base(AdapterProfile a) {
        String b = a.fhir.baseUrl;
        if (b == null) {
            throw new IllegalStateException("no baseUrl");
        }
        return b.endsWith("/") ? b.substring(0, b.length() - 1) : b;
    }

    private static String absolute(AdapterProfile a, String ref) {
        return ref.startsWith("http://") || ref.startsWith("https://") ? ref : base(a) + "/" + ref;
    }

    /** Reads the status resource (Parameters, or the earlier Basic form) and the events it lists. */
    Notification read(Bundle bundle) {
        if (bundle.getEntry().isEmpty() || bundle.getEntryFirstRep().getResource() == null) {
            throw new Refused(400, "a notification Bundle starts with its subscription status");
        }
        Resource status = bundle.getEntryFirstRep().getResource();
        StatusFields f = status instanceof Parameters p ? fromParameters(p)
                : status instanceof Basic b ? fromBasic(b) : null;
        if (f == null) {
            throw new Refused(400, "the first entry must be the subscription status (Parameters)");
        }
        if (f.subscription == null || f.type == null) {
            throw new Refused(400, "the subscription status names no subscription or no notification type");
        }
        List<Event> events = new ArrayList<>();
        for (EventFields e : f.events) {
            IBaseResource resource = e.focus == null ? null : find(bundle, e.focus);
            events.add(new Event(e.number, e.timestamp, e.focus, resource));
        }
        return new Notification(f.subscription, f.type, f.status, f.eventsSinceStart, events);
    }

    private static final class StatusFields {
        String subscription;
        String type;
        String status;
        long eventsSinceStart;
        final List<EventFields> events = new ArrayList<>();
    }

    private static final class EventFields {
        long number;
        Instant timestamp;
        String focus;
    }

    private static StatusFields fromParameters(Parameters p) {
        StatusFields f = new StatusFields();
        for (ParametersParameterComponent c : p.getParameter()) {
            switch (c.getName()) {
                case "subscription" -> f.subscription = subscriptionId(c.getValue());
                case "type" -> f.type = text(c.getValue());
                case "status" -> f.status = text(c.getValue());
                case "events-since-subscription-start" -> f.eventsSinceStart = number(text(c.getValue()));
                case "notification-event" -> {
                    EventFields e = new EventFields();
                    for (ParametersParameterComponent part : c.getPart()) {
                        switch (part.getName()) {
                            case "event-number" -> e.number = number(text(part.getValue()));
                            case "timestamp" -> e.timestamp = instant(part.getValue());
                            case "focus" -> e.focus = part.getValue() instanceof Reference r ? r.getReference()
                                    : null;
                            default -> {
                            }
                        }
                    }
                    f.events.add(e);
                }
                default -> {
                }
            }
        }
        return f;
    }

    /** The IG's first (STU1 ballot) form: a Basic with the status as extensions of the same names. */
    private static StatusFields fromBasic(Basic b) {
        StatusFields f = new StatusFields();
        for (Extension x : b.getExtension()) {
            String name = x.getUrl().substring(x.getUrl().lastIndexOf('/') + 1)
                    .replace("backport-", "").replace("subscription-", "");
            switch (name) {
                case "subscription-reference", "reference", "subscription" -> f.subscription = subscriptionId(
                        x.getValue());
                case "notification-type", "type" -> f.type = text(x.getValue());
                case "status" -> f.status = text(x.getValue());
                case "events-since-subscription-start", "event-count", "events-since-start" ->
                        f.eventsSinceStart = number(text(x.getValue()));
                default -> {
                }
            }
        }
        return f;
    }

    private static String subscriptionId(Type v) {
        String ref = v instanceof Reference r ? r.getReference() : text(v);
        if (ref == null) {
            return null;
        }
        String id = new IdType(ref).getIdPart();
        return id == null || !id.matches("[A-Za-z0-9\\-.]{1,64}") ? null : id;
    }

    private static String text(Type v) {
        return v instanceof PrimitiveType<?> p ? p.getValueAsString() : null;
    }

    private static long number(String s) {
        try {
            return s == null ? 0 : Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            throw new Refused(400, "an event number is not a number");
        }
    }

    private static Instant instant(Type v) {
        return v instanceof org.hl7.fhir.r4.model.BaseDateTimeType d && d.getValue() != null
                ? d.getValue().toInstant() : null;
    }

    /** The entry holding the focus resource, matched by type and id (full URLs and versions aside). */
    private static IBaseResource find(Bundle bundle, String focus) {
        IdType want = new IdType(focus);
        for (int i = 1; i < bundle.getEntry().size(); i++) {
            Resource r = bundle.getEntry().get(i).getResource();
            if (r != null && r.fhirType().equals(want.getResourceType()) && r.getIdElement().getIdPart() != null
                    && r.getIdElement().getIdPart().equals(want.getIdPart())) {
                return r;
            }
        }
        return null;
    }

    /**
     * The clustered Quartz tick: gaps open longer than their adapter's {@code gapWait} are recovered; subscriptions
     * silent longer than their {@code heartbeatPeriod} are asked {@code $status}.
     */
    public void tick() {
        Instant now = clock.instant();
        for (State st : store.all()) {
            AdapterProfile a = adapter(st.adapter());
            if (a == null || a.fhir.baseUrl == null || "off".equals(st.status())) {
                continue;
            }
            FhirSubscriptionSettings s = a.fhir.subscription;
            try {
                if (s.heartbeatPeriod != null && st.lastSeenAt().plus(duration(s.heartbeatPeriod)).isBefore(now)) {
                    status(a, st, now);
                    st = store.find(st.adapter(), st.subscription()).orElse(st);
                }
                if (st.gap() && st.gapSince() != null && !st.gapSince().plus(duration(s.gapWait)).isAfter(now)) {
                    recover(a, st, now);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                log.warn("FHIR subscription {} of adapter {}: check failed ({})", st.subscription(), a.id,
                        e.getClass().getSimpleName());
            }
        }
    }

    private void status(AdapterProfile a, State st, Instant now) throws InterruptedException {
        String url = base(a) + "/Subscription/" + st.subscription() + "/$status";
        store.checked(a.id, st.subscription(), now);
        try {
            FhirHttp.Answer r = http(a).get(url, auth.authorization(a), FHIR_JSON);
            if (r.status() != 200) {
                log.warn("FHIR subscription {} of adapter {}: no heartbeat, and $status answered {}",
                        st.subscription(), a.id, FhirHttp.summary(r));
                return;
            }
            Bundle b = (Bundle) FhirSource.jsonParser().parseResource(r.body());
            Notification n = read(b);
            store.seen(a.id, st.subscription(), n.status(), "query-status", n.eventsSinceStart(), 0, now);
            store.settle(a.id, st.subscription(), now.minus(duration(a.fhir.subscription.gapWait)));
            log.info("FHIR subscription {} of adapter {}: no heartbeat; $status says {} event(s) sent, {} applied",
                    st.subscription(), a.id, n.eventsSinceStart(), st.contiguous());
        } catch (IOException | DataFormatException | ClassCastException | Refused e) {
            log.warn("FHIR subscription {} of adapter {}: no heartbeat, and $status could not be read ({})",
                    st.subscription(), a.id, e.getClass().getSimpleName());
        }
    }

    /** Fetches the missing events with $events; a server without it gets a search by _lastUpdated instead. */
    void recover(AdapterProfile a, State st, Instant now) throws InterruptedException {
        List<Long> missing = store.missing(st);
        if (missing.isEmpty()) {
            store.settle(a.id, st.subscription(), now);
            return;
        }
        long from = missing.get(0);
        long to = missing.get(missing.size() - 1);
        String url = base(a) + "/Subscription/" + st.subscription() + "/$events?eventsSinceNumber=" + from
                + "&eventsUntilNumber=" + to + "&content=full-resource";
        try {
            FhirHttp.Answer r = http(a).get(url, auth.authorization(a), FHIR_JSON);
            if (r.status() == 200) {
                Bundle b = (Bundle) FhirSource.jsonParser().parseResource(r.body());
                Notification n = read(b);
                Received got = apply(a, new Notification(st.subscription(), "query-event", null, 0,
                        n.events().stream().filter(e -> missing.contains(e.number())).toList()), now);
                store.recovered(a.id, st.subscription(), got.events());
                log.info("FHIR subscription {} of adapter {}: events {} to {} recovered with $events ({} applied)",
                        st.subscription(), a.id, from, to, got.applied());
                State after = store.find(a.id, st.subscription()).orElse(st);
                if (!after.gap() || after.contiguous() >= to) {
                    return;
                }
            } else {
                log.info("FHIR subscription {} of adapter {}: $events answered {}; searching by _lastUpdated",
                        st.subscription(), a.id, FhirHttp.summary(r));
            }
            search(a, st, to, now);
        } catch (IOException | DataFormatException | ClassCastException | Refused e) {
            store.recoveryFailed(a.id, st.subscription(), e.getClass().getSimpleName(), now);
            log.warn("FHIR subscription {} of adapter {}: events {} to {} not recovered yet ({}); trying again",
                    st.subscription(), a.id, from, to, e.getClass().getSimpleName());
        }
    }

    /**
     * The fallback: every resource of the adapter's types changed since the last event before the gap (a minute
     * earlier, for clocks), every page followed; what was applied already is recognised by its version.
     */
    private void search(AdapterProfile a, State st, long upTo, Instant now) throws IOException, InterruptedException {
        Instant since = (st.contiguousAt() != null ? st.contiguousAt() : st.handshakeAt() != null ? st.handshakeAt()
                : st.lastSeenAt()).minus(Duration.ofMinutes(1));
        long count = 0;
        for (String type : a.fhir.resourceTypes) {
            String url = base(a) + "/" + type + "?_lastUpdated=" + URLEncoder.encode("ge"
                    + DateTimeFormatter.ISO_INSTANT.format(since), StandardCharsets.UTF_8) + "&_count=100";
            for (int page = 0; url != null && page < 10_000; page++) {
                FhirHttp.Answer r = http(a).get(url, auth.authorization(a), FHIR_JSON);
                if (r.status() != 200) {
                    throw new IOException("search answered " + r.status());
                }
                Bundle b = (Bundle) FhirSource.jsonParser().parseResource(r.body());
                for (Bundle.BundleEntryComponent e : b.getEntry()) {
                    if (e.getResource() != null && type.equals(FhirMappings.R4.getResourceType(e.getResource()))) {
                        if (intake.commit(a.id, e.getResource()) == FhirResourceIntake.Result.RESEND) {
                            throw new IOException("the store did not confirm");
                        }
                        count++;
                    }
                }
                url = b.getLink(Bundle.LINK_NEXT) == null ? null : b.getLink(Bundle.LINK_NEXT).getUrl();
            }
        }
        store.recoveredUpTo(a.id, st.subscription(), upTo, count, now);
        log.info("FHIR subscription {} of adapter {}: gap up to event {} closed by a search ({} resources read)",
                st.subscription(), a.id, upTo, count);
    }

    /** Requests to {@code a}'s server, over its own TLS trust when the adapter's auth provides one. */
    private FhirHttp http(AdapterProfile a) {
        return a == null ? http : http.over(auth.httpClient(a));
    }

    static Duration duration(String text) {
        return DurationStyle.detectAndParse(text);
    }
}
