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
    /** Threads a page's mapping is shared out among: the cores' worth, the store's wait is shared anyway. */
    private static final int SHARES = Math.max(2, Runtime.getRuntime().availableProcessors());

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
    /** The store's mark after the last page committed (one poll runs at a time). */
    private volatile long confirmed;
    /** A page's shares commit side by side, and the next page is fetched beside them. */
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
                // the next page is fetched while this one commits: the server's time and the store's overlap
                Bundle current = page;
                Future<Bundle> next = page.getLink(Bundle.LINK_NEXT) == null ? null
                        : committers.submit(() -> call(() -> client.loadPage().next(current).execute()));
                Instant newest;
                try {
                    newest = commitPage(a, type, page, read);
                } catch (RuntimeException | InterruptedException e) {
                    if (next != null) {
                        next.cancel(false);
                    }
                    throw e;
                }
                if (newest != null && (watermark == null || newest.isAfter(watermark))) {
                    store.advance(a.id, type, newest, clock.instant());
                    watermark = newest;
                }
                if (next == null) {
                    break;
                }
                page = fetched(next);
            }
        }
    }

    /** The next page fetched beside the commit, with the fetch's own failure (a {@link Stopped}) as it was. */
    private static Bundle fetched(Future<Bundle> next) throws InterruptedException {
        try {
            return next.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new Stopped("the poll failed (" + e.getCause().getClass().getSimpleName() + ")", null);
        }
    }

    /**
     * Commits a page's resources; the newest lastUpdated among them once every one is confirmed. The page is shared
     * out among a few threads that map their share and hand it to the store as one run, so the page's resources
     * share the store's flushes.
     */
    private Instant commitPage(AdapterProfile a, String type, Bundle page, int[] read) throws InterruptedException {
        List<Resource> resources = new ArrayList<>();
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
            resources.add(r);
        }
        long previous = confirmed;
        int shares = Math.min(SHARES, resources.size());
        List<Future<List<Intake.Committed>>> pending = new ArrayList<>(shares);
        for (int s = 0; s < shares; s++) {
            List<Resource> share = resources.subList(s * resources.size() / shares,
                    (s + 1) * resources.size() / shares);
            pending.add(committers.submit(() -> {
                List<Intake.Received> run = new ArrayList<>(share.size());
                for (Resource r : share) {
                    Instant now = clock.instant();
                    run.add(new Intake.Received(source.read(a.id, r, now), FhirSource.raw(a.id, r), now));
                }
                return intake.commitAll(FhirSource.KIND, run);
            }));
        }
        boolean unconfirmed = false;
        for (Future<List<Intake.Committed>> f : pending) {
            try {
                for (Intake.Committed c : f.get()) {
                    Intake.Outcome o = c.outcome();
                    if (o.resend()) {
                        unconfirmed = true;
                    } else {
                        read[0]++;
                        counter("caravan.fhir.poll.resources", a.id, "outcome", o.name().toLowerCase()).increment();
                    }
                }
            } catch (ExecutionException e) {
                unconfirmed = true;
            }
        }
        if (unconfirmed) {
            // the watermark stays: the next poll reads this page again, and what did commit is a duplicate then
            throw new Stopped("the store did not confirm a " + type + "; the page is read again", null);
        }
        // the page before this one in the database: a catch-up runs at most two pages ahead of its readers
        intake.awaitApplied(previous);
        confirmed = intake.confirmedMark();
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
