package io.caravan.ingest.fhir;

import ca.uhn.fhir.rest.annotation.Count;
import ca.uhn.fhir.rest.annotation.OptionalParam;
import ca.uhn.fhir.rest.annotation.Search;
import ca.uhn.fhir.rest.annotation.Sort;
import ca.uhn.fhir.rest.api.SortSpec;
import ca.uhn.fhir.rest.param.DateRangeParam;
import ca.uhn.fhir.rest.param.ParamPrefixEnum;
import ca.uhn.fhir.rest.server.FifoMemoryPagingProvider;
import ca.uhn.fhir.rest.server.IResourceProvider;
import ca.uhn.fhir.rest.server.RestfulServer;
import io.caravan.mapping.fhir.FhirMappings;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.apache.catalina.Context;
import org.apache.catalina.LifecycleException;
import org.apache.catalina.startup.Tomcat;
import org.apache.tomcat.util.descriptor.web.FilterDef;
import org.apache.tomcat.util.descriptor.web.FilterMap;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Appointment;
import org.hl7.fhir.r4.model.Consent;
import org.hl7.fhir.r4.model.Encounter;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Resource;

/**
 * An EHR's FHIR R4 server in the test JVM: HAPI's plain {@link RestfulServer} on an embedded Tomcat, holding the
 * current version of each resource in memory, searchable by {@code _lastUpdated} (sorted, paged with real
 * {@code next} links). In front of it a gate that checks the {@code Authorization} header, can answer 429/503 with
 * {@code Retry-After}, and records every request. Optionally a token endpoint ({@code /token}) whose checks the test
 * supplies.
 */
public final class TestFhirServer implements AutoCloseable {

    /** One request as the server saw it (the URL as sent, query included). */
    public record Request(Instant at, String method, String url, String authorization, int status) {
    }

    private final Map<String, Map<String, Resource>> resources = new ConcurrentHashMap<>();
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    /** Requests the gate has not recorded yet: a client can have its whole response before the gate records it. */
    private final java.util.concurrent.atomic.AtomicInteger unrecorded = new java.util.concurrent.atomic.AtomicInteger();
    private final AtomicInteger throttleNext = new AtomicInteger();
    private volatile int throttleStatus = 429;
    private volatile String throttleRetryAfter;
    private volatile String expectedAuthorization;
    private volatile Function<HttpServletRequest, String[]> tokenEndpoint;
    private final Tomcat tomcat = new Tomcat();
    private final int port;
    private final boolean https;
    private java.nio.file.Path certificatePem;

    public TestFhirServer() {
        this(false);
    }

