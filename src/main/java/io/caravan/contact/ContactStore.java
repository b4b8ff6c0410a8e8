package io.caravan.contact;

import io.caravan.crypto.FieldCipher;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Repository;

/** Reads contacts and their events, decrypting them. Writes go through {@link ContactWriter}. */
@Repository
public class ContactStore {

    private static final int MAX_MERGE_HOPS = 16;

    private final JdbcTemplate jdbc;
    private final FieldCipher cipher;
    private final ContactWriter writer;

    public ContactStore(JdbcTemplate jdbc, FieldCipher cipher, ContactWriter writer) {
        this.jdbc = jdbc;
        this.cipher = cipher;
        this.writer = writer;
    }

    public Optional<Contact> findByIdentifier(String system, String value) {
        writer.awaitVisible();
        String idx = writer.identifierIndex(new Identifier(system, value, null));
        List<UUID> ids = jdbc.queryForList("SELECT contact_id FROM contact_identifier WHERE blind_index = ?",
                UUID.class, (Object) java.util.HexFormat.of().parseHex(idx));
        return ids.isEmpty() ? Optional.empty() : findById(ids.get(0));
    }

    /** The contact, or — for a record merged into another — the surviving contact. */
    public Optional<Contact> findById(UUID id) {
        writer.awaitVisible();
        UUID current = id;
        for (int hop = 0; hop < MAX_MERGE_HOPS; hop++) {
            UUID lookup = current;
            List<Object[]> rows = jdbc.query("SELECT key_id, payload, merged_into FROM contact WHERE id = ?",
                    (rs, n) -> new Object[] {rs.getString(1), rs.getBytes(2), rs.getObject(3, UUID.class)}, lookup);
            if (rows.isEmpty()) {
                return Optional.empty();
            }
            Object[] row = rows.get(0);
            if (row[2] != null) {
                current = (UUID) row[2];
                continue;
            }
            ContactJson.Stored s = ContactJson.read(cipher.open((String) row[0], (byte[]) row[1], lookup.toString()),
                    ContactJson.Stored.class);
            return Optional.of(s.contact());
        }
        return Optional.empty();
    }

    /**
     * The contact's id and those of every record merged into it (directly or through earlier merges): the records
     * whose audit entries and disclosures are the survivor's too. Empty when there is no such contact. Follows merges
     * from a merged-away id to the survivor first. Read rarely (the compliance API), so merged_into has no index: a
     * scan per level of merges, rather than an index paid on every group commit.
     */
    public List<UUID> withMerged(UUID id) {
        Optional<Contact> survivor = findById(id);
        if (survivor.isEmpty()) {
            return List.of();
        }
        List<UUID> out = new ArrayList<>(List.of(survivor.get().id));
        List<UUID> level = List.of(survivor.get().id);
        for (int hop = 0; hop < MAX_MERGE_HOPS && !level.isEmpty(); hop++) {
            String in = "(" + "?,".repeat(level.size() - 1) + "?)";
            level = jdbc.queryForList("SELECT id FROM contact WHERE merged_into IN " + in, UUID.class,
                    level.toArray());
            level = level.stream().filter(u -> !out.contains(u)).toList();
            out.addAll(level);
        }
        return out;
    }

    /** Trigger events of a contact (including those of records merged into it), oldest first. */
    public List<TriggerEvent> events(UUID contactId) {
        writer.awaitVisible();
        List<TriggerEvent> out = new ArrayList<>();
        jdbc.query("SELECT id, key_id, payload FROM trigger_event WHERE contact_id = ? ORDER BY id", rs -> {
            UUID id = rs.getObject(1, UUID.class);
            out.add(ContactJson.read(cipher.open(rs.getString(2), rs.getBytes(3), id.toString()), TriggerEvent.class));
        }, contactId);
        out.sort(Comparator.comparing(TriggerEvent::occurredAt, Comparator.nullsLast(Comparator.naturalOrder())));
        return out;
    }

    /** Seals an event for storage; called by the receiving thread so the writer only commits. */
    public static byte[] sealEvent(FieldCipher cipher, TriggerEvent event) {
        return cipher.seal(ContactJson.write(event), event.id().toString());
    }
}
