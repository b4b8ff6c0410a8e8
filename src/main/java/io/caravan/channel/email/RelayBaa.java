package io.caravan.channel.email;

import java.time.LocalDate;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The email relay's Business Associate Agreement in time: the adapter's {@code baa.expires} is the last day it is in
 * force. After it the relay is a business associate without an agreement, and no message goes to it - the messages
 * wait in the store (reason {@value #EXPIRED}) until the adapter names an agreement in force again. The hub keeps
 * running meanwhile: its feeds are not the relay's to stop.
 *
 * @param relay the relay adapter's id (null: no relay, the outbox or direct delivery)
 * @param ends  the agreement's last day (null: no end date)
 */
record RelayBaa(String relay, LocalDate ends) {

    private static final Logger log = LoggerFactory.getLogger(RelayBaa.class);
    static final String EXPIRED = "relay-baa-expired";
    static final RelayBaa NONE = new RelayBaa(null, null);

    /** The operator hears of it once a day per relay while it lasts (nothing of any message in the line). */
    private static final ConcurrentHashMap<String, LocalDate> told = new ConcurrentHashMap<>();

    /** From the adapter's {@code baa.expires}; a value that is not a date refuses the start, naming the form. */
    static RelayBaa of(String relay, String expires) {
        if (expires == null || expires.isBlank()) {
            return new RelayBaa(relay, null);
        }
        try {
            return new RelayBaa(relay, LocalDate.parse(expires.trim()));
        } catch (java.time.format.DateTimeParseException e) {
            throw new IllegalStateException("caravan.email.relay: adapter " + relay
                    + " baa.expires must be a date (YYYY-MM-DD)", null);
        }
    }

    /** Why no message may go to the relay on {@code today} (UTC), or empty when its agreement is in force. */
    Optional<String> closed(LocalDate today) {
        if (ends == null || !today.isAfter(ends)) {
            return Optional.empty();
        }
        if (!today.equals(told.put(relay, today))) {
            log.error("Email relay {}: its BAA ended on {}; email waits in the store (deferred, {}) until the"
                    + " adapter's baa names an agreement in force", relay, ends, EXPIRED);
        }
        return Optional.of(EXPIRED);
    }
}
