package io.caravan.channel.sms;

import io.caravan.channel.Channel;
import io.caravan.channel.Template;
import io.caravan.contact.Contact;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.springframework.stereotype.Component;

/**
 * SMS as a channel plug-in: templates under {@code config/templates/sms} (PHI-free only), the contact's mobile number
 * as the feed mapped it (E.164, of a type that receives texts), delivered by the {@code deliver-sms} route.
 */
@Component
class SmsChannel implements Channel {

    static final String UNSUBSCRIBED = "unsubscribed";

    private final SmsTemplates templates;
    private final SmsBind bind;
    private final SmsNumberBook book;

    SmsChannel(SmsTemplates templates, SmsBind bind, SmsNumberBook book) {
        this.templates = templates;
        this.bind = bind;
        this.book = book;
    }

    /** A text can tell only one engagement: a STOP counted against it ({@link SmsMo}); nobody opens or clicks one. */
    @Override
    public boolean engaged(UUID messageId, String what) {
        return UNSUBSCRIBED.equals(what) && book.unsubscribedCount(List.of(messageId)) > 0;
    }

    @Override
    public long engagedCount(Collection<UUID> messageIds, String what) {
        return UNSUBSCRIBED.equals(what) && !messageIds.isEmpty() ? book.unsubscribedCount(messageIds) : 0;
    }

    /** Only on the node holding the SMPP bind ({@link SmsBind}); the others' texts wait in the store for it. */
    @Override
    public boolean sendsHere() {
        return bind.held();
    }

    @Override
    public String name() {
        return "sms";
    }

    @Override
    public Optional<Template> template(String name) {
        return templates.get(name).map(t -> new Template(t.name(), t.purpose(), t.content(), t.requires()));
    }

    @Override
    public Optional<String> address(Contact contact) {
        return SmsNumbers.textable(contact.phone);
    }

    /** {@link SmsSender#prepare} waits for the send-time decision's entry after its reads and rendering. */
    @Override
    public boolean awaitsDecision() {
        return true;
    }

    @Override
    public Set<String> contentClasses() {
        return Set.of("phi-free");
    }
}
