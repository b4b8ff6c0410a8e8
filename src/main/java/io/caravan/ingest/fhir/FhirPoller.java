package io.caravan.ingest.fhir;

import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.client.exceptions.FhirClientConnectionException;
import ca.uhn.fhir.rest.gclient.DateClientParam;
import ca.uhn.fhir.rest.gclient.IQuery;
import ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException;
import io.caravan.contact.SourceMessage;
import io.caravan.ingest.Intake;
import io.caravan.mapping.AdapterProfile;
import io.caravan.mapping.FhirPollSettings;
import io.caravan.mapping.MappingCatalog;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Resource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Polls FHIR adapters for what changed: per resource type, {@code _lastUpdated=gt(watermark - overlap)} sorted by
 * {@code _lastUpdated}, every {@code next} link followed, each resource read by the {@code fhir} intake source and
 * committed through the intake step (the same one a direct POST goes through: dedupe by id and version drops what the
 * overlap reads again). The watermark moves after each page's commits are confirmed, never before. A 429 or 503 waits
 * for the server's Retry-After, other failures back off exponentially; when the next poll may run is stored, so the
 * node that runs the next Quartz fire honours it. Called by the adapter's Quartz route ({@link FhirPollRoutes}): one
 * node at a time.
 */
@Component
public class FhirPoller {

    private static final Logger log = LoggerFactory.getLogger(FhirPoller.class);
    private static final Duration FIRST_BACKOFF = Duration.ofSeconds(5);

    /** The poll stopped; the message is the hub's own (a status, a kind of failure): it goes to the status API. */
    static final class Stopped extends RuntimeException {
        final Duration retryAfter;

        Stopped(String message, Duration retryAfter) {
            super(message, null, false, false);
            this.retryAfter = retryAfter;
        }
    }

    private final FhirClients clients;
    private final FhirSource source;
    private final Intake intake;
    private final FhirPollStore store;
    private final MappingCatalog catalog;
    private final Clock clock;
    private final MeterRegistry meters;
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    /** Commits of one page run side by side: each waits for its group commit, and a page is one group. */
    private final ExecutorService committers;

