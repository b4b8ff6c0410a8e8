package io.caravan.ingest.fhir.bulk;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A FHIR server's Bulk Data side as the IG describes it, on the JDK's HTTP server: kick-off ({@code Prefer:
 * respond-async} required) answered 202 with a Content-Location, status polls answered 202 with Retry-After and
 * X-Progress until the export is ready, then the manifest; NDJSON files streamed line by line; DELETE on the status
 * URL. An export can be made to fail (500 with an OperationOutcome) to act as an all-or-nothing server.
 */
final class BulkDataServer implements AutoCloseable {

    /** What one export serves: snapshot of the server's data when it was kicked off. */
    record Snapshot(Instant transactionTime, List<String> patients, List<String> appointments, List<String> errors) {
    }

    private final HttpServer server;
    final String prefix;
    final List<String> kickOffs = Collections.synchronizedList(new ArrayList<>());
    final List<Instant> polls = Collections.synchronizedList(new ArrayList<>());
    final List<String> deletes = Collections.synchronizedList(new ArrayList<>());
    final Map<Integer, Snapshot> exports = new ConcurrentHashMap<>();
    final Map<Integer, AtomicInteger> pollCounts = new ConcurrentHashMap<>();
    final AtomicInteger linesServed = new AtomicInteger();
    final AtomicInteger fileRequests = new AtomicInteger();
    private final AtomicInteger next = new AtomicInteger();

