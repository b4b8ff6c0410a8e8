package io.caravan.stream;

import java.sql.Timestamp;
import java.time.Clock;
import java.util.List;
import java.util.UUID;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * The contact's surrogate id per destination (table {@code stream_surrogate}): a random UUID drawn the first time the
 * contact goes to that destination and kept, so the destination sees one stable pseudonym per patient that nothing
 * outside the hub can link back - no hash of an MRN or of the contact id, which anyone holding those could recompute.
 */
@Component
public class Surrogates {

    private final JdbcTemplate jdbc;
    private final Clock clock;

    public Surrogates(JdbcTemplate jdbc, Clock clock) {
        this.jdbc = jdbc;
        this.clock = clock;
    }

    public UUID surrogate(String destination, UUID contactId) {
        UUID held = find(destination, contactId);
        if (held != null) {
            return held;
        }
        // UUID.randomUUID draws from SecureRandom: 122 random bits, nothing of the contact in them
        UUID fresh = UUID.randomUUID();
        try {
            jdbc.update("INSERT INTO stream_surrogate (destination, contact_id, surrogate, created_at)"
                    + " VALUES (?, ?, ?, ?)", destination, contactId, fresh, Timestamp.from(clock.instant()));
            return fresh;
        } catch (DuplicateKeyException raced) {
            return find(destination, contactId);
        }
    }

    private UUID find(String destination, UUID contactId) {
        List<UUID> at = jdbc.queryForList("SELECT surrogate FROM stream_surrogate WHERE destination = ?"
                + " AND contact_id = ?", UUID.class, destination, contactId);
        return at.isEmpty() ? null : at.get(0);
    }
}
