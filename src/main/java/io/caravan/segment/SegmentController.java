package io.caravan.segment;

import java.net.URI;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code GET|POST /api/segments}, {@code GET /api/segments/{id}} (with its count now) and
 * {@code POST /api/segments/preview} (an expression's count and a sample of contact ids - opaque ids, never a name
 * or a value). A refused definition is a problem+json naming the field ({@code field}) and the rule.
 */
@RestController
class SegmentController {

    private final Segments segments;
    private final io.caravan.audit.PhiReads reads;

    SegmentController(Segments segments, io.caravan.audit.PhiReads reads) {
        this.segments = segments;
        this.reads = reads;
    }

    @GetMapping("/api/segments")
    List<Map<String, Object>> list() {
        return segments.all().stream().map(d -> view(d, false)).toList();
    }

    @GetMapping("/api/segments/{id}")
    Map<String, Object> one(@PathVariable String id) {
        return view(segments.find(id).orElseThrow(() -> new io.caravan.system.Problems.NotFound("no segment " + id)),
                true);
    }

    @PostMapping("/api/segments")
    ResponseEntity<Map<String, Object>> define(@RequestBody SegmentDefinition d) {
        boolean created = segments.define(d);
        Map<String, Object> body = view(segments.find(d.id).orElseThrow(), true);
        return created ? ResponseEntity.created(URI.create("/api/segments/" + d.id)).body(body)
                : ResponseEntity.ok(body);
    }

    /** The request of a preview: an expression and the purpose it would be used for (default treatment). */
    record Preview(String when, String purpose) {
    }

    @PostMapping("/api/segments/preview")
    Map<String, Object> preview(@RequestBody Preview p, java.security.Principal who) {
        Map<String, Object> out = segments.preview(p.when(), p.purpose());
        // that a contact matches a clinical expression is PHI: each id shown is a read of that contact
        for (Object id : (List<?>) out.get("sample")) {
            reads.record(who.getName(), java.util.UUID.fromString((String) id), "segment-membership", "preview");
        }
        return out;
    }

    @ExceptionHandler(SegmentCatalog.Invalid.class)
    ResponseEntity<ProblemDetail> invalid(SegmentCatalog.Invalid e) {
        SegmentCatalog.Problem first = e.problems().get(0);
        HttpStatus status = first.detail().contains("sensitive category") ? HttpStatus.UNPROCESSABLE_ENTITY
                : HttpStatus.BAD_REQUEST;
        ProblemDetail p = ProblemDetail.forStatusAndDetail(status, first.field() + ": " + first.detail());
        p.setTitle("Invalid segment");
        p.setProperty("field", first.field());
        p.setProperty("problems", e.problems());
        return ResponseEntity.status(status).contentType(org.springframework.http.MediaType.APPLICATION_PROBLEM_JSON)
                .body(p);
    }

    private Map<String, Object> view(Segments.Defined d, boolean count) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", d.definition().id);
        m.put("description", d.definition().description);
        m.put("purpose", d.definition().purpose);
        m.put("when", d.definition().when);
        m.put("source", d.source());
        if (count) {
            m.put("count", segments.count(d.definition().when));
        }
        return m;
    }
}
