package io.caravan.channel.email.portal;

import java.util.Locale;
import org.springframework.http.CacheControl;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.util.HtmlUtils;

/**
 * The pickup pages: plain HTML, no script, no external asset, nothing cached, not framable, no referrer leaves. A GET
 * never changes anything (link scanners open it); asking for a code and answering are form POSTs. There is no login
 * and no cookie: each view needs a fresh code.
 */
@RestController
class PortalController {

    private static final String CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self';"
            + " form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    private final Portal portal;

    PortalController(Portal portal) {
        this.portal = portal;
    }

    @GetMapping("/portal/{token}")
    ResponseEntity<String> landing(@PathVariable String token) {
        return portal.open(token).map(open -> open
                ? page(HttpStatus.OK, "Your secure message", "<p>To read your message, ask for a one-time code: we"
                        + " email it to the address we have on file.</p>" + codeButton(token, "Email me a code")
                        + "<p>Already have a code?</p>" + answerForm(token))
                : expired()).orElseGet(PortalController::unknown);
    }

    @PostMapping("/portal/{token}/code")
    ResponseEntity<String> code(@PathVariable String token) {
        return switch (portal.sendCode(token)) {
            case SENT -> page(HttpStatus.OK, "Check your email", "<p id=\"sent\">We sent you a one-time code. It is"
                    + " good for " + portal.policy().codeTtl().toMinutes() + " minutes.</p>" + answerForm(token));
            case TOO_SOON -> page(HttpStatus.TOO_MANY_REQUESTS, "Please wait", "<p id=\"wait\">A code was sent a"
                    + " moment ago. Please check your email, or wait a little before asking again.</p>"
                    + answerForm(token));
            case LOCKED -> locked();
            case EXPIRED -> expired();
            case UNKNOWN -> unknown();
        };
    }

    @PostMapping(path = "/portal/{token}", consumes = MediaType.APPLICATION_FORM_URLENCODED_VALUE)
    ResponseEntity<String> answer(@PathVariable String token, @RequestParam(required = false) String code,
            @RequestParam(required = false) String factor) {
        Portal.Answer a = portal.answer(token, code, factor);
        return switch (a.outcome()) {
            case SHOWN -> message(a.content());
            case WRONG -> page(HttpStatus.UNAUTHORIZED, "That did not match", "<p id=\"wrong\">The code or the "
                    + factorLabel().toLowerCase(Locale.ROOT) + " did not match. " + a.remaining()
                    + " attempts left.</p>" + answerForm(token));
            case NO_CODE -> page(HttpStatus.UNAUTHORIZED, "Ask for a new code", "<p id=\"no-code\">There is no valid"
                    + " code for this message: it was used or it expired.</p>" + codeButton(token, "Email me a code"));
            case LOCKED -> locked();
            case EXPIRED -> expired();
            case UNKNOWN -> unknown();
        };
    }

    private ResponseEntity<String> message(Portal.Content c) {
        // the stored HTML is the hub's own template, rendered with HTML escaping; only its body is shown
        String html = c.html();
        int start = html.indexOf("<body>");
        int end = html.lastIndexOf("</body>");
        String body = start >= 0 && end > start ? html.substring(start + 6, end) : "<pre>" + HtmlUtils.htmlEscape(
                c.text()) + "</pre>";
        return page(HttpStatus.OK, HtmlUtils.htmlEscape(c.subject()), "<article id=\"message\">" + body
                + "</article><p class=\"note\">This page is not saved. To read the message again, ask for a new"
                + " code.</p>");
    }

    private String factorLabel() {
        return switch (portal.policy().secondFactor()) {
            case "birth-date" -> "Date of birth";
            case "postal-code" -> "Postal code";
            default -> "";
        };
    }

    private String answerForm(String token) {
        String factor = switch (portal.policy().secondFactor()) {
            case "birth-date" -> "<label>Date of birth <input type=\"date\" name=\"factor\" id=\"factor\""
                    + " required></label>";
            case "postal-code" -> "<label>Postal code <input name=\"factor\" id=\"factor\" required"
                    + " autocomplete=\"postal-code\"></label>";
            default -> "";
        };
        return "<form method=\"post\" action=\"/portal/" + HtmlUtils.htmlEscape(token) + "\">"
                + "<label>One-time code <input name=\"code\" id=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\""
                + " pattern=\"[0-9]{6}\" required></label>" + factor
                + "<button type=\"submit\" id=\"read\">Read the message</button></form>";
    }

    private static String codeButton(String token, String label) {
        return "<form method=\"post\" action=\"/portal/" + HtmlUtils.htmlEscape(token) + "/code\">"
                + "<button type=\"submit\" id=\"send-code\">" + label + "</button></form>";
    }

    private static ResponseEntity<String> locked() {
        return page(HttpStatus.TOO_MANY_REQUESTS, "Too many attempts", "<p id=\"locked\">Too many wrong answers."
                + " For your security this message is locked for a while. Please try again later.</p>");
    }

    private static ResponseEntity<String> expired() {
        return page(HttpStatus.GONE, "This message has expired", "<p id=\"expired\">This secure message can no"
                + " longer be read here. Please contact your care team.</p>");
    }

    private static ResponseEntity<String> unknown() {
        return page(HttpStatus.NOT_FOUND, "Message not found", "<p id=\"unknown\">This link is not valid.</p>");
    }

    private static ResponseEntity<String> page(HttpStatus status, String title, String content) {
        String html = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                + "<meta name=\"robots\" content=\"noindex\"><title>" + title + "</title><style>"
                + "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}"
                + "label{display:block;margin:.8rem 0}input{display:block;font-size:1.1rem;padding:.3rem}"
                + "button{font-size:1rem;padding:.5rem 1rem}.note{color:#666;font-size:.9rem}"
                + "article{border:1px solid #ccc;padding:1rem;margin:1rem 0}</style></head><body><h1>" + title
                + "</h1>" + content + "</body></html>";
        return ResponseEntity.status(status).contentType(new MediaType("text", "html",
                java.nio.charset.StandardCharsets.UTF_8)).cacheControl(CacheControl.noStore())
                .header("Content-Security-Policy", CSP).header("X-Frame-Options", "DENY")
                .header("Referrer-Policy", "no-referrer").header("X-Content-Type-Options", "nosniff").body(html);
    }
}
