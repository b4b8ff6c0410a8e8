package io.caravan.stream;

import java.util.List;
import java.util.regex.Pattern;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Outbound event streams (README "Event streams").
 *
 * @param deidentification the Safe Harbor transformer's configuration
 */
@ConfigurationProperties("caravan.streams")
public record StreamProperties(Deidentification deidentification) {

    public StreamProperties {
        deidentification = deidentification == null ? new Deidentification(null, null) : deidentification;
    }

    /**
     * @param zip3ListVersion the census the restricted list comes from; it travels in every de-identified payload
     * @param restrictedZip3  three-digit ZIPs with 20,000 people or fewer, sent as {@code 000}
     */
    public record Deidentification(String zip3ListVersion, List<String> restrictedZip3) {

        private static final Pattern ZIP3 = Pattern.compile("\\d{3}");

        public Deidentification {
            SafeHarbor.Zip3List census2010 = SafeHarbor.Zip3List.census2010();
            if (restrictedZip3 == null) {
                if (zip3ListVersion != null && !census2010.version().equals(zip3ListVersion)) {
                    throw new IllegalArgumentException("caravan.streams.deidentification.restricted-zip3 is required"
                            + " with a zip3-list-version other than " + census2010.version());
                }
                zip3ListVersion = census2010.version();
                restrictedZip3 = List.copyOf(census2010.restricted());
            } else if (zip3ListVersion == null || zip3ListVersion.isBlank()) {
                // a list without its census cannot be audited later
                throw new IllegalArgumentException("caravan.streams.deidentification.zip3-list-version is required"
                        + " with restricted-zip3");
            }
            for (String z : restrictedZip3) {
                if (z == null || !ZIP3.matcher(z).matches()) {
                    throw new IllegalArgumentException("caravan.streams.deidentification.restricted-zip3: " + z
                            + " is not three digits");
                }
            }
        }

        public SafeHarbor.Zip3List zip3List() {
            return new SafeHarbor.Zip3List(zip3ListVersion, java.util.Set.copyOf(restrictedZip3));
        }
    }
}