    volatile List<String> patients = List.of();
    volatile List<String> appointments = List.of();
    volatile List<String> errors = List.of();
    /** Status polls answered 202 before the manifest. */
    volatile int pollsBeforeReady = 2;
    /** Exports (by number, from 0) the server fails at their status poll. */
    volatile int failFirst = 0;
    /** A pause after each NDJSON line (a large file served slowly). */
    volatile long lineDelayMillis = 0;
    /**
     * The first file download stops after this many lines until {@link #release} is counted down (a large file the
     * hub is in the middle of, however fast or slow it reads); -1: never.
     */
    volatile int holdAt = -1;
    final java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);

    BulkDataServer(String prefix) throws IOException {
        this.prefix = prefix;
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/" + prefix + "/", this::handle);
        server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        server.start();
    }

    String base() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/" + prefix;
    }

    private void handle(HttpExchange x) throws IOException {
        try (x) {
            String path = x.getRequestURI().getPath().substring(prefix.length() + 1);
            String method = x.getRequestMethod();
            if (path.endsWith("/$export")) {
                if (!"respond-async".equals(x.getRequestHeaders().getFirst("Prefer"))) {
                    send(x, 400, "application/fhir+json", outcome("required", "Prefer: respond-async"));
                    return;
                }
                int n = next.getAndIncrement();
                kickOffs.add(path + "?" + x.getRequestURI().getRawQuery());
                exports.put(n, new Snapshot(Instant.now(), patients, appointments, errors));
                x.getResponseHeaders().add("Content-Location", base() + "/status/" + n);
                x.sendResponseHeaders(202, -1);
            } else if (path.startsWith("/status/")) {
                int n = Integer.parseInt(path.substring("/status/".length()));
                if ("DELETE".equals(method)) {
                    deletes.add(path);
                    x.sendResponseHeaders(202, -1);
                    return;
                }
                polls.add(Instant.now());
                int count = pollCounts.computeIfAbsent(n, k -> new AtomicInteger()).incrementAndGet();
                if (count <= pollsBeforeReady) {
                    x.getResponseHeaders().add("Retry-After", "1");
                    x.getResponseHeaders().add("X-Progress", "step " + count + " of " + pollsBeforeReady);
                    x.sendResponseHeaders(202, -1);
                } else if (n < failFirst) {
                    // diagnostics naming a patient, as a careless server might: the hub must not repeat them
                    send(x, 500, "application/fhir+json", outcome("exception", "export failed at Patient Smith"));
                } else {
                    send(x, 200, "application/json", manifest(n));
                }
            } else if (path.startsWith("/files/")) {
                int request = fileRequests.incrementAndGet();
                String[] p = path.split("/");
                Snapshot s = exports.get(Integer.parseInt(p[2]));
                List<String> lines = switch (p[3]) {
                    case "Patient.ndjson" -> s.patients();
                    case "Appointment.ndjson" -> s.appointments();
                    default -> s.errors();
                };
                x.getResponseHeaders().add("Content-Type", "application/fhir+ndjson");
                x.sendResponseHeaders(200, 0);
                boolean first = request == 1;
                try (OutputStream out = x.getResponseBody()) {
                    for (String line : lines) {
                        if (first && linesServed.get() == holdAt) {
                            release.await(120, java.util.concurrent.TimeUnit.SECONDS);
                        }
                        out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                        out.flush();
                        linesServed.incrementAndGet();
                        if (lineDelayMillis > 0) {
                            Thread.sleep(lineDelayMillis);
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (IOException clientGone) {
                    // the hub was killed mid-download
                }
            } else {
                send(x, 404, "application/fhir+json", outcome("not-found", "no such endpoint"));
            }
        }
    }

    private String manifest(int n) {
        Snapshot s = exports.get(n);
        StringBuilder out = new StringBuilder();
        if (!s.patients().isEmpty()) {
            out.append("{\"type\":\"Patient\",\"url\":\"").append(base()).append("/files/").append(n)
                    .append("/Patient.ndjson\",\"count\":").append(s.patients().size()).append('}');
        }
        if (!s.appointments().isEmpty()) {
            // listed first: the hub reads Patients first whatever the manifest's order
            out.insert(0, "{\"type\":\"Appointment\",\"url\":\"" + base() + "/files/" + n
                    + "/Appointment.ndjson\",\"count\":" + s.appointments().size() + "}" + (out.isEmpty() ? "" : ","));
        }
        String error = s.errors().isEmpty() ? "" : "{\"type\":\"OperationOutcome\",\"url\":\"" + base() + "/files/" + n
                + "/errors.ndjson\"}";
        return "{\"transactionTime\":\"" + s.transactionTime() + "\",\"request\":\"" + base() + "/Patient/$export\","
                + "\"requiresAccessToken\":false,\"output\":[" + out + "],\"error\":[" + error + "]}";
    }

    static String outcome(String code, String diagnostics) {
        return "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"error\",\"code\":\"" + code
                + "\",\"diagnostics\":\"" + diagnostics + "\"}]}";
    }

    private static void send(HttpExchange x, int status, String type, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().add("Content-Type", type);
        x.sendResponseHeaders(status, b.length);
        x.getResponseBody().write(b);
    }

    static String patient(String id, int version, String lastUpdated, String mrn, String family) {
        return ("{\"resourceType\":\"Patient\",\"id\":\"%s\",\"meta\":{\"versionId\":\"%d\",\"lastUpdated\":\"%s\"},"
                + "\"identifier\":[{\"type\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/v2-0203\","
                + "\"code\":\"MR\"}]},\"system\":\"http://hospital.example.org/mrn\",\"value\":\"%s\"}],"
                + "\"name\":[{\"family\":\"%s\",\"given\":[\"Bulk\"]}],\"gender\":\"female\",\"birthDate\":\"1970-01-01\"}")
                .formatted(id, version, lastUpdated, mrn, family);
    }

    static String appointment(String id, String patientId) {
        return ("{\"resourceType\":\"Appointment\",\"id\":\"%s\",\"meta\":{\"versionId\":\"1\",\"lastUpdated\":"
                + "\"2026-03-06T10:00:00Z\"},\"status\":\"booked\",\"start\":\"2026-04-01T09:00:00Z\","
                + "\"end\":\"2026-04-01T09:30:00Z\",\"participant\":[{\"actor\":{\"reference\":\"Patient/%s\"},"
                + "\"status\":\"accepted\"}]}").formatted(id, patientId);
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
