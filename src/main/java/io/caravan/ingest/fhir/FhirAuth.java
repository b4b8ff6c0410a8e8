package io.caravan.ingest.fhir;

import ca.uhn.fhir.rest.client.api.IClientInterceptor;
import ca.uhn.fhir.rest.client.api.IHttpRequest;
import ca.uhn.fhir.rest.client.api.IHttpResponse;
import io.caravan.mapping.FhirAuthSettings;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.Base64;
import java.util.function.Function;

/**
 * How the hub authenticates to one FHIR adapter's server: {@code none}, {@code bearer} (a token from an environment
 * variable), {@code basic}, or {@code smart-backend} (SMART Backend Services: a signed JWT assertion exchanged for an
 * access token, cached and renewed before it expires). One instance per adapter, thread-safe. Usable for HAPI's
 * client ({@link #interceptor()}) and for plain HTTP calls ({@link #authorizationHeader()}), e.g. Bulk Data
 * downloads.
 */
public abstract class FhirAuth {

    /** Authentication failed or could not be attempted; the message names the adapter's setting, never a secret. */
    public static final class AuthException extends RuntimeException {
        public AuthException(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * The value of the {@code Authorization} header for the next request, or null when the adapter sends none. A
     * SMART token is fetched here when there is none or it is about to expire (a blocking call to the token endpoint).
     */
    public abstract String authorizationHeader();

    /** The server answered 401: a cached token is dropped so the next request gets a new one. */
    public void rejected() {
    }

    /** The auth as a HAPI client interceptor: the header on every request; a 401 drops a cached token. */
    public IClientInterceptor interceptor() {
        return new IClientInterceptor() {
            @Override
            public void interceptRequest(IHttpRequest request) {
                String h = authorizationHeader();
                if (h != null) {
                    request.removeHeaders("Authorization");
                    request.addHeader("Authorization", h);
                }
            }

            @Override
            public void interceptResponse(IHttpResponse response) {
                if (response.getStatus() == 401) {
                    rejected();
                }
            }
        };
    }

    /**
     * The auth of an adapter.
     *
     * @param adapter the adapter id (named in errors)
     * @param env     environment variables (Spring's Environment in the hub, so tests can set them as properties)
     * @param http    the client for the token endpoint, trusting what the adapter trusts
     */
    public static FhirAuth of(String adapter, FhirAuthSettings s, Function<String, String> env, HttpClient http,
            Clock clock) {
        String type = s == null ? "none" : s.type;
        return switch (type) {
            case "none" -> new FhirAuth() {
                @Override
                public String authorizationHeader() {
                    return null;
                }
            };
            case "bearer" -> {
                required(adapter, env, s.tokenEnv);
                // read at each request: a token rotated in the environment of a running process is not seen, but one
                // set for a restart is; no copy kept beyond the environment's own
                yield new FhirAuth() {
                    @Override
                    public String authorizationHeader() {
                        return "Bearer " + required(adapter, env, s.tokenEnv);
                    }
                };
            }
            case "basic" -> {
                String user = s.username != null ? s.username : required(adapter, env, s.usernameEnv);
                String password = required(adapter, env, s.passwordEnv);
                String header = "Basic " + Base64.getEncoder().encodeToString((user + ":" + password)
                        .getBytes(StandardCharsets.UTF_8));
                yield new FhirAuth() {
                    @Override
                    public String authorizationHeader() {
                        return header;
                    }
                };
            }
            case "smart-backend" -> new SmartBackendAuth(adapter, s, env, http, clock);
            default -> throw new AuthException("adapter " + adapter + ": unknown fhir.auth.type");
        };
    }

    static String required(String adapter, Function<String, String> env, String name) {
        String v = name == null ? null : env.apply(name);
        if (v == null || v.isBlank()) {
            throw new AuthException("adapter " + adapter + ": environment variable " + name + " is not set");
        }
        return v;
    }
}
