package io.caravan.system;

import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.springframework.http.HttpMethod;
import org.springframework.util.AntPathMatcher;

/**
 * Who may call what over HTTP, in one ordered table: the security filter chain is built from it and the API
 * description reads each endpoint's roles from it, so the two cannot drift. The first rule that matches wins.
 *
 * <p>PHI is read by integration (to check a feed) and compliance; consent records, decisions, disclosures and the audit
 * trail belong to compliance; operators see the console and the metrics, which carry no PHI. admin holds every role.
 */
public final class AccessRules {

    /** Who a rule lets in: nobody needs credentials, anyone with credentials, or holders of one of the roles. */
    public enum Kind { PUBLIC, AUTHENTICATED, ROLES }

    /**
     * One row: the HTTP method (null for every method), Ant-style path patterns, who may call, and why.
     */
    public record Rule(HttpMethod method, List<String> patterns, Kind kind, Set<String> roles, String why) {

        boolean matches(HttpMethod m, String path) {
            return (method == null || method.equals(m)) && patterns.stream().anyMatch(p -> PATHS.match(p, path));
        }
    }

    private static final AntPathMatcher PATHS = new AntPathMatcher();

    static final List<Rule> RULES = List.of(
            open(null, "health, for load balancers; it says only UP or DOWN", "/actuator/health",
                    "/actuator/health/liveness", "/actuator/health/readiness"),
            open(null, "the error page Spring forwards to", "/error"),
            open(null, "RFC 8058 one-click unsubscribe: the opaque token is the credential", "/unsubscribe/*"),
            open(null, "engagement pixel and click redirects: opaque sealed tokens, nothing to read", "/t/o/*",
                    "/t/c/*"),
            open(null, "portal pickup: the reader proves who they are with a code and a second factor", "/portal/*",
                    "/portal/*/code"),
            new Rule(null, List.of("/v3/api-docs", "/v3/api-docs/**"), Kind.AUTHENTICATED, Set.of(),
                    "the API description names no patient"),
            roles(HttpMethod.GET, "contacts are PHI", Set.of("INTEGRATION", "COMPLIANCE"), "/api/contacts",
                    "/api/contacts/*"),
            roles(HttpMethod.GET, "a contact's trigger events, to check a feed", Set.of("INTEGRATION"),
                    "/api/contacts/*/events"),
            roles(null, "consent records, decisions, disclosures, keys and the audit trail", Set.of("COMPLIANCE"),
                    "/api/contacts/*/authorizations/**", "/api/contacts/*/consents/**", "/api/contacts/*/opt-outs/**",
                    "/api/contacts/*/consent-records", "/api/contacts/*/decision", "/api/contacts/*/disclosures",
                    "/api/contacts/*/keys/**", "/api/contacts/*/smime-certificate", "/api/contacts/*/pgp-key",
                    "/api/contacts/*/email-suppression",
                    "/api/audit/**", "/api/audit"),
            roles(HttpMethod.POST, "undoing a wrong identity link, audited", Set.of("COMPLIANCE"),
                    "/api/contacts/*/split"),
            roles(HttpMethod.POST, "planning a message", Set.of("INTEGRATION"), "/api/messages"),
            roles(HttpMethod.GET, "inbound messages by metadata (ids, codes, HL7 locations): no PHI",
                    Set.of("INTEGRATION"), "/api/inbound", "/api/inbound/*"),
            roles(HttpMethod.POST, "replaying a failed inbound message through the current mappings, audited",
                    Set.of("INTEGRATION"), "/api/inbound/*/replay"),
            roles(HttpMethod.POST, "HL7 v2 messages over HTTP, answered with the ACK as over MLLP",
                    Set.of("INTEGRATION"), "/api/hl7v2"),
            open(HttpMethod.POST, "FHIR subscription notifications: the EHR proves itself with its adapter's shared"
                    + " secret header, checked by the endpoint", "/fhir/subscriptions/*"),
            roles(HttpMethod.GET, "where each FHIR subscription's event numbers stand: no PHI", Set.of("INTEGRATION"),
                    "/api/fhir/subscriptions/*"),
            roles(HttpMethod.POST, "FHIR R4 resources and Bundles in, answered with OperationOutcomes",
                    Set.of("INTEGRATION"), "/fhir", "/fhir/*"),
            roles(HttpMethod.GET, "what the FHIR endpoint accepts: no PHI", Set.of("INTEGRATION"), "/fhir/metadata"),
            roles(null, "Bulk Data imports from an adapter's FHIR server: ids, counts and times, no PHI",
                    Set.of("INTEGRATION"), "/api/fhir/imports", "/api/fhir/imports/*", "/api/fhir/*/export"),
            roles(HttpMethod.GET, "FHIR adapters' polling status: times, counts, error kinds, no PHI",
                    Set.of("INTEGRATION", "OPERATOR"), "/api/fhir/adapters"),
            roles(HttpMethod.GET, "workflow definitions are configuration, no PHI",
                    Set.of("INTEGRATION", "COMPLIANCE", "OPERATOR"), "/api/workflows", "/api/workflows/*",
                    "/api/workflows/*/report"),
            roles(HttpMethod.GET, "which journeys a patient is in says something about their health: PHI, audited",
                    Set.of("INTEGRATION", "COMPLIANCE"), "/api/contacts/*/journeys"),
            roles(HttpMethod.GET, "a message's template can reveal a condition: PHI", Set.of("INTEGRATION",
                    "COMPLIANCE"), "/api/messages/*", "/api/contacts/*/messages"),
            roles(HttpMethod.GET, "event stream status: counts, times and error codes, no PHI",
                    Set.of("INTEGRATION", "OPERATOR"), "/api/streams"),
            roles(HttpMethod.POST, "sending a destination's events again, audited", Set.of("INTEGRATION"),
                    "/api/streams/*/replay"),
            roles(HttpMethod.GET, "segment definitions and counts: configuration and numbers, no PHI",
                    Set.of("INTEGRATION", "COMPLIANCE", "OPERATOR"), "/api/segments", "/api/segments/*"),
            roles(HttpMethod.POST, "defining a segment, or previewing one (a sample of opaque contact ids)",
                    Set.of("INTEGRATION"), "/api/segments", "/api/segments/preview"),
            roles(HttpMethod.GET, "campaign reports: counts per variant, no PHI",
                    Set.of("INTEGRATION", "COMPLIANCE", "OPERATOR"), "/api/campaigns", "/api/campaigns/*"),
            roles(HttpMethod.POST, "starting, pausing, resuming or cancelling a campaign", Set.of("INTEGRATION"),
                    "/api/campaigns", "/api/campaigns/*/pause", "/api/campaigns/*/resume", "/api/campaigns/*/cancel"),
            roles(HttpMethod.GET, "the cluster's nodes, singletons and subscriber lag: ids, times, counts, no PHI",
                    Set.of("INTEGRATION", "OPERATOR"), "/api/cluster"),
            roles(HttpMethod.GET, "parked contacts per subscriber: ids, positions, counts, error class names, no PHI",
                    Set.of("INTEGRATION", "OPERATOR"), "/api/event-log/parked"),
            roles(HttpMethod.POST, "retrying or skipping a parked contact's failed event, audited",
                    Set.of("INTEGRATION", "OPERATOR"), "/api/event-log/parked/*/*/retry",
                    "/api/event-log/parked/*/*/skip"),
            roles(null, "everything else in the API", Set.of("ADMIN"), "/api/**"),
            roles(null, "the console and the metrics carry no PHI", Set.of("OPERATOR", "INTEGRATION"),
                    "/actuator/prometheus", "/hawtio/**", "/actuator/hawtio/**", "/actuator/jolokia/**"),
            roles(null, "anything not named above", Set.of("ADMIN"), "/**"));

    private AccessRules() {
    }

    /** The rule that decides a request, as the filter chain applies them: the first match. */
    public static Optional<Rule> decide(HttpMethod method, String path) {
        return RULES.stream().filter(r -> r.matches(method, path)).findFirst();
    }

    private static Rule open(HttpMethod method, String why, String... patterns) {
        return new Rule(method, List.of(patterns), Kind.PUBLIC, Set.of(), why);
    }

    private static Rule roles(HttpMethod method, String why, Set<String> roles, String... patterns) {
        return new Rule(method, List.of(patterns), Kind.ROLES, roles, why);
    }
}
