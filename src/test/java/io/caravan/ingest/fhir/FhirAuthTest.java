package io.caravan.ingest.fhir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.uhn.fhir.rest.server.exceptions.AuthenticationException;
import io.caravan.mapping.AdapterProfile;
import io.caravan.mapping.FhirAuthSettings;
import io.caravan.support.MutableClock;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.hl7.fhir.r4.model.Bundle;
import org.jose4j.jws.AlgorithmIdentifiers;
import org.jose4j.jwt.JwtClaims;
import org.jose4j.jwt.consumer.JwtConsumer;
import org.jose4j.jwt.consumer.JwtConsumerBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hub authenticates to an EHR's FHIR server as its adapter says: the server (HAPI, in process) sees the header;
 * for SMART Backend Services a token endpoint checks the client assertion with the registered public key (jose4j, not
 * the library that signed it) and the hub renews the token before it expires.
 */
class FhirAuthTest {

    static TestFhirServer server;
    final MutableClock clock = new MutableClock(Instant.parse("2026-03-01T10:00:00Z"));
    final Map<String, String> env = new HashMap<>();

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        server = new TestFhirServer();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @BeforeEach
    void reset() {
        server.requireAuthorization(null);
        server.tokenEndpoint(null);
        server.clearRequests();
    }

    AdapterProfile adapter(FhirAuthSettings auth) {
        AdapterProfile a = new AdapterProfile();
        a.id = "ehr";
        a.kind = "fhir";
        a.fhir = new AdapterProfile.Fhir();
        a.fhir.baseUrl = server.baseUrl();
        a.fhir.auth = auth;
        return a;
    }

    FhirClients clients(FhirAuthSettings auth) {
        return new FhirClients(List.of(adapter(auth)), env::get, clock);
    }

    static void search(FhirClients c) {
        c.client("ehr").search().forResource("Patient").returnBundle(Bundle.class).execute();
    }

    @Test
    void aBearerTokenFromTheEnvironmentIsSentAndAWrongOneRefused() {
        FhirAuthSettings s = new FhirAuthSettings();
        s.type = "bearer";
        s.tokenEnv = "EHR_TOKEN";
        env.put("EHR_TOKEN", "t0ken-from-env");
        server.requireAuthorization("Bearer t0ken-from-env");
        search(clients(s));
        assertThat(server.requests()).extracting(TestFhirServer.Request::status).containsExactly(200);

        env.put("EHR_TOKEN", "another");
        assertThatThrownBy(() -> search(clients(s))).isInstanceOf(AuthenticationException.class);
    }

    @Test
    void basicAuthSendsTheUserAndThePasswordFromTheEnvironment() {
        FhirAuthSettings s = new FhirAuthSettings();
        s.type = "basic";
        s.username = "caravan";
        s.passwordEnv = "EHR_PASSWORD";
        env.put("EHR_PASSWORD", "s3cret");
        server.requireAuthorization("Basic " + Base64.getEncoder().encodeToString("caravan:s3cret".getBytes()));
        search(clients(s));
        assertThat(server.requests()).extracting(TestFhirServer.Request::status).containsExactly(200);
    }

    @Test
    void aMissingSecretStopsTheClientWithTheVariableNamedNotItsValue() {
        FhirAuthSettings s = new FhirAuthSettings();
        s.type = "bearer";
        s.tokenEnv = "NOT_SET_ANYWHERE";
        assertThatThrownBy(() -> clients(s)).isInstanceOf(FhirAuth.AuthException.class)
                .hasMessageContaining("NOT_SET_ANYWHERE");
    }

    /** A token endpoint as an EHR runs it: the assertion verified with the key registered for the client. */
    final class TokenEndpoint {
        final PublicKey key;
        final String alg;
        final int expiresIn;
        final List<String> jtis = new ArrayList<>();
        final List<String> problems = new ArrayList<>();
        final AtomicInteger issued = new AtomicInteger();
        volatile String current;

        TokenEndpoint(PublicKey key, String alg, int expiresIn) {
            this.key = key;
            this.alg = alg;
            this.expiresIn = expiresIn;
        }

        String[] answer(jakarta.servlet.http.HttpServletRequest req) {
            try {
                Map<String, String> form = new HashMap<>();
                for (String kv : new String(req.getInputStream().readAllBytes(), StandardCharsets.UTF_8).split("&")) {
                    String[] p = kv.split("=", 2);
                    form.put(p[0], URLDecoder.decode(p[1], StandardCharsets.UTF_8));
                }
                if (!"client_credentials".equals(form.get("grant_type")) || !SmartBackendAuth.ASSERTION_TYPE
                        .equals(form.get("client_assertion_type"))) {
                    problems.add("grant " + form);
                    return new String[] {"400", "{\"error\":\"invalid_request\"}"};
                }
                // the verifier's clock is the test's: exp is checked against the time the hub signed at
                JwtConsumer consumer = new JwtConsumerBuilder().setVerificationKey(key)
                        .setJwsAlgorithmConstraints(org.jose4j.jwa.AlgorithmConstraints.ConstraintType.PERMIT, alg)
                        .setExpectedAudience(server.tokenUrl()).setExpectedIssuer("caravan-client")
                        .setExpectedSubject("caravan-client").setRequireExpirationTime().setRequireJwtId()
                        .setEvaluationTime(org.jose4j.jwt.NumericDate.fromMilliseconds(clock.instant().toEpochMilli()))
                        .setMaxFutureValidityInMinutes(5).build();
                JwtClaims claims = consumer.processToClaims(form.get("client_assertion"));
                jtis.add(claims.getJwtId());
                current = "tok-" + issued.incrementAndGet();
                server.requireAuthorization("Bearer " + current);
                return new String[] {"200", "{\"access_token\":\"" + current + "\",\"token_type\":\"bearer\","
                        + "\"expires_in\":" + expiresIn + ",\"scope\":\"system/Patient.read\"}"};
            } catch (Exception e) {
                problems.add(e.toString());
                return new String[] {"401", "{\"error\":\"invalid_client\"}"};
            }
        }
    }

