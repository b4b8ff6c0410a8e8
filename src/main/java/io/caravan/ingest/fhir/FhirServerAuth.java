package io.caravan.ingest.fhir;

import io.caravan.mapping.AdapterProfile;

/**
 * The {@code Authorization} header for raw HTTP calls to an adapter's FHIR server (Bulk Data downloads, a resource read
 * back for an id-only notification), null for none. The adapter's {@code auth} (bearer, basic, SMART Backend Services)
 * provides it; without one the calls go unauthenticated.
 */
@FunctionalInterface
public interface FhirServerAuth {

    FhirServerAuth NONE = adapter -> null;

    String authorization(AdapterProfile adapter);
}
