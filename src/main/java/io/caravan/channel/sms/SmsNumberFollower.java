package io.caravan.channel.sms;

import io.caravan.contact.Contact;
import io.caravan.contact.ContactStore;
import io.caravan.contact.ContactStore.LoggedEvent;
import io.caravan.contact.TriggerEvent;
import io.caravan.eventlog.EventSubscriber;
import java.util.Optional;
import java.util.UUID;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.stereotype.Component;

/**
 * Keeps the number book's (number, contact) pairs current from the event log (its own cursor, {@code sms-numbers}):
 * an MO text names only the number, and a STOP from a patient the hub has not texted yet must still reach that
 * patient's consent record ({@code ConsentHooks.smsOptOut}, audited) - not only block the number. Every trigger event
 * (a registration, an update, an admission...) reads the contact once and records its textable number; the pair
 * commits on its own, since the send path may record the same pair at the same moment (twice is harmless). Only with
 * an SMSC configured: a hub without SMS pays nothing. A new cursor starts at the log's head, so contacts whose last
 * event came before SMS was turned on are found once their next event arrives, or once they are texted.
 */
@Component
@ConditionalOnProperty(prefix = "caravan.sms", name = "adapter")
class SmsNumberFollower implements EventSubscriber {

    static final String SUBSCRIBER = "sms-numbers";

    private final ContactStore contacts;
    private final SmsNumberBook book;

    SmsNumberFollower(ContactStore contacts, SmsNumberBook book) {
        this.contacts = contacts;
        this.book = book;
    }

    @Override
    public String subscriberName() {
        return SUBSCRIBER;
    }

    /** A run of events in one transaction: most are skipped, and each skipped one cost a commit of its own. */
    @Override
    public boolean batches() {
        return true;
    }

    /** The trigger events of a feed, which may come with a new number; not the hub's own (segments, texts). */
    @Override
    public boolean wants(String type) {
        return TriggerEvent.trigger(type) && !type.startsWith("segment.") && !type.startsWith("sms.");
    }

    @Override
    public void onEvent(LoggedEvent logged) {
        if (!wants(logged.type())) {
            return;
        }
        Optional<UUID> owner = contacts.eventOwner(logged.contactId(), logged.event().id());
        Optional<Contact> c = owner.flatMap(contacts::findForSend);
        c.flatMap(x -> SmsNumbers.textable(x.phone)).ifPresent(number -> book.recordedAt(number, c.get().id));
    }
}
