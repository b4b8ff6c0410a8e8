package io.caravan.ingest.fhir.bulk;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.ingest.fhir.FhirHttp;
import io.caravan.ingest.fhir.FhirResourceIntake;
import io.caravan.ingest.fhir.FhirServerAuth;
import io.caravan.ingest.fhir.FhirSource;
import io.caravan.ingest.fhir.bulk.BulkExportStore.Export;
import io.caravan.ingest.fhir.bulk.BulkExportStore.ExportFile;
import io.caravan.mapping.AdapterProfile;
import io.caravan.mapping.FhirBulkSettings;
import io.caravan.mapping.MappingCatalog;
import io.caravan.system.Worker;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.annotation.PreDestroy;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.convert.DurationStyle;
import org.springframework.stereotype.Component;

/**
 * The Bulk Data client (FHIR Bulk Data Access IG, async pattern): kick-off {@code $export} with {@code _type} and
 * {@code _since}, status polls honouring {@code Retry-After}, the manifest, then each NDJSON file streamed line by line
 * into the intake step in batches, the file's checkpoint (lines committed) moved after each batch. The next export's
 * {@code _since} is the manifest's transactionTime, stored only once every file is committed.
 *
 * <p>One export at a time per adapter (the adapter's row is the lock); it runs on the node holding its lease, which
 * renews it while alive: a hub killed mid-download leaves the export to the next node, or itself restarted, which
 * resumes each file after its checkpoint (lines of the last uncommitted batch come again and are recognised by their
 * version). A server that fails an export (all-or-nothing servers do) gets a new kick-off, whole, after
 * {@code retryWait}. The schedule ({@code fhir.bulk.every}) and the claiming of exports run in the clustered Quartz
 * tick ({@code routes/fhir.yaml}), so one node decides.
 */
@Component
public class FhirBulkExports {

    private static final Logger log = LoggerFactory.getLogger(FhirBulkExports.class);
    static final ObjectMapper JSON = new ObjectMapper();
    static final String FHIR_JSON = "application/fhir+json";
    static final String NDJSON = "application/fhir+ndjson";

    /** The export's server failed it (or gave no usable answer): the attempt ends, the export starts again whole. */
    static final class AttemptFailed extends Exception {
        AttemptFailed(String summary) {
            super(summary, null, false, false);
        }
    }

    /** This node stopped, or lost the export's lease: stop without touching its state. */
    static final class Stopped extends Exception {
        Stopped() {
            super(null, null, false, false);
        }
    }

    private final BulkExportStore store;
    private final FhirResourceIntake intake;
    private final FhirSource source;
    private final MappingCatalog catalog;
    private final FhirServerAuth auth;
    private final MeterRegistry meters;
    private final Clock clock;
    private final FhirHttp http;
    private final Duration lease;
    private final int batchSize;
    private final String owner = "node-" + UUID.randomUUID();
    private final ExecutorService commits;
    private final ScheduledExecutorService renewer;
    private final Map<UUID, Worker> running = new ConcurrentHashMap<>();
    private final Set<UUID> lost = ConcurrentHashMap.newKeySet();
    private final Object sleep = new Object();
    private volatile boolean stopping;
    private final Path importDir;
    static final String FOLDER = "folder";

