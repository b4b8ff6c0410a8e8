package io.caravan.ingest.fhir;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.client.api.IClientInterceptor;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.client.api.IHttpRequest;
import ca.uhn.fhir.rest.client.api.IHttpResponse;
import ca.uhn.fhir.rest.client.api.ServerValidationModeEnum;
import ca.uhn.fhir.rest.client.apache.ApacheRestfulClientFactory;
import io.caravan.mapping.AdapterProfile;
import io.caravan.mapping.MappingCatalog;
import io.caravan.mapping.fhir.FhirMappings;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.apache.http.client.config.RequestConfig;
import org.apache.http.impl.client.HttpClients;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.core.env.Environment;
import org.springframework.stereotype.Component;

/**
 * The hub's FHIR clients, one per FHIR adapter with a {@code baseUrl}: HAPI's {@link IGenericClient} over the hub's
 * one {@link FhirContext}, with the adapter's auth ({@link FhirAuth}) as an interceptor and its TLS trust (the JVM's
 * CAs plus {@code fhir.trustCertificates}). The same trust and auth serve plain HTTP calls
 * ({@link #httpClient(String)} + {@link FhirAuth#authorizationHeader()}). Built at start-up, so a missing secret or an
 * unreadable certificate stops the hub with the adapter and setting named.
 */
@Component
public class FhirClients {

    private static final ThreadLocal<Throttle> THROTTLE = new ThreadLocal<>();

    /** A 429 or 503 the server answered on this thread, with its {@code Retry-After} when it sent one. */
    public record Throttle(int status, Duration retryAfter) {
    }

    private record One(IGenericClient client, FhirAuth auth, SSLContext ssl, java.net.http.HttpClient http) {
    }

    private final Map<String, One> byAdapter = new ConcurrentHashMap<>();
    private final Clock clock;

    /**
     * HAPI's generic client builds each request's HTTP client through its FhirContext's client factory, not the
     * factory that made the client: the one shared context gets a factory that picks the adapter's HttpClient (its TLS
     * trust, timeouts, pool) by the request URL. A URL of no adapter gets HAPI's default.
     */
    private static final Map<String, org.apache.http.client.HttpClient> BY_BASE_URL = new ConcurrentHashMap<>();

    static {
        ApacheRestfulClientFactory routing = new ApacheRestfulClientFactory(FhirMappings.R4) {
            @Override
            public synchronized ca.uhn.fhir.rest.client.api.IHttpClient getHttpClient(StringBuilder url,
                    Map<String, List<String>> params, String contentType, ca.uhn.fhir.rest.api.RequestTypeEnum method,
                    List<ca.uhn.fhir.rest.client.api.Header> headers) {
                String u = url.toString();
                org.apache.http.client.HttpClient native_ = BY_BASE_URL.entrySet().stream()
                        .filter(e -> u.startsWith(e.getKey()))
                        .max(java.util.Comparator.comparingInt(e -> e.getKey().length())).map(Map.Entry::getValue)
                        .orElseGet(this::getNativeHttpClient);
                return new ca.uhn.fhir.rest.client.apache.ApacheHttpClient(native_, url, params, contentType, method,
                        headers);
            }
        };
        routing.setServerValidationMode(ServerValidationModeEnum.NEVER);
        FhirMappings.R4.setRestfulClientFactory(routing);
    }

    @Autowired
    public FhirClients(MappingCatalog catalog, Environment env, Clock clock) {
        this(catalog.adapters(), env::getProperty, clock);
    }

    public FhirClients(List<AdapterProfile> adapters, Function<String, String> env, Clock clock) {
        this.clock = clock;
        for (AdapterProfile a : adapters) {
            if ("fhir".equals(a.kind) && a.fhir != null && a.fhir.baseUrl != null) {
                byAdapter.put(a.id, build(a, env));
            }
        }
    }

    /** The hub's one FHIR R4 context (building one scans the whole model: never build another). */
    public FhirContext context() {
        return FhirMappings.R4;
    }

    /** The client of {@code adapter}; throws when it is not a FHIR adapter with a base URL. */
    public IGenericClient client(String adapter) {
        return one(adapter).client();
    }

    /** The auth of {@code adapter}, for plain HTTP calls: {@code Authorization: auth(a).authorizationHeader()}. */
    public FhirAuth auth(String adapter) {
        return one(adapter).auth();
    }

    /** The adapter's TLS trust: the JVM's CAs plus its {@code fhir.trustCertificates}. */
    public SSLContext sslContext(String adapter) {
        return one(adapter).ssl();
    }

    /** A JDK HTTP client with the adapter's TLS trust, for calls HAPI's client does not make (downloads). */
    public java.net.http.HttpClient httpClient(String adapter) {
        return one(adapter).http();
    }

    /** Whether {@code adapter} is a FHIR adapter the hub can call. */
    public boolean has(String adapter) {
        return byAdapter.containsKey(adapter);
    }

    /**
     * The 429/503 the last request on this thread was answered with (null: none), and clears it. HAPI's exceptions do
     * not carry response headers, so the client's interceptor keeps {@code Retry-After} here.
     */
    public static Throttle takeThrottle() {
        Throttle t = THROTTLE.get();
        THROTTLE.remove();
        return t;
    }

