package io.caravan.ingest.fhir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.caravan.mapping.FhirAuthSettings;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAPrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.UUID;
import java.util.function.Function;

/**
 * SMART Backend Services (client credentials with a signed JWT assertion, RS384 or ES384): the access token is
 * fetched on first use, cached, and fetched again {@code refreshBeforeSeconds} (at most half its lifetime) before it
 * expires, so a long poll never runs into an expired token. The assertion lives five minutes (the most the
 * specification allows) and carries a fresh {@code jti} each time.
 */
final class SmartBackendAuth extends FhirAuth {

    static final String ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration ASSERTION_LIFETIME = Duration.ofMinutes(5);

    private final String adapter;
    private final FhirAuthSettings s;
    private final JWSSigner signer;
    private final JWSAlgorithm algorithm;
    private final HttpClient http;
    private final Clock clock;

    private String token;
    private Instant renewAt = Instant.MIN;

    SmartBackendAuth(String adapter, FhirAuthSettings s, Function<String, String> env, HttpClient http, Clock clock) {
        this.adapter = adapter;
        this.s = s;
        this.http = http;
        this.clock = clock;
        this.algorithm = JWSAlgorithm.parse(s.algorithm);
        String key;
        if (s.keyFile != null) {
            try {
                key = Files.readString(Path.of(s.keyFile), StandardCharsets.US_ASCII);
            } catch (IOException e) {
                throw new AuthException("adapter " + adapter + ": cannot read fhir.auth.keyFile");
            }
        } else {
            key = required(adapter, env, s.keyEnv);
        }
        this.signer = signer(key.trim());
    }

    private JWSSigner signer(String key) {
        if (key.contains("-----BEGIN PRIVATE KEY-----")) {
            // PKCS#8 (openssl genpkey's default): an EC key in it usually carries no public point, which nimbus's
            // PEM reader needs; the signers need only the private key
            PrivateKey pk = pkcs8(key);
            if (JWSAlgorithm.RS384.equals(algorithm) && pk instanceof RSAPrivateKey) {
                return new RSASSASigner(pk);
            }
            if (JWSAlgorithm.ES384.equals(algorithm) && pk instanceof ECPrivateKey ec) {
                try {
                    return new ECDSASigner(ec);
                } catch (JOSEException e) {
                    throw new AuthException("adapter " + adapter + ": the SMART private key is not a P-384 EC key");
                }
            }
            throw new AuthException("adapter " + adapter + ": fhir.auth.algorithm " + algorithm + " needs a private "
                    + (JWSAlgorithm.RS384.equals(algorithm) ? "RSA" : "P-384 EC") + " key");
        }
        JWK jwk;
        try {
            jwk = key.startsWith("{") ? JWK.parse(key) : JWK.parseFromPEMEncodedObjects(key);
        } catch (java.text.ParseException | JOSEException | RuntimeException e) {
            throw new AuthException("adapter " + adapter + ": the SMART private key is not a PEM or JWK private key");
        }
        try {
            if (JWSAlgorithm.RS384.equals(algorithm) && jwk instanceof RSAKey rsa && rsa.isPrivate()) {
                return new RSASSASigner(rsa);
            }
            if (JWSAlgorithm.ES384.equals(algorithm) && jwk instanceof ECKey ec && ec.isPrivate()) {
                return new ECDSASigner(ec);
            }
        } catch (JOSEException e) {
            throw new AuthException("adapter " + adapter + ": the SMART private key cannot sign " + algorithm);
        }
        throw new AuthException("adapter " + adapter + ": fhir.auth.algorithm " + algorithm
                + " needs a private " + (JWSAlgorithm.RS384.equals(algorithm) ? "RSA" : "P-384 EC") + " key");
    }

    private PrivateKey pkcs8(String pem) {
        String b64 = pem.replaceAll("-----(BEGIN|END) PRIVATE KEY-----", "").replaceAll("\\s", "");
        byte[] der;
        try {
            der = java.util.Base64.getDecoder().decode(b64);
        } catch (IllegalArgumentException e) {
            throw new AuthException("adapter " + adapter + ": the SMART private key is not valid PEM");
        }
        for (String alg : new String[] {"RSA", "EC"}) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                // try the next
            }
        }
        throw new AuthException("adapter " + adapter + ": the SMART private key is neither RSA nor EC PKCS#8");
    }

    @Override
    public synchronized String authorizationHeader() {
        if (token == null || !clock.instant().isBefore(renewAt)) {
            fetch();
        }
        return "Bearer " + token;
    }

    @Override
    public synchronized void rejected() {
        token = null;
    }

    /** The signed client assertion for one token request. */
    String assertion() {
        Instant now = clock.instant();
        JWTClaimsSet claims = new JWTClaimsSet.Builder().issuer(s.clientId).subject(s.clientId).audience(s.tokenUrl)
                .issueTime(Date.from(now)).expirationTime(Date.from(now.plus(ASSERTION_LIFETIME)))
                .jwtID(UUID.randomUUID().toString()).build();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(algorithm).keyID(s.keyId).type(JOSEObjectType.JWT)
                .build(), claims);
        try {
            jwt.sign(signer);
        } catch (JOSEException e) {
            throw new AuthException("adapter " + adapter + ": signing the SMART client assertion failed");
        }
        return jwt.serialize();
    }

    private void fetch() {
        String form = "grant_type=client_credentials&scope=" + enc(s.scope) + "&client_assertion_type="
                + enc(ASSERTION_TYPE) + "&client_assertion=" + enc(assertion());
        HttpResponse<String> r;
        Instant asked = clock.instant();
        try {
            r = http.send(HttpRequest.newBuilder(URI.create(s.tokenUrl)).timeout(Duration.ofSeconds(30))
                    .header("Content-Type", "application/x-www-form-urlencoded").header("Accept", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(form)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new AuthException("adapter " + adapter + ": the token endpoint cannot be reached ("
                    + e.getClass().getSimpleName() + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AuthException("adapter " + adapter + ": interrupted while asking for a token");
        }
        JsonNode body = null;
        try {
            body = JSON.readTree(r.body());
        } catch (IOException | RuntimeException e) {
            // named below by status
        }
        if (r.statusCode() / 100 != 2 || body == null || !body.path("access_token").isTextual()) {
            // RFC 6749 error codes are fixed words (invalid_client...), safe to name; descriptions are not kept
            String error = body == null ? "" : body.path("error").asText("");
            throw new AuthException("adapter " + adapter + ": the token endpoint answered " + r.statusCode()
                    + (error.matches("[a-z_]{1,40}") ? " " + error : ""));
        }
        long lifetime = body.path("expires_in").asLong(300);
        long margin = Math.min(s.refreshBeforeSeconds == null ? 60 : s.refreshBeforeSeconds, lifetime / 2);
        token = body.get("access_token").asText();
        renewAt = asked.plusSeconds(lifetime - margin);
    }

    private static String enc(String v) {
        return URLEncoder.encode(v, StandardCharsets.UTF_8);
    }
}
