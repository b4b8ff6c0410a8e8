package io.caravan.consent;

import java.util.UUID;

/**
 * Published (a Spring application event) after a one-click unsubscribe's opt-out is recorded, when the link named
 * the message that carried it: the channel counts the unsubscribe against that message, as it counts opens and
 * clicks (a campaign's report, {@code message.unsubscribed} in the streams). The message names its contact. It may
 * come more than once for one message; the channel keeps one.
 */
public record Unsubscribed(String channel, UUID messageId) {
}