    FhirAuthSettings smart(String alg, Path keyFile) {
        FhirAuthSettings s = new FhirAuthSettings();
        s.type = "smart-backend";
        s.clientId = "caravan-client";
        s.tokenUrl = server.tokenUrl();
        s.keyId = "key-1";
        s.algorithm = alg;
        s.keyFile = keyFile.toString();
        return s;
    }

    Path pem(KeyPair kp) throws Exception {
        Path f = dir.resolve("key.pem");
        Files.writeString(f, "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder(64, "\n".getBytes())
                .encodeToString(kp.getPrivate().getEncoded()) + "\n-----END PRIVATE KEY-----\n");
        return f;
    }

    @Test
    void smartBackendRs384TokenIsFetchedWithAVerifiedAssertionCachedAndRenewedBeforeItExpires() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        KeyPair kp = g.generateKeyPair();
        TokenEndpoint te = new TokenEndpoint(kp.getPublic(), AlgorithmIdentifiers.RSA_USING_SHA384, 300);
        server.tokenEndpoint(te::answer);
        server.requireAuthorization("Bearer none-yet");
        FhirClients c = clients(smart("RS384", pem(kp)));

        search(c);
        search(c);
        assertThat(te.problems).isEmpty();
        assertThat(te.issued).as("one token for both searches").hasValue(1);

        clock.now = clock.now.plusSeconds(300 - 61);
        search(c);
        assertThat(te.issued).as("still valid for more than the margin").hasValue(1);
        clock.now = clock.now.plusSeconds(2);
        search(c);
        assertThat(te.issued).as("renewed 60 s before it expires").hasValue(2);
        assertThat(te.jtis).doesNotHaveDuplicates().hasSize(2);
        assertThat(te.problems).isEmpty();
        assertThat(server.requests()).extracting(TestFhirServer.Request::status).containsOnly(200);
        assertThat(server.requests().get(3).authorization()).isEqualTo("Bearer tok-2");
    }

    @Test
    void smartBackendEs384TokenAndAShortLivedTokenRenewedAtHalfItsLifetime() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp384r1"));
        KeyPair kp = g.generateKeyPair();
        TokenEndpoint te = new TokenEndpoint(kp.getPublic(), AlgorithmIdentifiers.ECDSA_USING_P384_CURVE_AND_SHA384,
                10);
        server.tokenEndpoint(te::answer);
        env.put("SMART_KEY", Files.readString(pem(kp)));
        FhirAuthSettings s = smart("ES384", pem(kp));
        s.keyFile = null;
        s.keyEnv = "SMART_KEY";
        FhirClients c = clients(s);
        search(c);
        clock.now = clock.now.plusSeconds(4);
        search(c);
        assertThat(te.issued).hasValue(1);
        clock.now = clock.now.plusSeconds(2);
        search(c);
        assertThat(te.issued).hasValue(2);
        assertThat(te.problems).isEmpty();
    }

    @Test
    void anAssertionSignedWithAnotherKeyIsRefusedAndTheErrorNamesOnlyTheStatus() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        KeyPair registered = g.generateKeyPair();
        KeyPair other = g.generateKeyPair();
        TokenEndpoint te = new TokenEndpoint(registered.getPublic(), AlgorithmIdentifiers.RSA_USING_SHA384, 300);
        server.tokenEndpoint(te::answer);
        FhirClients c = clients(smart("RS384", pem(other)));
        assertThatThrownBy(() -> search(c)).hasStackTraceContaining("the token endpoint answered 401 invalid_client");
        assertThat(te.problems).hasSize(1);
    }

    @Test
    void anHttpsServerIsTrustedThroughTheAdaptersCertificatesAndNotWithoutThem() {
        try (TestFhirServer tls = new TestFhirServer(true)) {
            AdapterProfile a = adapter(new FhirAuthSettings());
            a.fhir.baseUrl = tls.baseUrl();
            assertThatThrownBy(() -> search(new FhirClients(List.of(a), env::get, clock)))
                    .as("a private CA is not trusted by default")
                    .isInstanceOf(ca.uhn.fhir.rest.client.exceptions.FhirClientConnectionException.class);
            a.fhir.trustCertificates = tls.certificatePem().toString();
            search(new FhirClients(List.of(a), env::get, clock));
            assertThat(tls.requests()).extracting(TestFhirServer.Request::status).containsExactly(200);
        }
    }
}
