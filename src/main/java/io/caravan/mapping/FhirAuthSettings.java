package io.caravan.mapping;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * {@code fhir.auth} of a FHIR adapter: how the hub proves itself to the EHR's FHIR server. Secrets never sit in the
 * file: a bearer token, a password or a private key come from environment variables (a key may also be a file).
 */
public final class FhirAuthSettings {

    /** {@code none}, {@code bearer}, {@code basic} or {@code smart-backend}. */
    public String type = "none";

    /** bearer: the environment variable holding the access token. */
    public String tokenEnv;

    /** basic: the user name, or the environment variable holding it; the password from {@code passwordEnv}. */
    public String username;
    public String usernameEnv;
    public String passwordEnv;

    /** smart-backend: the client id registered with the EHR (the assertion's iss and sub). */
    public String clientId;
    /** smart-backend: the token endpoint (the assertion's aud). */
    public String tokenUrl;
    /** smart-backend: the scopes asked for. */
    public String scope = "system/Patient.read system/Appointment.read system/Encounter.read system/Consent.read";
    /** smart-backend: {@code RS384} or {@code ES384}, as SMART Backend Services requires. */
    public String algorithm = "RS384";
    /** smart-backend: the key id ({@code kid}) of the public key the EHR holds (its JWKS). */
    public String keyId;
    /** smart-backend: the private key, PEM (PKCS#8, or a key pair) or a JWK, from a file or an environment variable. */
    public String keyFile;
    public String keyEnv;
    /** smart-backend: a token is renewed this long before it expires (at most half its lifetime). */
    public Integer refreshBeforeSeconds = 60;

    void check(Path f, List<String> problems) {
        if (!Set.of("none", "bearer", "basic", "smart-backend").contains(type)) {
            problems.add(f + ": fhir.auth.type must be none, bearer, basic or smart-backend");
            return;
        }
        switch (type) {
            case "bearer" -> {
                if (tokenEnv == null) {
                    problems.add(f + ": fhir.auth.tokenEnv names the environment variable holding the token");
                }
            }
            case "basic" -> {
                if ((username == null) == (usernameEnv == null) || passwordEnv == null) {
                    problems.add(f + ": fhir.auth basic needs username (or usernameEnv) and passwordEnv");
                }
            }
            case "smart-backend" -> {
                if (clientId == null || tokenUrl == null || keyId == null) {
                    problems.add(f + ": fhir.auth smart-backend needs clientId, tokenUrl and keyId");
                }
                if ((keyFile == null) == (keyEnv == null)) {
                    problems.add(f + ": fhir.auth smart-backend needs one of keyFile and keyEnv");
                }
                if (!Set.of("RS384", "ES384").contains(algorithm)) {
                    problems.add(f + ": fhir.auth.algorithm must be RS384 or ES384 (SMART Backend Services)");
                }
                if (refreshBeforeSeconds == null || refreshBeforeSeconds < 0) {
                    problems.add(f + ": fhir.auth.refreshBeforeSeconds must be 0 or more");
                }
            }
            default -> {
            }
        }
    }
}
