package io.caravan.ingest.fhir;

import ca.uhn.fhir.parser.DataFormatException;
import io.caravan.contact.SourceMessage;
import io.caravan.ingest.Intake;
import io.caravan.mapping.AdapterProfile;
import io.caravan.mapping.fhir.FhirMappings;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.hl7.fhir.instance.model.api.IBaseResource;

/**
 * One FHIR resource the hub fetched itself (a Bulk Data NDJSON line, a subscription notification's resource) into the
 * same intake step as a POSTed one: read by the {@code fhir} source, committed through {@link Intake}, deduplicated by
 * adapter + type + id + version - so fetching the same thing twice (a resumed download, a resent notification) changes
 * nothing. A type the adapter does not take is passed over without storing anything, as in a POSTed Bundle.
 */
public class FhirResourceIntake {

    /** What became of one resource. */
    public enum Result {
        APPLIED, DUPLICATE, FAILED, PASSED_OVER,
        /** The store did not confirm: the caller must try again (nothing was decided). */
        RESEND
    }

    private final FhirSource source;
    private final Intake intake;

    public FhirResourceIntake(FhirSource source, Intake intake) {
        this.source = source;
        this.intake = intake;
    }

    /** One resource as JSON text (an NDJSON line). A line that is no FHIR resource is stored as failed, for replay. */
    public Result commit(String adapter, String json) throws InterruptedException {
        byte[] raw = (adapter + "\n" + json).getBytes(StandardCharsets.UTF_8);
        Instant now = Instant.now();
        IBaseResource r;
        try {
            r = FhirSource.jsonParser().parseResource(json);
        } catch (DataFormatException | ClassCastException e) {
            return result(intake.commit(FhirSource.KIND, source.read(raw, now), raw, now).outcome());
        }
        return commit(adapter, r, raw, now);
    }

    public Result commit(String adapter, IBaseResource r) throws InterruptedException {
        return commit(adapter, r, FhirSource.raw(adapter, r), Instant.now());
    }

    private Result commit(String adapter, IBaseResource r, byte[] raw, Instant now) throws InterruptedException {
        if (!takes(adapter, FhirMappings.R4.getResourceType(r))) {
            return Result.PASSED_OVER;
        }
        SourceMessage read = source.read(adapter, r, now);
        return result(intake.commit(FhirSource.KIND, read, raw, now).outcome());
    }

    /** Whether the hub takes resources of {@code type} from {@code adapter}. */
    public boolean takes(String adapter, String type) {
        AdapterProfile profile = source.adapter(adapter);
        List<String> taken = profile != null && profile.fhir != null ? profile.fhir.resourceTypes
                : List.copyOf(source.mappings().resourceTypes());
        return taken.contains(type) && source.mappings().resourceTypes().contains(type);
    }

    private static Result result(Intake.Outcome o) {
        return switch (o) {
            case ACCEPTED, IGNORED -> Result.APPLIED;
            case DUPLICATE -> Result.DUPLICATE;
            case FAILED_STORED -> Result.FAILED;
            case UNCONFIRMED, NOT_STORED -> Result.RESEND;
        };
    }
}
