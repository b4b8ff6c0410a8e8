package io.caravan.stream;

import java.util.List;
import java.util.regex.Pattern;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Outbound event streams (README "Event streams").
 *
 * @param deidentification the Safe Harbor transformer's configuration
 * @param webhook          how webhooks are retried
 */
@ConfigurationProperties("caravan.streams")
public record StreamProperties(Deidentification deidentification, Webhook webhook) {

    public StreamProperties {
        deidentification = deidentification == null ? new Deidentification(null, null) : deidentification;
        webhook = webhook == null ? new Webhook(null, null, null) : webhook;
    }

    /**
     * @param retryInitial     the wait after the first failed attempt; it doubles with each further one
     * @param retryMaxInterval the longest wait between two attempts
     * @param giveUpAfter      how long after it was written an entry is still tried (Standard Webhooks: 3 days)
     */
    public record Webhook(java.time.Duration retryInitial, java.time.Duration retryMaxInterval,
            java.time.Duration giveUpAfter) {

        public Webhook {
            retryInitial = retryInitial == null ? java.time.Duration.ofSeconds(5) : retryInitial;
            retryMaxInterval = retryMaxInterval == null ? java.time.Duration.ofHours(1) : retryMaxInterval;
            giveUpAfter = giveUpAfter == null ? java.time.Duration.ofDays(3) : giveUpAfter;
        }

        /** The wait after {@code attempts} failed attempts: initial × 2^(attempts-1), at most the maximum. */
        public java.time.Duration backoff(int attempts) {
            int doublings = Math.min(Math.max(attempts - 1, 0), 30);
            java.time.Duration d = retryInitial.multipliedBy(1L << doublings);
            return d.compareTo(retryMaxInterval) > 0 ? retryMaxInterval : d;
        }
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
