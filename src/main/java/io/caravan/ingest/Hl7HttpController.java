package io.caravan.ingest;

import java.nio.charset.Charset;
import org.apache.camel.ProducerTemplate;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code POST /api/hl7v2}: one ER7 message in, its ACK out (200, after the commit), through the same ingest step as
 * MLLP - the route {@code hl7-http-ingest} in routes/hl7-http-ingest.yaml. A NAK (AE/AR) is also a 200: the ACK is
 * the answer, as over MLLP; HTTP errors are kept for what is not an HL7 exchange (credentials, content type).
 */
@RestController
class Hl7HttpController {

    /** The HL7 v2 ER7 media type (HL7 v2 over HTTP, "x-application/hl7-v2+er7"). */
    static final String ER7 = "x-application/hl7-v2+er7";

    private final ProducerTemplate producer;
    private final Charset charset;

    Hl7HttpController(ProducerTemplate producer, MllpProperties mllp) {
        this.producer = producer;
        this.charset = Charset.forName(mllp.charset());
    }

    @PostMapping(path = "/api/hl7v2", consumes = {ER7, MediaType.TEXT_PLAIN_VALUE}, produces = ER7)
    ResponseEntity<String> receive(@RequestBody byte[] body,
            @RequestHeader(HttpHeaders.CONTENT_TYPE) MediaType contentType) {
        // the body's charset when the request names one, else the feed's (MLLP's) charset
        String er7 = new String(body, contentType.getCharset() != null ? contentType.getCharset() : charset);
        Hl7Ingest.Received received = producer.requestBody("direct:hl7v2-http", er7, Hl7Ingest.Received.class);
        return ResponseEntity.ok().contentType(new MediaType(MediaType.parseMediaType(ER7), charset))
                .body(received.ack());
    }
}
