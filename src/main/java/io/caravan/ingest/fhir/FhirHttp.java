package io.caravan.ingest.fhir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import java.util.TreeMap;

/**
 * Raw HTTP to a FHIR server for what HAPI's client does not do (Bulk Data's async pattern, NDJSON streams): requests
 * with a timeout, {@code Retry-After} read in both forms, and a failure summarised by status and OperationOutcome
 * issue codes - never the server's diagnostics, which may quote a patient.
 */
public final class FhirHttp {

    static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http;
    private final Duration timeout;

    private FhirHttp(HttpClient http, Duration timeout) {
        this.http = http;
        this.timeout = timeout;
    }

    /** The same requests over {@code client} (an adapter's TLS trust); this one when null. */
    public FhirHttp over(HttpClient client) {
        return client == null ? this : new FhirHttp(client, timeout);
    }

    public FhirHttp(Duration timeout) {
        // HTTP/1.1: an h2c upgrade on plain http buys nothing for a few long downloads and trips simple servers
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10))
                .followRedirects(HttpClient.Redirect.NORMAL).build();
        this.timeout = timeout;
    }

    /** A response read whole (status answers, manifests, resources: small). */
    public record Answer(int status, String body, Map<String, String> headers) {

        public String header(String name) {
            return headers.get(name.toLowerCase());
        }

        public boolean ok() {
            return status >= 200 && status < 300;
        }
    }

    public HttpRequest.Builder request(String url, String authorization) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(timeout);
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return b;
    }

    public Answer send(HttpRequest request) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
        Map<String, String> headers = new TreeMap<>();
        r.headers().map().forEach((k, v) -> headers.put(k.toLowerCase(), v.isEmpty() ? "" : v.get(0)));
        return new Answer(r.statusCode(), r.body(), headers);
    }

    public Answer get(String url, String authorization, String accept) throws IOException, InterruptedException {
        return send(request(url, authorization).header("Accept", accept).GET().build());
    }

    /** A body to read as it arrives (an NDJSON file can be gigabytes). */
    public HttpResponse<InputStream> stream(String url, String authorization, String accept)
            throws IOException, InterruptedException {
        // no overall timeout: a large file takes as long as it takes; the connect timeout still holds
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).header("Accept", accept).GET();
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
    }

    /** {@code Retry-After} as seconds or an HTTP date; null when absent or unreadable. */
    public static Duration retryAfter(String value, Instant now) {
        if (value == null || value.isBlank()) {
            return null;
        }
        String v = value.trim();
        try {
            return Duration.ofSeconds(Math.max(0, Long.parseLong(v)));
        } catch (NumberFormatException notSeconds) {
            try {
                Duration d = Duration.between(now, ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME)
                        .toInstant());
                return d.isNegative() ? Duration.ZERO : d;
            } catch (RuntimeException notADate) {
                return null;
            }
        }
    }

    /** What went wrong, for logs and the status API: the status and the OperationOutcome's issue codes only. */
    public static String summary(Answer a) {
        StringBuilder s = new StringBuilder("HTTP ").append(a.status());
        String codes = issueCodes(a.body());
        if (!codes.isEmpty()) {
            s.append(" (").append(codes).append(')');
        }
        return s.toString();
    }

    /** The issue codes of an OperationOutcome as {@code code:count,...}; empty when the text is none. */
    public static String issueCodes(String body) {
        Map<String, Integer> counts = new TreeMap<>();
        countIssues(body, counts);
        return format(counts);
    }

    public static void countIssues(String body, Map<String, Integer> counts) {
        if (body == null || body.isBlank()) {
            return;
        }
        try {
            JsonNode n = JSON.readTree(body);
            if (!"OperationOutcome".equals(n.path("resourceType").asText())) {
                return;
            }
            for (JsonNode issue : n.path("issue")) {
                String code = issue.path("code").asText("unknown");
                counts.merge(code.matches("[a-z-]{1,40}") ? code : "unknown", 1, Integer::sum);
            }
        } catch (IOException | RuntimeException notJson) {
            // not an OperationOutcome: the status says enough
        }
    }

    public static String format(Map<String, Integer> counts) {
        StringBuilder s = new StringBuilder();
        counts.forEach((k, v) -> s.append(s.length() == 0 ? "" : ",").append(k).append(':').append(v));
        return s.toString();
    }

    /** A server's free text (X-Progress) cut to something safe to keep: printable, short. */
    public static String printable(String text, int max) {
        if (text == null) {
            return null;
        }
        String t = text.replaceAll("[^\\x20-\\x7E]", "?");
        return t.length() > max ? t.substring(0, max) : t;
    }
}