    FhirBulkExports(BulkExportStore store, FhirResourceIntake intake, FhirSource source, MappingCatalog catalog,
            FhirServerAuth auth, MeterRegistry meters, Clock clock,
            @Value("${caravan.fhir.bulk.lease:30s}") Duration lease,
            @Value("${caravan.fhir.bulk.batch-size:500}") int batchSize,
            @Value("${caravan.fhir.bulk.intake-threads:8}") int intakeThreads,
            @Value("${caravan.fhir.bulk.http-timeout:60s}") Duration httpTimeout,
            @Value("${caravan.fhir.import-dir:${caravan.data-dir:./data}/inbox/fhir}") Path importDir) {
        this.importDir = importDir.toAbsolutePath().normalize();
        this.store = store;
        this.intake = intake;
        this.source = source;
        this.catalog = catalog;
        this.auth = auth;
        this.meters = meters;
        this.clock = clock;
        this.lease = lease;
        this.batchSize = batchSize;
        this.http = new FhirHttp(httpTimeout);
        this.commits = Executors.newFixedThreadPool(intakeThreads, r -> {
            Thread t = new Thread(r, "fhir-bulk-intake");
            t.setDaemon(true);
            return t;
        });
        this.renewer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "fhir-bulk-lease");
            t.setDaemon(true);
            return t;
        });
        long every = Math.max(100, lease.toMillis() / 3);
        renewer.scheduleWithFixedDelay(this::renew, every, every, TimeUnit.MILLISECONDS);
    }

    /** The adapters that export: kind fhir with a base URL and a {@code fhir.bulk} section. */
    List<AdapterProfile> exporting() {
        return catalog.adapters().stream().filter(a -> "fhir".equals(a.kind) && a.fhir != null
                && a.fhir.bulk != null && a.fhir.baseUrl != null).toList();
    }

    AdapterProfile adapter(String id) {
        return exporting().stream().filter(a -> a.id.equals(id)).findFirst().orElse(null);
    }

    /**
     * Asks for an export of {@code adapter} (an operator, or the schedule). Empty when one is already active.
     *
     * @param since null: the last complete export's transactionTime (none before the first: everything)
     * @param full  everything, whatever the last export was
     */
    public Optional<Export> request(String adapter, String trigger, Instant since, boolean full) {
        AdapterProfile a = adapter(adapter);
        if (a == null) {
            throw new IllegalArgumentException("no FHIR adapter with a baseUrl and a fhir.bulk section has that id");
        }
        Optional<Export> e = store.request(adapter, trigger, since, full, types(a), clock.instant());
        e.ifPresent(x -> log.info("FHIR bulk export {} of adapter {} requested ({}), since {}", x.id(), adapter,
                trigger, x.since() == null ? "the beginning" : x.since()));
        return e;
    }

    /**
     * Asks for an import of the NDJSON files ({@code *.ndjson}, one resource per line) in {@code folder} under
     * {@code caravan.fhir.import-dir}, read as resources from {@code adapter} - the same checkpointed import, without a
     * server. Empty when the adapter runs an export or import already.
     */
    public Optional<Export> requestFolder(String adapter, String folder) {
        AdapterProfile a = source.adapter(adapter);
        if (a == null) {
            throw new IllegalArgumentException("no FHIR adapter has that id");
        }
        Path dir = importDir.resolve(folder).normalize();
        if (Path.of(folder).isAbsolute() || !dir.startsWith(importDir) || dir.equals(importDir)) {
            throw new IllegalArgumentException("'folder' must name a folder inside caravan.fhir.import-dir");
        }
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("'folder' does not name a folder inside caravan.fhir.import-dir");
        }
        Optional<Export> e = store.request(adapter, FOLDER, null, true, a.fhir == null ? List.of()
                : a.fhir.resourceTypes, clock.instant(), FOLDER + ":" + dir.toUri());
        e.ifPresent(x -> log.info("FHIR import {} of adapter {} requested from a folder", x.id(), adapter));
        return e;
    }

    private static boolean folder(Export e) {
        return FOLDER.equals(e.trigger());
    }

    /** The folder's files as the manifest: the adapter's types first, in their order, then by name. */
    private void folderManifest(Export e) throws IOException {
        Path dir = Path.of(URI.create(e.statusUrl().substring(FOLDER.length() + 1)));
        List<Path> found;
        try (var s = Files.list(dir)) {
            found = new ArrayList<>(s.filter(p -> p.getFileName().toString().endsWith(".ndjson"))
                    .filter(Files::isRegularFile).toList());
        }
        List<String> order = e.types();
        found.sort(Comparator.<Path>comparingInt(p -> {
            int i = order.indexOf(typeOf(p));
            return i < 0 ? order.size() : i;
        }).thenComparing(p -> p.getFileName().toString()));
        List<ExportFile> files = new ArrayList<>();
        for (Path p : found) {
            files.add(new ExportFile(files.size(), "output", typeOf(p), p.toUri().toString(), 0, 0, 0, 0, 0, null,
                    false));
        }
        store.manifest(e.id(), clock.instant(), files);
        log.info("FHIR import {} of adapter {}: {} file(s) in the folder", e.id(), e.adapter(), files.size());
    }

    /** {@code Patient.ndjson}, {@code Patient.000.ndjson}, {@code Patient-2.ndjson}: Patient. */
    private static String typeOf(Path p) {
        String name = p.getFileName().toString();
        String t = name.split("[.\\-_]", 2)[0];
        return t.matches("[A-Z][A-Za-z]{1,63}") ? t : "unknown";
    }

    static List<String> types(AdapterProfile a) {
        return a.fhir.bulk.types == null || a.fhir.bulk.types.isEmpty() ? a.fhir.resourceTypes : a.fhir.bulk.types;
    }

    /** Asks the running export to stop and the server to drop it (DELETE on its status URL). */
    public boolean cancel(UUID id) {
        Export e = store.find(id).orElse(null);
        if (e == null || !store.end(id, BulkExportStore.CANCELLED, "cancelled by request", clock.instant())) {
            return false;
        }
        deleteAtServer(e);
        log.info("FHIR bulk export {} of adapter {} cancelled", id, e.adapter());
        return true;
    }

    /**
     * The clustered Quartz tick: starts the scheduled exports that are due, then runs here every export no live node
     * holds (new ones, and those a dead node left).
     */
    public void tick() {
        if (stopping) {
            return;
        }
        Instant now = clock.instant();
        for (AdapterProfile a : exporting()) {
            if (a.fhir.bulk.every == null || a.fhir.bulk.every.isBlank()) {
                continue;
            }
            Duration every = duration(a.fhir.bulk.every);
            var state = store.adapter(a.id).orElse(null);
            if (state == null || state.activeExport() == null && (state.lastFinishedAt() == null
                    || !state.lastFinishedAt().plus(every).isAfter(now))) {
                request(a.id, "schedule", null, false);
            }
        }
        for (UUID id : store.unclaimed(now)) {
            if (!running.containsKey(id) && store.claim(id, owner, now.plus(lease), now)) {
                lost.remove(id);
                running.put(id, Worker.start("fhir-bulk-" + id.toString().substring(0, 8), true, () -> {
                    try {
                        run(id);
                    } finally {
                        running.remove(id);
                    }
                }));
            }
        }
    }

    private void renew() {
        Instant until = clock.instant().plus(lease);
        for (UUID id : running.keySet()) {
            try {
                if (!store.renew(id, owner, until)) {
                    lost.add(id);
                }
            } catch (RuntimeException e) {
                log.warn("FHIR bulk export {}: lease not renewed ({})", id, e.getClass().getSimpleName());
            }
        }
    }

    private void check(UUID id) throws Stopped {
        if (stopping || lost.contains(id)) {
            throw new Stopped();
        }
    }

    private void run(UUID id) {
        try {
            while (true) {
                check(id);
                Export e = store.find(id).orElse(null);
                if (e == null || !e.active()) {
                    return;
                }
                AdapterProfile a = folder(e) ? source.adapter(e.adapter()) : adapter(e.adapter());
                if (a == null) {
                    store.end(id, BulkExportStore.FAILED, "the adapter no longer exports", clock.instant());
                    return;
                }
                FhirBulkSettings s = a.fhir != null && a.fhir.bulk != null ? a.fhir.bulk : new FhirBulkSettings();
                Instant now = clock.instant();
                if (e.nextAt() != null && e.nextAt().isAfter(now)) {
                    pause(id, Duration.between(now, e.nextAt()));
                    continue;
                }
                try {
                    if (e.attemptStarted() != null && e.statusUrl() != null
                            && e.attemptStarted().plus(duration(s.timeout)).isBefore(now)) {
                        throw new AttemptFailed("the export took longer than " + s.timeout);
                    }
                    if (folder(e) && e.transactionTime() == null) {
                        folderManifest(e);
                    } else if (e.statusUrl() == null) {
                        kickOff(e, a);
                    } else if (e.transactionTime() == null) {
                        poll(e, a);
                    } else {
                        download(e, a);
                        check(id);
                        store.complete(id, clock.instant(), !folder(e));
                        if (folder(e)) {
                            log.info("FHIR import {} of adapter {} from a folder complete", id, a.id);
                            return;
                        }
                        log.info("FHIR bulk export {} of adapter {} complete; the next starts from {}", id, a.id,
                                e.transactionTime());
                        deleteAtServer(e);
                        return;
                    }
                } catch (AttemptFailed f) {
                    attemptFailed(e, s, f.getMessage());
                } catch (IOException io) {
                    // the server could not be reached: try the same step again, the attempt goes on
                    log.warn("FHIR bulk export {} of adapter {}: {} unreachable ({}); trying again", id, a.id,
                            e.statusUrl() == null ? "kick-off" : "server", io.getClass().getSimpleName()
                            + (io.getCause() == null ? "" : "/" + io.getCause().getClass().getSimpleName()));
                    store.phase(id, e.phase(), e.progress(), clock.instant().plus(duration(s.pollInterval)));
                }
            }
        } catch (Stopped | InterruptedException stopped) {
            // the lease runs out (or is given back at shutdown) and the next holder resumes from the checkpoints
        } catch (RuntimeException unexpected) {
            log.error("FHIR bulk export {} stopped on an unexpected {}; it resumes when its lease runs out", id,
                    unexpected.getClass().getName());
        }
    }

    private void attemptFailed(Export e, FhirBulkSettings s, String why) {
        String error = FhirHttp.printable(why, 400);
        if (e.attempt() >= s.maxAttempts || folder(e)) {
            store.end(e.id(), BulkExportStore.FAILED, error, clock.instant());
            log.warn("FHIR bulk export {} of adapter {} failed after {} attempts: {}", e.id(), e.adapter(),
                    e.attempt(), error);
        } else {
            Duration wait = duration(s.retryWait);
            store.retry(e.id(), e.attempt() + 1, error, clock.instant().plus(wait));
            log.warn("FHIR bulk export {} of adapter {}: attempt {} failed ({}); starting again whole in {}", e.id(),
                    e.adapter(), e.attempt(), error, wait);
        }
        deleteAtServer(e);
    }

    private void kickOff(Export e, AdapterProfile a) throws IOException, InterruptedException, AttemptFailed {
        String url = kickOffUrl(a, e);
        FhirHttp.Answer r = http(a).send(http(a).request(url, auth.authorization(a)).header("Accept", FHIR_JSON)
                .header("Prefer", "respond-async").GET().build());
        Instant now = clock.instant();
        if (r.status() == 202 && r.header("Content-Location") != null) {
            String status = URI.create(url).resolve(r.header("Content-Location")).toString();
            Duration wait = Optional.ofNullable(FhirHttp.retryAfter(r.header("Retry-After"), now))
                    .orElse(duration(a.fhir.bulk.pollInterval));
            store.kickedOff(e.id(), status, now.plus(wait));
            log.info("FHIR bulk export {} of adapter {}: kicked off (attempt {})", e.id(), a.id, e.attempt());
        } else if (r.status() == 429 || r.status() == 503 && r.header("Retry-After") != null) {
            // busy (Oracle Health takes one export at a time): ask again when it says
            Duration wait = Optional.ofNullable(FhirHttp.retryAfter(r.header("Retry-After"), now))
                    .orElse(duration(a.fhir.bulk.pollInterval));
            store.phase(e.id(), "kickoff", "server busy: " + r.status(), now.plus(wait));
        } else {
            throw new AttemptFailed("kick-off answered " + FhirHttp.summary(r));
        }
    }

    static String kickOffUrl(AdapterProfile a, Export e) {
        String base = a.fhir.baseUrl.endsWith("/") ? a.fhir.baseUrl.substring(0, a.fhir.baseUrl.length() - 1)
                : a.fhir.baseUrl;
        FhirBulkSettings s = a.fhir.bulk;
        String path = switch (s.level == null ? "patient" : s.level) {
            case "system" -> "/$export";
            case "group" -> "/Group/" + URLEncoder.encode(s.group, StandardCharsets.UTF_8) + "/$export";
            default -> "/Patient/$export";
        };
        StringBuilder url = new StringBuilder(base).append(path).append("?_type=")
                .append(URLEncoder.encode(String.join(",", e.types()), StandardCharsets.UTF_8));
        if (e.since() != null) {
            url.append("&_since=").append(URLEncoder.encode(e.since().toString(), StandardCharsets.UTF_8));
        }
        return url.toString();
    }

    private void poll(Export e, AdapterProfile a) throws IOException, InterruptedException, AttemptFailed {
        FhirHttp.Answer r = http(a).get(e.statusUrl(), auth.authorization(a), "application/json");
        Instant now = clock.instant();
        Duration wait = Optional.ofNullable(FhirHttp.retryAfter(r.header("Retry-After"), now))
                .orElse(duration(a.fhir.bulk.pollInterval));
        if (r.status() == 202) {
            store.phase(e.id(), "waiting", FhirHttp.printable(r.header("X-Progress"), 100), now.plus(wait));
        } else if (r.status() == 429) {
            store.phase(e.id(), "waiting", e.progress(), now.plus(wait));
        } else if (r.status() == 200) {
            manifest(e, r.body());
        } else {
            throw new AttemptFailed("status answered " + FhirHttp.summary(r));
        }
    }

    private void manifest(Export e, String body) throws AttemptFailed {
        JsonNode m;
        Instant transactionTime;
        try {
            m = JSON.readTree(body);
            transactionTime = OffsetDateTime.parse(m.path("transactionTime").asText()).toInstant();
        } catch (IOException | RuntimeException bad) {
            throw new AttemptFailed("the manifest is not readable (no transactionTime)");
        }
        List<String> order = e.types();
        List<JsonNode> outputs = new ArrayList<>();
        m.path("output").forEach(outputs::add);
        // Patients first (the adapter's type order): an Appointment then finds its patient's contact
        outputs.sort(Comparator.comparingInt(o -> {
            int i = order.indexOf(o.path("type").asText());
            return i < 0 ? order.size() : i;
        }));
        List<ExportFile> files = new ArrayList<>();
        URI status = URI.create(e.statusUrl());
        for (JsonNode o : outputs) {
            files.add(new ExportFile(files.size(), "output", o.path("type").asText("unknown"),
                    status.resolve(o.path("url").asText()).toString(), 0, 0, 0, 0, 0, null, false));
        }
        for (JsonNode o : m.path("error")) {
            files.add(new ExportFile(files.size(), "error", o.path("type").asText("OperationOutcome"),
                    status.resolve(o.path("url").asText()).toString(), 0, 0, 0, 0, 0, null, false));
        }
        store.manifest(e.id(), transactionTime, files);
        requiresToken.put(e.id(), m.path("requiresAccessToken").asBoolean(false));
        log.info("FHIR bulk export {} of adapter {}: manifest with {} file(s), {} error file(s)", e.id(), e.adapter(),
                outputs.size(), files.size() - outputs.size());
    }

    /** Whether a manifest asked for the token on downloads; unknown after a restart, so then the token is sent. */
    private final Map<UUID, Boolean> requiresToken = new ConcurrentHashMap<>();

    private void download(Export e, AdapterProfile a) throws IOException, InterruptedException, Stopped,
            AttemptFailed {
        String token = requiresToken.getOrDefault(e.id(), true) ? auth.authorization(a) : null;
        for (ExportFile f : store.files(e.id())) {
            if (f.done()) {
                continue;
            }
            check(e.id());
            if (folder(e)) {
                try (InputStream in = Files.newInputStream(Path.of(URI.create(f.url())))) {
                    output(e, f, new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16));
                }
                continue;
            }
            HttpResponse<InputStream> r = http(a).stream(f.url(), token, f.error() ? NDJSON + ", application/json"
                    : NDJSON);
            try (InputStream in = r.body()) {
                if (r.statusCode() == 404 || r.statusCode() == 410) {
                    // the server dropped its files (they expire): nothing to resume from but a new export
                    throw new AttemptFailed("file " + f.seq() + " answered HTTP " + r.statusCode());
                }
                if (r.statusCode() != 200) {
                    throw new IOException("file " + f.seq() + " answered HTTP " + r.statusCode());
                }
                BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16);
                if (f.error()) {
                    errors(e, f, lines);
                } else {
                    output(e, f, lines);
                }
            }
        }
    }

    private void errors(Export e, ExportFile f, BufferedReader lines) throws IOException {
        Map<String, Integer> counts = new TreeMap<>();
        String line;
        long n = 0;
        while ((line = lines.readLine()) != null) {
            if (!line.isBlank()) {
                n++;
                FhirHttp.countIssues(line, counts);
            }
        }
        String issues = FhirHttp.format(counts);
        store.checkpoint(e.id(), f.seq(), n, 0, 0, counts.values().stream().mapToInt(Integer::intValue).sum(), 0);
        store.fileDone(e.id(), f.seq(), issues.isEmpty() ? null : FhirHttp.printable(issues, 500));
        // reported, not fatal: what the server could not export is picked up when it changes again
        log.warn("FHIR bulk export {} of adapter {}: the server reported errors ({})", e.id(), e.adapter(),
                issues.isEmpty() ? n + " OperationOutcome(s)" : issues);
    }

    private void output(Export e, ExportFile f, BufferedReader lines) throws IOException, InterruptedException,
            Stopped {
        long done = 0;
        String line = null;
        while (done < f.linesDone() && (line = lines.readLine()) != null) {
            done++;
        }
        if (done < f.linesDone()) {
            store.fileDone(e.id(), f.seq(), null);
            return;
        }
        long committed = f.committed();
        long duplicates = f.duplicates();
        long failed = f.failed();
        List<String> batch = new ArrayList<>(batchSize);
        boolean end = false;
        while (!end) {
            check(e.id());
            batch.clear();
            long read = 0;
            while (batch.size() < batchSize) {
                line = lines.readLine();
                if (line == null) {
                    end = true;
                    break;
                }
                read++;
                if (!line.isBlank()) {
                    batch.add(line);
                }
            }
            long[] counts = commit(e.adapter(), batch);
            done += read;
            store.checkpoint(e.id(), f.seq(), done, counts[0], counts[1], counts[2], counts[3]);
            committed += counts[0];
            duplicates += counts[1];
            failed += counts[2];
        }
        store.fileDone(e.id(), f.seq(), null);
        log.info("FHIR bulk export {} of adapter {}: {} file {} read, {} lines ({} applied, {} already applied,"
                + " {} failed)", e.id(), e.adapter(), f.type(), f.seq(), done, committed, duplicates, failed);
    }

    /** Commits a batch through the intake step in parallel; counts applied, duplicate, failed, passed over. */
    private long[] commit(String adapter, List<String> batch) throws InterruptedException, IOException {
        List<Future<FhirResourceIntake.Result>> futures = new ArrayList<>(batch.size());
        for (String line : batch) {
            futures.add(commits.submit(() -> intake.commit(adapter, line)));
        }
        long[] counts = new long[4];
        boolean resend = false;
        for (Future<FhirResourceIntake.Result> f : futures) {
            FhirResourceIntake.Result r;
            try {
                r = f.get();
            } catch (ExecutionException ex) {
                r = FhirResourceIntake.Result.RESEND;
            }
            switch (r) {
                case APPLIED -> counts[0]++;
                case DUPLICATE -> counts[1]++;
                case FAILED -> counts[2]++;
                case PASSED_OVER -> counts[3]++;
                case RESEND -> resend = true;
            }
            meters.counter("caravan.fhir.bulk.resources", "adapter", adapter, "outcome",
                    r.name().toLowerCase()).increment();
        }
        if (resend) {
            // the store did not confirm every line: the checkpoint stays before the batch, which comes again
            throw new IOException("the store did not confirm a batch");
        }
        return counts;
    }

    private void deleteAtServer(Export e) {
        if (e.statusUrl() == null || folder(e)) {
            return;
        }
        AdapterProfile a = adapter(e.adapter());
        try {
            http(a).send(http(a).request(e.statusUrl(), a == null ? null : auth.authorization(a)).DELETE().build());
        } catch (IOException | InterruptedException | RuntimeException ignored) {
            // the server's files expire anyway; a DELETE only frees them sooner
        }
    }

    private void pause(UUID id, Duration d) throws Stopped, InterruptedException {
        long ms = Math.min(d.toMillis(), Math.max(50, lease.toMillis() / 3));
        synchronized (sleep) {
            if (!stopping) {
                sleep.wait(Math.max(1, ms));
            }
        }
        check(id);
    }

    /** Requests to {@code a}'s server, over its own TLS trust when the adapter's auth provides one. */
    private FhirHttp http(AdapterProfile a) {
        return a == null ? http : http.over(auth.httpClient(a));
    }

    static Duration duration(String text) {
        return DurationStyle.detectAndParse(text);
    }

    @PreDestroy
    void stop() {
        stopping = true;
        synchronized (sleep) {
            sleep.notifyAll();
        }
        // never interrupted: a thread inside H2 would close its file
        running.values().forEach(w -> w.stop(Duration.ofSeconds(15), false));
        commits.shutdown();
        renewer.shutdown();
        try {
            store.release(owner);
        } catch (RuntimeException e) {
            log.warn("FHIR bulk exports: leases not given back ({}); they run out", e.getClass().getSimpleName());
        }
    }
}
