package io.caravan.channel;

import io.caravan.contact.TriggerEvent;
import io.caravan.eventlog.EventAppends;
import io.caravan.system.Ids;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * A message's status and engagement as events of its contact in the event log ({@code message.sent}, {@code
 * message.delivered}, {@code message.bounced}, {@code message.opened}, {@code message.clicked}, {@code
 * message.unsubscribed}), for the outbound streams that list them. The change that makes the status and its log
 * entry commit in one transaction: no status without its event, no event of a change rolled back. The event carries
 * the message's id, channel, purpose and template - never its content or address; what a destination gets of it is
 * the stream's business.
 */
@Component
public class MessageEvents {

    private final EventAppends appends;
    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;

    public MessageEvents(EventAppends appends, JdbcTemplate jdbc, TransactionTemplate tx) {
        this.appends = appends;
        this.jdbc = jdbc;
        this.tx = tx;
    }

    /** Whether a stream wants {@code message.<what>} events. */
    public boolean wanted(String what) {
        return appends.wanted(TriggerEvent.MESSAGE_PREFIX + what);
    }

    /**
     * Runs {@code change} (an update of the message that says whether it took effect); when it did and a stream wants
     * {@code message.<what>}, appends that event in the same transaction. Without such a stream it is just the change.
     */
    public boolean logged(UUID messageId, String what, Instant at, BooleanSupplier change) {
        String type = TriggerEvent.MESSAGE_PREFIX + what;
        if (!appends.wanted(type)) {
            return change.getAsBoolean();
        }
        return Boolean.TRUE.equals(tx.execute(st -> {
            if (!change.getAsBoolean()) {
                return false;
            }
            List<Map<String, Object>> rows = jdbc.queryForList("SELECT contact_id, channel, purpose, template"
                    + " FROM outbound_message WHERE id = ?", messageId);
            if (rows.isEmpty()) {
                return true;
            }
            Map<String, Object> row = rows.get(0);
            Map<String, Object> data = new LinkedHashMap<>();
            data.put("message", messageId.toString());
            data.put("channel", row.get("channel"));
            data.put("purpose", row.get("purpose"));
            data.put("template", row.get("template"));
            data.put("status", what);
            UUID contact = row.get("contact_id") instanceof UUID u ? u : UUID.fromString(row.get("contact_id")
                    .toString());
            appends.append(contact, new TriggerEvent(Ids.next(), type, at.atOffset(ZoneOffset.UTC), null, data), at);
            return true;
        }));
    }
}
