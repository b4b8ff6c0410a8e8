package io.caravan.workflow;

import io.caravan.system.Problems;
import java.util.Collection;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;

/** {@code GET /api/workflows}: the workflows as loaded (id, purpose, trigger, exits, steps). No PHI. */
@RestController
class WorkflowController {

    private final WorkflowCatalog catalog;

    WorkflowController(WorkflowCatalog catalog) {
        this.catalog = catalog;
    }

    @GetMapping("/api/workflows")
    Collection<WorkflowDefinition> all() {
        return catalog.all().values();
    }

    @GetMapping("/api/workflows/{id}")
    WorkflowDefinition one(@PathVariable String id) {
        return catalog.get(id).orElseThrow(() -> new Problems.NotFound("no workflow with this id"));
    }
}
