package io.caravan.campaign;

import java.net.URI;
import java.security.Principal;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code POST /api/campaigns} (202: stored, it starts at its start time), {@code GET /api/campaigns[/{id}]} (the
 * report: counts per variant, no PHI) and {@code POST /api/campaigns/{id}/pause | resume | cancel}.
 */
@RestController
class CampaignController {

    private final Campaigns campaigns;

    CampaignController(Campaigns campaigns) {
        this.campaigns = campaigns;
    }

    @PostMapping("/api/campaigns")
    ResponseEntity<Map<String, Object>> create(@RequestBody CampaignRequest r, Principal user) {
        UUID id = campaigns.create(r, "api:" + user.getName());
        return ResponseEntity.accepted().location(URI.create("/api/campaigns/" + id)).body(campaigns.report(id));
    }

    @GetMapping("/api/campaigns")
    List<Map<String, Object>> list() {
        return campaigns.ids().stream().map(campaigns::report).toList();
    }

    @GetMapping("/api/campaigns/{id}")
    Map<String, Object> report(@PathVariable UUID id) {
        return campaigns.report(id);
    }

    @PostMapping("/api/campaigns/{id}/pause")
    Map<String, Object> pause(@PathVariable UUID id) {
        campaigns.pause(id);
        return campaigns.report(id);
    }

    @PostMapping("/api/campaigns/{id}/resume")
    Map<String, Object> resume(@PathVariable UUID id) {
        campaigns.resume(id);
        return campaigns.report(id);
    }

    @PostMapping("/api/campaigns/{id}/cancel")
    Map<String, Object> cancel(@PathVariable UUID id) {
        campaigns.cancel(id);
        return campaigns.report(id);
    }
}
