package io.caravan.stream;

import io.caravan.mapping.AdapterProfile;
import java.net.URI;
import java.time.LocalDate;
import java.util.List;
import java.util.Set;
import org.springframework.expression.Expression;

/**
 * One outbound stream destination, from an {@code adapters/<id>.yaml} of kind {@code webhook} or {@code kafka},
 * checked.
 *
 * @param channel    the gate's name for it: {@code webhook:<id>} or {@code queue:<id>}
 * @param baaStatus  {@code signed}, {@code pending}, {@code none} or {@code not-applicable}
 * @param baaExpires the day the BAA ends (null: no end date); after it the destination counts as without a BAA
 * @param filter     the compiled condition, or null
 */
public record StreamDestination(String id, String kind, String channel, String purpose, Set<String> events,
        Expression filter, List<String> fields, String baaStatus, LocalDate baaExpires, AdapterProfile.Webhook webhook,
        AdapterProfile.Kafka kafka) {

    public static final String WEBHOOK = "webhook";
    public static final String KAFKA = "kafka";

    /** The event-log subscriber's name (its cursor). */
    public String subscriberName() {
        return "stream:" + id;
    }

    /**
     * Whether the destination may receive PHI today: a signed BAA that has not expired. An expired BAA counts as none
     * (the business associate's obligations ended with it), so the destination falls back to the de-identified form.
     */
    public boolean baaInForce(LocalDate today) {
        boolean signed = "signed".equals(baaStatus) || "not-applicable".equals(baaStatus);
        return signed && (baaExpires == null || !today.isAfter(baaExpires));
    }

    /** A webhook URL must be https, except to the machine itself (a local relay or a test receiver). */
    static boolean urlAllowed(URI u) {
        if ("https".equals(u.getScheme())) {
            return u.getHost() != null;
        }
        String h = u.getHost();
        return "http".equals(u.getScheme()) && h != null
                && (h.equals("127.0.0.1") || h.equals("localhost") || h.equals("[::1]"));
    }
}
