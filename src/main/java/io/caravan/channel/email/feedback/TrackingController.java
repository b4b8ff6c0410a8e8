package io.caravan.channel.email.feedback;

import java.net.URI;
import java.util.Base64;
import org.springframework.http.CacheControl;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestMethod;
import org.springframework.web.bind.annotation.RestController;

/**
 * The open pixel ({@code /t/o/{token}}) and click redirect ({@code /t/c/{token}}): no login, no cookie; an unknown or
 * altered token gets a 404 whatever was wrong with it. A click always reaches its destination, even when the message
 * is no longer known.
 */
@RestController
class TrackingController {

    private static final byte[] PIXEL = Base64.getDecoder().decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7");

    private final Tracking tracking;

    TrackingController(Tracking tracking) {
        this.tracking = tracking;
    }

    @RequestMapping(path = "/t/o/{token}", method = {RequestMethod.GET, RequestMethod.HEAD})
    ResponseEntity<byte[]> open(@PathVariable String token,
            @RequestHeader(value = HttpHeaders.USER_AGENT, required = false) String ua,
            jakarta.servlet.http.HttpServletRequest request) {
        Tracking.Target t = tracking.open(token).filter(x -> x.url().isEmpty())
                .orElseThrow(() -> new io.caravan.system.Problems.NotFound("unknown link"));
        tracking.record(t.messageId(), Tracking.OPEN, ua, request.getMethod());
        return ResponseEntity.ok().cacheControl(CacheControl.noStore()).contentType(MediaType.IMAGE_GIF).body(PIXEL);
    }

    @RequestMapping(path = "/t/c/{token}", method = {RequestMethod.GET, RequestMethod.HEAD})
    ResponseEntity<Void> click(@PathVariable String token,
            @RequestHeader(value = HttpHeaders.USER_AGENT, required = false) String ua,
            jakarta.servlet.http.HttpServletRequest request) {
        Tracking.Target t = tracking.open(token).filter(x -> !x.url().isEmpty())
                .orElseThrow(() -> new io.caravan.system.Problems.NotFound("unknown link"));
        tracking.record(t.messageId(), Tracking.CLICK, ua, request.getMethod());
        return ResponseEntity.status(HttpStatus.FOUND).cacheControl(CacheControl.noStore())
                .location(URI.create(t.url())).build();
    }
}