    /**
     * @param https serve HTTPS with a self-signed certificate for 127.0.0.1 (made with the JDK's keytool); its PEM is
     *              {@link #certificatePem()}
     */
    public TestFhirServer(boolean https) {
        this.https = https;
        try {
            java.nio.file.Path base = Files.createTempDirectory("fhir-server-");
            tomcat.setBaseDir(base.toString());
            tomcat.setPort(0);
            tomcat.getEngine().setName("test-fhir-" + System.identityHashCode(this));
            if (https) {
                java.nio.file.Path ks = base.resolve("server.p12");
                certificatePem = base.resolve("server.pem");
                keytool("-genkeypair", "-alias", "fhir", "-keyalg", "RSA", "-keysize", "2048", "-validity", "2",
                        "-dname", "CN=127.0.0.1", "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-storetype", "PKCS12",
                        "-keystore", ks.toString(), "-storepass", "changeit", "-keypass", "changeit");
                keytool("-exportcert", "-rfc", "-alias", "fhir", "-keystore", ks.toString(), "-storepass", "changeit",
                        "-file", certificatePem.toString());
                org.apache.catalina.connector.Connector c = new org.apache.catalina.connector.Connector();
                c.setPort(0);
                c.setScheme("https");
                c.setSecure(true);
                c.setProperty("SSLEnabled", "true");
                org.apache.tomcat.util.net.SSLHostConfig host = new org.apache.tomcat.util.net.SSLHostConfig();
                org.apache.tomcat.util.net.SSLHostConfigCertificate cert =
                        new org.apache.tomcat.util.net.SSLHostConfigCertificate(host,
                                org.apache.tomcat.util.net.SSLHostConfigCertificate.Type.RSA);
                cert.setCertificateKeystoreFile(ks.toString());
                cert.setCertificateKeystorePassword("changeit");
                cert.setCertificateKeystoreType("PKCS12");
                host.addCertificate(cert);
                c.addSslHostConfig(host);
                tomcat.setConnector(c);
            } else {
                tomcat.getConnector();
            }
            Context ctx = tomcat.addContext("", null);
            RestfulServer server = new RestfulServer(FhirMappings.R4);
            for (Class<? extends Resource> type : List.of(Patient.class, Appointment.class, Encounter.class,
                    Consent.class)) {
                server.registerProvider(new Provider(type));
            }
            FifoMemoryPagingProvider paging = new FifoMemoryPagingProvider(100);
            paging.setDefaultPageSize(10);
            paging.setMaximumPageSize(1000);
            server.setPagingProvider(paging);
            Tomcat.addServlet(ctx, "fhir", server);
            ctx.addServletMappingDecoded("/fhir/*", "fhir");
            Tomcat.addServlet(ctx, "token", new HttpServlet() {
                @Override
                protected void doPost(HttpServletRequest req, HttpServletResponse resp) throws IOException {
                    String[] answer = tokenEndpoint == null ? new String[] {"404", "{}"} : tokenEndpoint.apply(req);
                    resp.setStatus(Integer.parseInt(answer[0]));
                    resp.setContentType("application/json");
                    resp.getWriter().write(answer[1]);
                }
            });
            ctx.addServletMappingDecoded("/token", "token");
            FilterDef gate = new FilterDef();
            gate.setFilterName("gate");
            gate.setFilter(new Gate());
            ctx.addFilterDef(gate);
            FilterMap map = new FilterMap();
            map.setFilterName("gate");
            map.addURLPatternDecoded("/fhir/*");
            ctx.addFilterMap(map);
            tomcat.start();
            port = tomcat.getConnector().getLocalPort();
        } catch (IOException | LifecycleException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void keytool(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IOException("keytool failed: " + out);
        }
    }

    /** The server certificate (PEM), for an adapter's fhir.trustCertificates. */
    public java.nio.file.Path certificatePem() {
        return certificatePem;
    }

    public String baseUrl() {
        return (https ? "https" : "http") + "://127.0.0.1:" + port + "/fhir";
    }

    public String tokenUrl() {
        return (https ? "https" : "http") + "://127.0.0.1:" + port + "/token";
    }

    /** Stores (or replaces) the current version of a resource; meta.versionId and meta.lastUpdated as the test set. */
    public void put(Resource r) {
        resources.computeIfAbsent(r.fhirType(), t -> new ConcurrentHashMap<>()).put(r.getIdElement().getIdPart(),
                r.copy());
    }

    /** A Patient with an MRN, version and lastUpdated: what most tests poll. */
    public static Patient patient(String id, int version, Instant lastUpdated, String mrn, String family) {
        Patient p = new Patient();
        p.setId(id);
        p.getMeta().setVersionId(String.valueOf(version)).setLastUpdated(Date.from(lastUpdated));
        p.addIdentifier().setSystem("http://hospital.example.org/mrn").setValue(mrn).getType().addCoding()
                .setSystem("http://terminology.hl7.org/CodeSystem/v2-0203").setCode("MR");
        p.addName().setFamily(family).addGiven("Polled");
        return p;
    }

    /** Requests must carry exactly this Authorization header (null: any or none); others get 401. */
    public void requireAuthorization(String header) {
        this.expectedAuthorization = header;
    }

    /** The next {@code n} FHIR requests are answered {@code status} with this Retry-After (null: none). */
    public void throttleNext(int n, int status, String retryAfter) {
        this.throttleStatus = status;
        this.throttleRetryAfter = retryAfter;
        this.throttleNext.set(n);
    }

    /** The token endpoint: the request in, {status, JSON body} out. */
    public void tokenEndpoint(Function<HttpServletRequest, String[]> f) {
        this.tokenEndpoint = f;
    }

    /** The requests so far, once every request that has reached the server is recorded (within 5 s). */
    public List<Request> requests() {
        long until = System.nanoTime() + 5_000_000_000L;
        while (unrecorded.get() > 0 && System.nanoTime() < until) {
            Thread.onSpinWait();
        }
        return List.copyOf(requests);
    }

    public void clearRequests() {
        requests.clear();
    }

    @Override
    public void close() {
        try {
            tomcat.stop();
            tomcat.destroy();
        } catch (LifecycleException e) {
            throw new IllegalStateException(e);
        }
    }

    private final class Gate implements Filter {
        @Override
        public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
                throws IOException, ServletException {
            unrecorded.incrementAndGet();
            try {
                record((HttpServletRequest) request, (HttpServletResponse) response, chain);
            } finally {
                unrecorded.decrementAndGet();
            }
        }

        private void record(HttpServletRequest req, HttpServletResponse resp, FilterChain chain)
                throws IOException, ServletException {
            ServletResponse response = resp;
            String url = req.getRequestURI() + (req.getQueryString() == null ? "" : "?" + req.getQueryString());
            String auth = req.getHeader("Authorization");
            int status;
            if (expectedAuthorization != null && !expectedAuthorization.equals(auth)) {
                status = 401;
                resp.setStatus(401);
                resp.setHeader("WWW-Authenticate", "Bearer");
            } else if (throttleNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                status = throttleStatus;
                resp.setStatus(status);
                if (throttleRetryAfter != null) {
                    resp.setHeader("Retry-After", throttleRetryAfter);
                }
            } else {
                // no gzip: what the hub reads then travels in clear, as from a server that does not compress (the
                // PHI canary must see it if anything logs it)
                chain.doFilter(new jakarta.servlet.http.HttpServletRequestWrapper(req) {
                    @Override
                    public String getHeader(String name) {
                        return "Accept-Encoding".equalsIgnoreCase(name) ? null : super.getHeader(name);
                    }

                    @Override
                    public java.util.Enumeration<String> getHeaders(String name) {
                        return "Accept-Encoding".equalsIgnoreCase(name) ? java.util.Collections.emptyEnumeration()
                                : super.getHeaders(name);
                    }
                }, response);
                status = resp.getStatus();
            }
            requests.add(new Request(Instant.now(), req.getMethod(), url, auth, status));
        }
    }

    /** Search by _lastUpdated, sorted by it; the server pages the result. */
    public final class Provider implements IResourceProvider {
        private final Class<? extends Resource> type;

        Provider(Class<? extends Resource> type) {
            this.type = type;
        }

        @Override
        public Class<? extends IBaseResource> getResourceType() {
            return type;
        }

        @Search
        public List<IBaseResource> search(@OptionalParam(name = "_lastUpdated") DateRangeParam lastUpdated,
                @Sort SortSpec sort, @Count Integer count) {
            String name = FhirMappings.R4.getResourceType(type);
            List<Resource> all = new ArrayList<>(resources.getOrDefault(name, new LinkedHashMap<>()).values());
            List<IBaseResource> out = new ArrayList<>();
            all.sort(Comparator.comparing((Resource r) -> r.getMeta().getLastUpdated())
                    .thenComparing(r -> r.getIdElement().getIdPart()));
            for (Resource r : all) {
                if (lastUpdated == null || matches(lastUpdated, r.getMeta().getLastUpdated())) {
                    out.add(r.copy());
                }
            }
            return out;
        }

        private boolean matches(DateRangeParam range, Date at) {
            if (range.getLowerBound() != null && range.getLowerBound().getValue() != null) {
                Date lower = range.getLowerBound().getValue();
                boolean gt = range.getLowerBound().getPrefix() == ParamPrefixEnum.GREATERTHAN;
                if (gt ? !at.after(lower) : at.before(lower)) {
                    return false;
                }
            }
            if (range.getUpperBound() != null && range.getUpperBound().getValue() != null) {
                return !at.after(range.getUpperBound().getValue());
            }
            return true;
        }
    }
}
