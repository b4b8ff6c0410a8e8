package io.caravan.stream;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.sql.Timestamp;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * The contact's surrogate id per destination (table {@code stream_surrogate}): a random UUID drawn the first time the
 * contact goes to that destination and kept, so the destination sees one stable pseudonym per patient that nothing
 * outside the hub can link back - no hash of an MRN or of the contact id, which anyone holding those could recompute.
 *
 * <p>A surrogate never changes once its row is committed, so committed ones are held in memory (bounded): a stream
 * publishing a run of events reads the table only for contacts it has not seen lately. A surrogate read or drawn inside
 * a transaction is held only once that transaction commits - one rolled back must not leave a pseudonym in memory that
 * the table never kept.
 */
@Component
public class Surrogates {

    static final int CACHE_SIZE = 100_000;

    private record Key(String destination, UUID contactId) {
    }

    private final JdbcTemplate jdbc;
    private final Clock clock;
    private final Cache<Key, UUID> held = Caffeine.newBuilder().maximumSize(CACHE_SIZE).build();

    public Surrogates(JdbcTemplate jdbc, Clock clock) {
        this.jdbc = jdbc;
        this.clock = clock;
    }

    public UUID surrogate(String destination, UUID contactId) {
        return surrogates(destination, List.of(contactId)).get(contactId);
    }

    /**
     * The surrogates of several contacts at one destination: those held in memory, then one query for the rest, then
     * one batch of inserts for the contacts that have none yet.
     */
    public Map<UUID, UUID> surrogates(String destination, Collection<UUID> contactIds) {
        Map<UUID, UUID> out = new HashMap<>();
        List<UUID> missing = new ArrayList<>();
        for (UUID id : new LinkedHashSet<>(contactIds)) {
            UUID s = held.getIfPresent(new Key(destination, id));
            if (s != null) {
                out.put(id, s);
            } else {
                missing.add(id);
            }
        }
        if (missing.isEmpty()) {
            return out;
        }
        Map<UUID, UUID> found = find(destination, missing);
        List<UUID> fresh = new ArrayList<>();
        for (UUID id : missing) {
            if (!found.containsKey(id)) {
                fresh.add(id);
            }
        }
        if (!fresh.isEmpty()) {
            Map<UUID, UUID> drawn = new HashMap<>();
            for (UUID id : fresh) {
                // UUID.randomUUID draws from SecureRandom: 122 random bits, nothing of the contact in them
                drawn.put(id, UUID.randomUUID());
            }
            Timestamp now = Timestamp.from(clock.instant());
            try {
                jdbc.batchUpdate("INSERT INTO stream_surrogate (destination, contact_id, surrogate, created_at)"
                        + " VALUES (?, ?, ?, ?)", fresh.stream().map(id -> new Object[] {destination, id,
                                drawn.get(id), now}).toList());
                found.putAll(drawn);
            } catch (DuplicateKeyException raced) {
                // another writer drew one first: one at a time, keeping whichever committed
                for (UUID id : fresh) {
                    found.put(id, one(destination, id, drawn.get(id), now));
                }
            }
        }
        out.putAll(found);
        hold(destination, found);
        return out;
    }

    private UUID one(String destination, UUID contactId, UUID fresh, Timestamp now) {
        Map<UUID, UUID> at = find(destination, List.of(contactId));
        if (at.containsKey(contactId)) {
            return at.get(contactId);
        }
        try {
            jdbc.update("INSERT INTO stream_surrogate (destination, contact_id, surrogate, created_at)"
                    + " VALUES (?, ?, ?, ?)", destination, contactId, fresh, now);
            return fresh;
        } catch (DuplicateKeyException raced) {
            return find(destination, List.of(contactId)).get(contactId);
        }
    }

    private void hold(String destination, Map<UUID, UUID> surrogates) {
        if (!TransactionSynchronizationManager.isSynchronizationActive()) {
            surrogates.forEach((id, s) -> held.put(new Key(destination, id), s));
            return;
        }
        Map<UUID, UUID> copy = Map.copyOf(surrogates);
        TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {
            @Override
            public void afterCommit() {
                copy.forEach((id, s) -> held.put(new Key(destination, id), s));
            }
        });
    }

    private Map<UUID, UUID> find(String destination, List<UUID> contactIds) {
        Map<UUID, UUID> out = new HashMap<>();
        for (int from = 0; from < contactIds.size(); from += 500) {
            List<UUID> chunk = contactIds.subList(from, Math.min(contactIds.size(), from + 500));
            List<Object> args = new ArrayList<>(chunk.size() + 1);
            args.add(destination);
            args.addAll(chunk);
            jdbc.query("SELECT contact_id, surrogate FROM stream_surrogate WHERE destination = ? AND contact_id IN ("
                    + "?,".repeat(chunk.size() - 1) + "?)", rs -> {
                        out.put(rs.getObject(1, UUID.class), rs.getObject(2, UUID.class));
                    }, args.toArray());
        }
        return out;
    }
}
