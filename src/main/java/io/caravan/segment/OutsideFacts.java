package io.caravan.segment;

import io.caravan.channel.Messages;
import io.caravan.consent.ConsentStore;
import io.caravan.workflow.JourneyMembers;
import io.caravan.workflow.JourneyStatus;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.stereotype.Component;

/**
 * Journey state and engagement for segments, asked of their owners (the workflow engine, the channels, the consent
 * store) once per evaluation and per name: a set of contact ids each, not a query per contact.
 */
@Component
class OutsideFacts implements SegmentFacts.Outside {

    private final JourneyMembers journeys;
    private final Messages messages;
    private final ConsentStore consents;

    OutsideFacts(JourneyMembers journeys, Messages messages, ConsentStore consents) {
        this.journeys = journeys;
        this.messages = messages;
        this.consents = consents;
    }

    @Override
    public SegmentFacts.Outside fresh() {
        Map<String, Set<UUID>> read = new ConcurrentHashMap<>();
        return new SegmentFacts.Outside() {
            @Override
            public boolean inJourney(UUID contact, String workflow, String status) {
                return read.computeIfAbsent("journey:" + workflow + ":" + status,
                        k -> journeys.contacts(workflow, JourneyStatus.of(status))).contains(contact);
            }

            @Override
            public boolean engaged(UUID contact, String what) {
                return read.computeIfAbsent("engaged:" + what, k -> "unsubscribed".equals(what) ? consents.optedOut()
                        : messages.engagedContacts(what)).contains(contact);
            }
        };
    }

    @Override
    public boolean inJourney(UUID contact, String workflow, String status) {
        return fresh().inJourney(contact, workflow, status);
    }

    @Override
    public boolean engaged(UUID contact, String what) {
        return fresh().engaged(contact, what);
    }
}
