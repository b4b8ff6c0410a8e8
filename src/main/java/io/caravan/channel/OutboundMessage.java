package io.caravan.channel;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * A message as the status API shows it.
 *
 * @param status     {@link MessageStatus}: {@code planned} (accepted, waiting to be sent), {@code blocked} (the gate or the protection
 *                   policy stopped it: see reasons), {@code deferred} (the relay refused for now or the connection
 *                   broke: retried with backoff), {@code sent} (handed over, protected as {@code protection}),
 *                   {@code delivered} (a delivery status notification said so), {@code bounced} (refused for good;
 *                   the address is suppressed when the refusal was about its mailbox), for SMS
 *                   {@code undeliverable} / {@code expired} (a delivery receipt, or the SMSC refusing the number),
 *                   then {@code opened} / {@code clicked} when the reader did (machines do not count),
 *                   {@code failed} (retries used up, or an error)
 * @param protection {@code smime}, {@code pgp}, {@code tls}, {@code portal}, or {@code none} (PHI-free content only)
 * @param reasons    rule ids and codes, never values
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record OutboundMessage(UUID id, UUID contactId, String channel, String purpose, String template,
        MessageStatus status, String protection, List<String> reasons, Instant createdAt, Instant updatedAt) {
}