    public FhirPoller(FhirClients clients, FhirSource source, Intake intake, FhirPollStore store,
            MappingCatalog catalog, Clock clock, MeterRegistry meters) {
        this.clients = clients;
        this.source = source;
        this.intake = intake;
        this.store = store;
        this.catalog = catalog;
        this.clock = clock;
        this.meters = meters;
        AtomicInteger n = new AtomicInteger();
        this.committers = Executors.newFixedThreadPool(16, r -> {
            Thread t = new Thread(r, "fhir-poll-commit-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** The FHIR adapters that poll. */
    public List<AdapterProfile> polled() {
        return catalog.adapters().stream().filter(a -> "fhir".equals(a.kind) && a.fhir != null && a.fhir.poll != null
                && a.fhir.baseUrl != null).toList();
    }

    /** The types polled for an adapter: those it takes that the hub maps. */
    public List<String> types(AdapterProfile a) {
        return a.fhir.resourceTypes.stream().filter(source.mappings().resourceTypes()::contains).toList();
    }

    /** One Quartz fire: polls {@code adapterId} when it is due. Returns the resources read (0 when not due). */
    public int tick(String adapterId) throws InterruptedException {
        AdapterProfile a = polled().stream().filter(p -> p.id.equals(adapterId)).findFirst().orElse(null);
        if (a == null) {
            return 0;
        }
        FhirPollStore.State state = store.state(a.id);
        if (state != null && clock.instant().isBefore(state.nextPollAt())) {
            return 0;
        }
        return poll(a, state);
    }

    /** Polls {@code adapterId} now, due or not (one caller at a time: the Quartz job, or a test that stopped it). */
    public int pollNow(String adapterId) throws InterruptedException {
        AdapterProfile a = polled().stream().filter(p -> p.id.equals(adapterId)).findFirst().orElseThrow();
        return poll(a, store.state(a.id));
    }

    private int poll(AdapterProfile a, FhirPollStore.State state) throws InterruptedException {
        Instant now = clock.instant();
        FhirPollSettings poll = a.fhir.poll;
        int[] read = {0};
        Timer.Sample sample = Timer.start(meters);
        try {
            try {
                poll(a, read);
            } catch (Stopped e) {
                throw e;
            } catch (RuntimeException e) {
                // anything else (the database, a bug) backs off too, rather than retrying at every tick; the
                // exception's message may quote what it failed on, so only its kind is kept
                throw new Stopped("the poll failed (" + e.getClass().getSimpleName() + ")", null);
            }
            store.succeeded(a.id, now, now.plus(poll.interval()), read[0]);
            sample.stop(meters.timer("caravan.fhir.poll.duration", "adapter", a.id, "outcome", "ok"));
            return read[0];
        } catch (Stopped e) {
            int failures = state == null ? 1 : state.failures() + 1;
            Duration wait = e.retryAfter != null ? e.retryAfter : backoff(failures, poll);
            store.failed(a.id, now, clock.instant().plus(wait), e.getMessage(), read[0]);
            counter("caravan.fhir.poll.failures", a.id).increment();
            sample.stop(meters.timer("caravan.fhir.poll.duration", "adapter", a.id, "outcome", "failed"));
            log.warn("FHIR poll of adapter {} stopped: {}; next attempt in {}s", a.id, e.getMessage(),
                    wait.toSeconds());
            return read[0];
        }
    }

    static Duration backoff(int failures, FhirPollSettings poll) {
        Duration d = FIRST_BACKOFF.multipliedBy(1L << Math.min(20, failures - 1));
        return d.compareTo(poll.maxBackoff()) > 0 ? poll.maxBackoff() : d;
    }

    private void poll(AdapterProfile a, int[] read) throws InterruptedException {
        IGenericClient client = clients.client(a.id);
        FhirPollSettings poll = a.fhir.poll;
        for (String type : types(a)) {
            Instant watermark = store.watermark(a.id, type);
            Instant from = watermark != null ? watermark.minus(poll.overlap()) : poll.since();
            Bundle page = call(() -> {
                IQuery<Bundle> q = client.search().forResource(type).returnBundle(Bundle.class);
                if (from != null) {
                    q = q.where(new DateClientParam("_lastUpdated").after().millis(Date.from(from)));
                }
                return q.sort().ascending("_lastUpdated").count(poll.pageSize).execute();
            });
            while (true) {
                Instant newest = commitPage(a, type, page, read);
                if (newest != null && (watermark == null || newest.isAfter(watermark))) {
                    store.advance(a.id, type, newest, clock.instant());
                    watermark = newest;
                }
                if (page.getLink(Bundle.LINK_NEXT) == null) {
                    break;
                }
                Bundle current = page;
                page = call(() -> client.loadPage().next(current).execute());
            }
        }
    }

    /** Commits a page's resources; the newest lastUpdated among them once every one is confirmed. */
    private Instant commitPage(AdapterProfile a, String type, Bundle page, int[] read) throws InterruptedException {
        List<Future<Intake.Outcome>> pending = new ArrayList<>();
        Instant newest = null;
        for (Bundle.BundleEntryComponent e : page.getEntry()) {
            if (e.hasSearch() && e.getSearch().getMode() != Bundle.SearchEntryMode.MATCH) {
                continue; // _include'd resources and OperationOutcome warnings
            }
            Resource r = e.getResource();
            if (r == null || !type.equals(r.fhirType())) {
                continue;
            }
            if (r.getMeta().hasLastUpdated()) {
                Instant at = r.getMeta().getLastUpdated().toInstant();
                newest = newest == null || at.isAfter(newest) ? at : newest;
            }
            pending.add(committers.submit(() -> {
                Instant now = clock.instant();
                SourceMessage m = source.read(a.id, r, now);
                return intake.commit(FhirSource.KIND, m, FhirSource.raw(a.id, r), now).outcome();
            }));
        }
        boolean unconfirmed = false;
        for (Future<Intake.Outcome> f : pending) {
            try {
                Intake.Outcome o = f.get();
                if (o.resend()) {
                    unconfirmed = true;
                } else {
                    read[0]++;
                    counter("caravan.fhir.poll.resources", a.id, "outcome", o.name().toLowerCase()).increment();
                }
            } catch (ExecutionException e) {
                unconfirmed = true;
            }
        }
        if (unconfirmed) {
            // the watermark stays: the next poll reads this page again, and what did commit is a duplicate then
            throw new Stopped("the store did not confirm a " + type + "; the page is read again", null);
        }
        return newest;
    }

    private interface Call<T> {
        T run();
    }

    private <T> T call(Call<T> c) {
        FhirClients.takeThrottle();
        try {
            return c.run();
        } catch (FhirClientConnectionException e) {
            // also what an auth failure inside the interceptor becomes
            if (e.getCause() instanceof FhirAuth.AuthException a) {
                throw new Stopped(a.getMessage(), null);
            }
            throw new Stopped("the server cannot be reached", null);
        } catch (BaseServerResponseException e) {
            FhirClients.Throttle t = FhirClients.takeThrottle();
            int status = e.getStatusCode();
            throw new Stopped("the server answered HTTP " + status, t == null ? null : t.retryAfter());
        } catch (FhirAuth.AuthException e) {
            throw new Stopped(e.getMessage(), null);
        } catch (ca.uhn.fhir.parser.DataFormatException e) {
            throw new Stopped("the server's answer is not a FHIR Bundle", null);
        }
    }

    private Counter counter(String name, String adapter, String... tags) {
        String key = name + "|" + adapter + "|" + String.join("|", tags);
        return counters.computeIfAbsent(key, k -> {
            Counter.Builder b = Counter.builder(name).tag("adapter", adapter);
            for (int i = 0; i + 1 < tags.length; i += 2) {
                b.tag(tags[i], tags[i + 1]);
            }
            return b.register(meters);
        });
    }
}
