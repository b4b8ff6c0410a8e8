package io.caravan.ingest.fhir.bulk;

import io.caravan.ingest.fhir.bulk.BulkExportStore.Export;
import io.caravan.ingest.fhir.bulk.BulkExportStore.ExportFile;
import io.caravan.system.Problems.Conflict;
import io.caravan.system.Problems.NotFound;
import java.net.URI;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * Bulk Data imports over the API: {@code POST /api/fhir/imports} ({@code {"adapter": "...", "since": "..."}}, or
 * {@code {"adapter": "...", "folder": "..."}} for NDJSON files under {@code caravan.fhir.import-dir}) or
 * {@code POST /api/fhir/{adapter}/export} start an export now (202, or 409 naming the export already running);
 * {@code GET /api/fhir/imports/{id}} and {@code GET /api/fhir/{adapter}/export} say where it is - state, attempt,
 * the server's progress, resources read per type and outcome, the server's reported errors by issue code. Ids, counts
 * and times: no PHI.
 */
@RestController
class FhirImportController {

    /** The adapter, and optionally {@code since} (ISO 8601), {@code full} (no _since) or a {@code folder}. */
    record ImportRequest(String adapter, String since, Boolean full, String folder) {
    }

    private final FhirBulkExports exports;
    private final BulkExportStore store;

    FhirImportController(FhirBulkExports exports, BulkExportStore store) {
        this.exports = exports;
        this.store = store;
    }

    @PostMapping("/api/fhir/imports")
    ResponseEntity<Map<String, Object>> start(@RequestBody ImportRequest request) {
        if (request == null || request.adapter() == null || request.adapter().isBlank()) {
            throw new IllegalArgumentException("'adapter' is required: the id of a FHIR adapter with fhir.bulk");
        }
        return start(request.adapter(), request);
    }

    @PostMapping("/api/fhir/{adapter}/export")
    ResponseEntity<Map<String, Object>> export(@PathVariable String adapter,
            @RequestBody(required = false) ImportRequest request) {
        return start(adapter, request);
    }

    private ResponseEntity<Map<String, Object>> start(String adapter, ImportRequest request) {
        Instant since = null;
        if (request != null && request.since() != null && !request.since().isBlank()) {
            try {
                since = OffsetDateTime.parse(request.since()).toInstant();
            } catch (DateTimeParseException e) {
                throw new IllegalArgumentException("'since' must be an ISO 8601 date-time with an offset");
            }
        }
        boolean full = request != null && Boolean.TRUE.equals(request.full());
        boolean folder = request != null && request.folder() != null && !request.folder().isBlank();
        Export e = (folder ? exports.requestFolder(adapter, request.folder())
                : exports.request(adapter, "manual", since, full)).orElseThrow(() -> new Conflict(
                "an export of this adapter is running already: " + store.adapter(adapter)
                        .map(s -> "/api/fhir/imports/" + s.activeExport()).orElse("")));
        return ResponseEntity.accepted().location(URI.create("/api/fhir/imports/" + e.id())).body(view(e));
    }

    @GetMapping("/api/fhir/imports/{id}")
    Map<String, Object> get(@PathVariable UUID id) {
        return view(store.find(id).orElseThrow(() -> new NotFound("no import of that id")));
    }

    @GetMapping("/api/fhir/imports")
    List<Map<String, Object>> list(@RequestParam(required = false) String adapter) {
        return (adapter == null ? store.recent(50) : store.recent(adapter, 50)).stream().map(this::view).toList();
    }

    @DeleteMapping("/api/fhir/imports/{id}")
    ResponseEntity<Void> cancel(@PathVariable UUID id) {
        store.find(id).orElseThrow(() -> new NotFound("no import of that id"));
        if (!exports.cancel(id)) {
            throw new Conflict("the import has ended already");
        }
        return ResponseEntity.accepted().build();
    }

    /** The adapter's latest export and the {@code _since} the next one starts from. */
    @GetMapping("/api/fhir/{adapter}/export")
    Map<String, Object> status(@PathVariable String adapter) {
        if (exports.adapter(adapter) == null) {
            throw new NotFound("no FHIR adapter with a baseUrl and a fhir.bulk section has that id");
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("adapter", adapter);
        var state = store.adapter(adapter).orElse(null);
        m.put("nextSince", state == null ? null : state.since());
        m.put("latest", store.recent(adapter, 1).stream().findFirst().map(this::view).orElse(null));
        return m;
    }

    Map<String, Object> view(Export e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", e.id());
        m.put("adapter", e.adapter());
        m.put("trigger", e.trigger());
        m.put("state", e.state());
        m.put("phase", e.phase());
        m.put("since", e.since());
        m.put("types", e.types());
        m.put("attempt", e.attempt());
        m.put("progress", e.progress());
        m.put("error", e.error());
        m.put("transactionTime", e.transactionTime());
        m.put("requestedAt", e.requestedAt());
        m.put("startedAt", e.startedAt());
        m.put("finishedAt", e.finishedAt());
        Map<String, Map<String, Long>> resources = new LinkedHashMap<>();
        Map<String, Object> errors = new LinkedHashMap<>();
        long errorCount = 0;
        List<ExportFile> files = store.files(e.id());
        for (ExportFile f : files) {
            if (f.error()) {
                errorCount += f.failed();
                if (f.issues() != null) {
                    for (String kv : f.issues().split(",")) {
                        String[] p = kv.split(":", 2);
                        if (p.length == 2) {
                            errors.merge(p[0], Long.parseLong(p[1]), (a, b) -> (Long) a + (Long) b);
                        }
                    }
                }
                continue;
            }
            Map<String, Long> t = resources.computeIfAbsent(f.type(), k -> new LinkedHashMap<>());
            t.merge("read", f.linesDone(), Long::sum);
            t.merge("committed", f.committed(), Long::sum);
            t.merge("duplicates", f.duplicates(), Long::sum);
            t.merge("failed", f.failed(), Long::sum);
            t.merge("passedOver", f.passedOver(), Long::sum);
        }
        m.put("files", files.size());
        m.put("filesDone", files.stream().filter(ExportFile::done).count());
        m.put("resources", resources);
        m.put("serverErrors", Map.of("count", errorCount, "byCode", errors));
        return m;
    }
}
