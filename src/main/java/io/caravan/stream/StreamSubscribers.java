package io.caravan.stream;

import io.caravan.audit.Disclosures;
import io.caravan.consent.ConsentService;
import io.caravan.contact.ContactStore;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.stereotype.Component;

/**
 * Registers one event-log subscriber per stream destination as a bean, so {@code EventPump} finds it (and creates its
 * cursor at the log's head on the first start with it) exactly as it finds the workflow engine. The destinations come
 * from files, so the beans are registered here rather than declared.
 */
@Component
public class StreamSubscribers {

    private final List<StreamSubscriber> all = new ArrayList<>();

    public StreamSubscribers(StreamDestinations destinations, ContactStore contacts, ConsentService consent,
            Disclosures disclosures, Surrogates surrogates, SafeHarbor harbor, StreamOutbox outbox, MeterRegistry meters,
            Clock clock, ConfigurableListableBeanFactory beans) {
        for (StreamDestination d : destinations.all()) {
            StreamSubscriber s = new StreamSubscriber(d, contacts, consent, disclosures, surrogates, harbor, outbox,
                    meters, clock);
            beans.registerSingleton("streamSubscriber." + d.id(), s);
            all.add(s);
        }
    }

    public List<StreamSubscriber> all() {
        return List.copyOf(all);
    }
}
