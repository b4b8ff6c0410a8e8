package io.caravan.consent;

import io.caravan.system.Problems.NotFound;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.http.CacheControl;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.util.MultiValueMap;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * One-click unsubscribe (RFC 8058), the target of a marketing email's {@code List-Unsubscribe} header.
 *
 * <ul>
 *   <li>{@code POST /unsubscribe/{token}} with {@code List-Unsubscribe=One-Click} (what a mail client sends, and what
 *       the page's button sends): records the opt-out at once, answers 200 — no redirect, no cookie, no login.
 *       Repeating it changes nothing. The message whose link it was is told ({@link Unsubscribed}).</li>
 *   <li>{@code GET} (a person following the link, or a link scanner prefetching it) changes nothing: it shows a page
 *       with the button.</li>
 * </ul>
 * Neither names the contact, and an unknown or altered token gets the same 404 whatever was wrong with it.
 */
@RestController
class UnsubscribeController {

    static final String BODY_KEY = "List-Unsubscribe";
    static final String BODY_VALUE = "One-Click";

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(UnsubscribeController.class);

    private final UnsubscribeTokens tokens;
    private final ConsentService consents;
    private final ApplicationEventPublisher events;

    UnsubscribeController(UnsubscribeTokens tokens, ConsentService consents, ApplicationEventPublisher events) {
        this.tokens = tokens;
        this.consents = consents;
        this.events = events;
    }

    @PostMapping(path = "/unsubscribe/{token}",
            consumes = {MediaType.APPLICATION_FORM_URLENCODED_VALUE, MediaType.MULTIPART_FORM_DATA_VALUE})
    ResponseEntity<String> oneClick(@PathVariable String token, @RequestParam MultiValueMap<String, String> form) {
        UnsubscribeTokens.Scope s = tokens.open(token).orElseThrow(() -> new NotFound("unknown unsubscribe link"));
        if (!BODY_VALUE.equals(form.getFirst(BODY_KEY))) {
            throw new IllegalArgumentException("the request must carry List-Unsubscribe=One-Click (RFC 8058)");
        }
        consents.optOut(s.contactId(), new ConsentForms.OptOut(s.channel(), s.purpose(), "RFC 8058 one-click",
                "unsubscribe"), "unsubscribe");
        if (s.messageId() != null) {
            // on every POST, not only the first: a crash between the opt-out and this is mended by the client's retry
            try {
                events.publishEvent(new Unsubscribed(s.channel(), s.messageId()));
            } catch (RuntimeException e) {
                // the opt-out stands: the client is not told otherwise for a report's figure
                log.warn("An unsubscribe was recorded but not counted against its message ({})",
                        io.caravan.system.PhiSafeLogging.describe(e));
            }
        }
        return ResponseEntity.ok().cacheControl(CacheControl.noStore()).contentType(MediaType.TEXT_PLAIN)
                .body("You are unsubscribed.\n");
    }

    @GetMapping(path = "/unsubscribe/{token}", produces = MediaType.TEXT_HTML_VALUE)
    ResponseEntity<String> page(@PathVariable String token) {
        tokens.open(token).orElseThrow(() -> new NotFound("unknown unsubscribe link"));
        // a relative action posts back to this same URL; no script, no external asset
        String html = """
                <!doctype html>
                <html lang="en"><head><meta charset="utf-8"><title>Unsubscribe</title>
                <meta name="robots" content="noindex"></head>
                <body><h1>Unsubscribe</h1>
                <p>Press the button to stop receiving these messages.</p>
                <form method="post" action=""><input type="hidden" name="List-Unsubscribe" value="One-Click">
                <button type="submit">Unsubscribe</button></form></body></html>
                """;
        return ResponseEntity.ok().cacheControl(CacheControl.noStore()).body(html);
    }
}
