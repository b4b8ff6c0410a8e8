package io.caravan.consent;

import io.caravan.mapping.AdapterProfile;
import io.caravan.mapping.MappingCatalog;
import java.util.HashMap;
import java.util.Map;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The policy, loaded and validated once at start-up, and the engine built on it. */
@Configuration(proxyBeanMethods = false)
class ConsentConfig {

    /** Adapters of this kind are queue destinations ({@code queue:<id>}); their BAA status decides the content. */
    static final String QUEUE_KIND = "kafka";
    /** Adapters of this kind are webhook destinations ({@code webhook:<id>}). */
    static final String WEBHOOK_KIND = "webhook";

    @Bean
    DecisionEngine decisionEngine(ConsentProperties props, MappingCatalog catalog) {
        Map<String, String> queues = new HashMap<>();
        Map<String, String> webhooks = new HashMap<>();
        Map<String, java.time.LocalDate> expires = new HashMap<>();
        for (AdapterProfile a : catalog.adapters()) {
            if (QUEUE_KIND.equals(a.kind)) {
                queues.put(a.id, a.baa.status);
            } else if (WEBHOOK_KIND.equals(a.kind)) {
                webhooks.put(a.id, a.baa.status);
            }
            if ((QUEUE_KIND.equals(a.kind) || WEBHOOK_KIND.equals(a.kind)) && a.baa.expires != null
                    && !a.baa.expires.isBlank()) {
                // read here as the stream destinations read it; a malformed date stops the start there
                try {
                    expires.put((QUEUE_KIND.equals(a.kind) ? "queue:" : "webhook:") + a.id,
                            java.time.LocalDate.parse(a.baa.expires));
                } catch (java.time.format.DateTimeParseException e) {
                    // StreamDestinations names the file and the field
                }
            }
        }
        return new DecisionEngine(ConsentPolicy.load(props.policiesDir()), queues, webhooks, expires);
    }
}
