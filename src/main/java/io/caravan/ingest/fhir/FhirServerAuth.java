package io.caravan.ingest.fhir;

import io.caravan.mapping.AdapterProfile;

/**
 * How the hub calls an adapter's FHIR server over plain HTTP (Bulk Data downloads, a resource read back for an id-only
 * notification, $events): the {@code Authorization} header, null for none, and the HTTP client carrying the adapter's
 * TLS trust. The adapter's {@code auth} (bearer, basic, SMART Backend Services) provides them; without it the calls
 * go unauthenticated, with the JVM's trust.
 */
@FunctionalInterface
public interface FhirServerAuth {

    FhirServerAuth NONE = adapter -> null;

    String authorization(AdapterProfile adapter);

    /** The HTTP client to reach the adapter's server with (its TLS trust); null: the JVM's default trust. */
    default java.net.http.HttpClient httpClient(AdapterProfile adapter) {
        return null;
    }
}
