package io.caravan.consent;

import java.util.UUID;

/**
 * Published (a Spring application event) once an opt-out or a revocation is recorded and durable, so whoever acts
 * for the contact later - a waiting workflow journey - can stop now instead of at its next send.
 *
 * @param contactId the contact (the survivor of a merge)
 * @param purpose   the purpose it limits, or {@code any}
 * @param channel   the channel it limits, or {@code any}
 */
public record ConsentWithdrawn(UUID contactId, String purpose, String channel) {
}