    private One one(String adapter) {
        One o = byAdapter.get(adapter);
        if (o == null) {
            throw new IllegalArgumentException("no FHIR adapter with a baseUrl of that id");
        }
        return o;
    }

    private One build(AdapterProfile a, Function<String, String> env) {
        SSLContext ssl = ssl(a);
        java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder().sslContext(ssl)
                .connectTimeout(Duration.ofSeconds(10)).followRedirects(java.net.http.HttpClient.Redirect.NORMAL)
                .build();
        FhirAuth auth = FhirAuth.of(a.id, a.fhir.auth, env, http, clock);
        ApacheRestfulClientFactory factory = new ApacheRestfulClientFactory(context());
        factory.setServerValidationMode(ServerValidationModeEnum.NEVER);
        RequestConfig rc = RequestConfig.custom().setConnectTimeout(10_000).setSocketTimeout(120_000)
                .setConnectionRequestTimeout(10_000).build();
        org.apache.http.client.HttpClient nativeClient = HttpClients.custom().setSSLContext(ssl)
                .setDefaultRequestConfig(rc).setMaxConnPerRoute(4).setMaxConnTotal(8).disableCookieManagement().build();
        factory.setHttpClient(nativeClient);
        String base = a.fhir.baseUrl.replaceAll("/+$", "");
        // next links and Bulk Data URLs are absolute: they go by the server's own base, which is this one
        BY_BASE_URL.put(base + "/", nativeClient);
        BY_BASE_URL.put(base + "?", nativeClient);
        IGenericClient client = factory.newGenericClient(base);
        client.registerInterceptor(auth.interceptor());
        client.registerInterceptor(new IClientInterceptor() {
            @Override
            public void interceptRequest(IHttpRequest request) {
                THROTTLE.remove();
            }

            @Override
            public void interceptResponse(IHttpResponse response) {
                int s = response.getStatus();
                if (s == 429 || s == 503) {
                    List<String> h = response.getHeaders("Retry-After");
                    THROTTLE.set(new Throttle(s, h == null || h.isEmpty() ? null : retryAfter(h.get(0))));
                }
            }
        });
        return new One(client, auth, ssl, http);
    }

    /** Retry-After as seconds or an HTTP date; null when neither. */
    Duration retryAfter(String v) {
        String t = v.trim();
        try {
            return Duration.ofSeconds(Math.max(0, Long.parseLong(t)));
        } catch (NumberFormatException e) {
            try {
                Instant at = ZonedDateTime.parse(t, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
                Duration d = Duration.between(clock.instant(), at);
                return d.isNegative() ? Duration.ZERO : d;
            } catch (RuntimeException e2) {
                return null;
            }
        }
    }

    private static SSLContext ssl(AdapterProfile a) {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            if (a.fhir.trustCertificates == null) {
                ctx.init(null, null, null);
                return ctx;
            }
            // trust anchors given directly, not through a KeyStore: with BouncyCastle registered first (the hub's
            // crypto), KeyStore "PKCS12" is BC's, whose certificate entries the JDK's PKIX trust manager does not see
            java.util.Set<java.security.cert.TrustAnchor> anchors = new java.util.HashSet<>();
            try (InputStream in = Files.newInputStream(Path.of(a.fhir.trustCertificates))) {
                for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                    anchors.add(new java.security.cert.TrustAnchor((X509Certificate) c, null));
                }
            }
            java.security.cert.PKIXBuilderParameters params = new java.security.cert.PKIXBuilderParameters(anchors,
                    null);
            params.setRevocationEnabled(false);
            X509TrustManager jvm = trustManager(null);
            TrustManagerFactory pkix = TrustManagerFactory.getInstance("PKIX");
            pkix.init(new javax.net.ssl.CertPathTrustManagerParameters(params));
            X509TrustManager own = (X509TrustManager) java.util.Arrays.stream(pkix.getTrustManagers())
                    .filter(t -> t instanceof X509TrustManager).findFirst().orElseThrow();
            ctx.init(null, new TrustManager[] {new X509TrustManager() {
                @Override
                public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
                    jvm.checkClientTrusted(chain, authType);
                }

                @Override
                public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
                    try {
                        own.checkServerTrusted(chain, authType);
                    } catch (CertificateException e) {
                        jvm.checkServerTrusted(chain, authType);
                    }
                }

                @Override
                public X509Certificate[] getAcceptedIssuers() {
                    List<X509Certificate> all = new ArrayList<>(List.of(jvm.getAcceptedIssuers()));
                    all.addAll(List.of(own.getAcceptedIssuers()));
                    return all.toArray(X509Certificate[]::new);
                }
            }}, null);
            return ctx;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("adapter " + a.id + ": cannot read fhir.trustCertificates ("
                    + e.getClass().getSimpleName() + ")");
        }
    }

    private static X509TrustManager trustManager(KeyStore ks) throws GeneralSecurityException {
        TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        f.init(ks);
        for (TrustManager tm : f.getTrustManagers()) {
            if (tm instanceof X509TrustManager x) {
                return x;
            }
        }
        throw new GeneralSecurityException("no X.509 trust manager");
    }
}
