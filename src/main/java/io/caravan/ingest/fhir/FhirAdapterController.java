package io.caravan.ingest.fhir;

import io.caravan.mapping.AdapterProfile;
import io.caravan.mapping.MappingCatalog;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code GET /api/fhir/adapters}: each FHIR adapter, how it authenticates, and where its polling stands - the last
 * poll, the watermark per resource type, the last error (the hub's own words: an HTTP status, a kind of failure).
 * Configuration, times and counts: no PHI.
 */
@RestController
class FhirAdapterController {

    private final MappingCatalog catalog;
    private final FhirPoller poller;
    private final FhirPollStore store;

    FhirAdapterController(MappingCatalog catalog, FhirPoller poller, FhirPollStore store) {
        this.catalog = catalog;
        this.poller = poller;
        this.store = store;
    }

    @GetMapping("/api/fhir/adapters")
    List<Map<String, Object>> adapters() {
        return catalog.adapters().stream().filter(a -> "fhir".equals(a.kind)).map(this::status).toList();
    }

    private Map<String, Object> status(AdapterProfile a) {
        Map<String, Object> m = new LinkedHashMap<>();
        AdapterProfile.Fhir f = a.fhir == null ? new AdapterProfile.Fhir() : a.fhir;
        m.put("id", a.id);
        m.put("baseUrl", f.baseUrl);
        m.put("auth", f.auth == null ? "none" : f.auth.type);
        m.put("resourceTypes", f.resourceTypes);
        m.put("baa", a.baa == null ? null : a.baa.status);
        if (f.poll == null || f.baseUrl == null) {
            m.put("polling", false);
            return m;
        }
        m.put("polling", true);
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("interval", f.poll.interval().toString());
        p.put("overlap", f.poll.overlap().toString());
        p.put("types", poller.types(a));
        FhirPollStore.State s = store.state(a.id);
        if (s != null) {
            p.put("lastPollAt", s.lastPollAt());
            p.put("lastSuccessAt", s.lastSuccessAt());
            p.put("nextPollAt", s.nextPollAt());
            p.put("consecutiveFailures", s.failures());
            p.put("lastError", s.lastError());
            p.put("lastErrorAt", s.lastErrorAt());
            p.put("resourcesRead", s.resourcesRead());
        }
        p.put("watermarks", store.watermarks(a.id));
        m.put("poll", p);
        return m;
    }
}
