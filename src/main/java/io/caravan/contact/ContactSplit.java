package io.caravan.contact;

import io.caravan.audit.AuditDraft;
import io.caravan.audit.AuditLog;
import io.caravan.crypto.FieldCipher;
import io.caravan.system.Ids;
import io.caravan.system.Problems.Conflict;
import io.caravan.system.Problems.NotFound;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.stereotype.Component;

/**
 * Undoes a wrong link: before identity linked on MRN-type identifiers only, a shared or placeholder SSN made several
 * patients one contact (one record holding their MRNs, the latest registration's demographics). A split gives each
 * MRN named back its own contact: the inbound messages whose first linking identifier is that MRN are mapped again
 * from their sealed raw text and replayed, in the order received, onto a new contact; those messages and their
 * trigger events move with it; the remaining messages rebuild the original contact's demographics. Restrictions and
 * opt-outs stay on the original and are copied to every new contact (whose they were cannot be told, so the most
 * protective reading wins); consent records (authorizations, API opt-outs) stay with the original id. Identifiers that
 * no longer link (SSNs and the like, kept in the index by the old rule) leave the index and the identifier list and
 * become the attribute {@code otherIdentifiers}. One transaction, with an audit entry per contact touched. Each
 * message is read again by the intake source of the kind recorded with it ({@link IntakeSource}).
 */
@Component
public class ContactSplit {

    /** The audit action of a split (on the original and on each new contact). */
    public static final String ACTION = "contact.split";
    private static final HexFormat HEX = HexFormat.of();
    private static final Logger log = LoggerFactory.getLogger(ContactSplit.class);

    private final DataSource dataSource;
    private final FieldCipher cipher;
    private final ContactWriter writer;
    private final ObjectProvider<IntakeSource> sources;
    private final AuditLog audit;
    private final LinkingIdentifiers linkingRule;

    public ContactSplit(DataSource dataSource, FieldCipher cipher, ContactWriter writer,
            ObjectProvider<IntakeSource> sources, AuditLog audit, LinkingIdentifiers linkingRule) {
        this.dataSource = dataSource;
        this.cipher = cipher;
        this.writer = writer;
        this.sources = sources;
        this.audit = audit;
        this.linkingRule = linkingRule;
    }

    /** What a split did: the original contact, and the new contact of each identifier split off. */
    public record Result(UUID contactId, Map<String, UUID> split, int messagesMoved) {
    }

    /**
     * Splits {@code identifiers} (each {@code system|value}) off the contact; when the list is empty, every linking
     * identifier beyond the first of its assigning authority (the original keeps the first it was given).
     */
    public Result split(UUID contactId, List<Identifier> identifiers, String actor, String reason) {
        writer.awaitVisible();
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                Result result = split(c, contactId, identifiers, actor, reason);
                c.commit();
                audit.outboxWritten();
                return result;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new IllegalStateException("contact store unavailable", e);
        }
    }

    private Result split(Connection c, UUID contactId, List<Identifier> asked, String actor, String reason)
            throws SQLException {
        ContactJson.Stored stored;
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT key_id, payload, merged_into FROM contact WHERE id = ? FOR UPDATE")) {
            ps.setObject(1, contactId);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new NotFound("no contact with this id");
                }
                if (rs.getObject(3, UUID.class) != null) {
                    throw new Conflict("this record was merged into another contact: split the surviving contact");
                }
                stored = ContactJson.read(cipher.open(rs.getString(1), rs.getBytes(2), contactId.toString()),
                        ContactJson.Stored.class);
            }
        }
        Contact original = stored.contact();
        // one at a time: the rule's one-per-authority limit is for a message, and this contact holds several
        List<Identifier> linking = original.identifiers.stream().filter(linkingRule::links).toList();
        List<Identifier> toSplit = new ArrayList<>();
        if (asked.isEmpty()) {
            List<String> authorities = new ArrayList<>();
            for (Identifier i : linking) {
                if (authorities.contains(String.valueOf(i.system()))) {
                    toSplit.add(i);
                } else {
                    authorities.add(String.valueOf(i.system()));
                }
            }
        } else {
            for (Identifier a : asked) {
                Identifier held = linking.stream().filter(i -> i.key().equals(a.key())).findFirst()
                        .orElseThrow(() -> new IllegalArgumentException(
                                "identifier: the contact holds no linking identifier with this system and value"));
                toSplit.add(held);
            }
        }
        if (toSplit.size() >= linking.size()) {
            throw new IllegalArgumentException("identifier: at least one linking identifier must stay on the contact");
        }

        Map<String, Contact> created = new LinkedHashMap<>();
        // the watermark each rebuilt record reaches; the original's under the key ""
        Map<String, Instant> asOfs = new HashMap<>();
        for (Identifier i : toSplit) {
            Contact n = new Contact(Ids.next());
            n.identifiers.add(i);
            n.restrictions.addAll(original.restrictions);
            created.put(i.key(), n);
        }
        Contact rebuilt = new Contact(original.id);
        Map<UUID, UUID> moved = new LinkedHashMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT id, key_id, payload, received_at, source_kind"
                + " FROM inbound_message WHERE contact_id = ? AND status = ? ORDER BY received_at, id")) {
            ps.setObject(1, contactId);
            ps.setString(2, InboundMessage.Status.PROCESSED.dbValue());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    UUID messageId = rs.getObject(1, UUID.class);
                    String kind = rs.getString(5);
                    IntakeSource source = IntakeSource.find(sources, kind);
                    if (source == null) {
                        // without it this message's demographics cannot be placed: refuse rather than lose them
                        log.warn("Split of contact {} refused: no intake source of kind {} to read message {} again",
                                contactId, IntakeSource.safe(kind), messageId);
                        throw new Conflict("a message of this contact came from an intake source that is not"
                                + " installed (" + IntakeSource.safe(kind) + "); the contact cannot be split");
                    }
                    ChangeRecord m = source.read(cipher.open(rs.getString(2), rs.getBytes(3), messageId.toString()),
                            rs.getTimestamp(4).toInstant()).change();
                    if (m == null || m.patch().identifiers.isEmpty()) {
                        continue;
                    }
                    String first = m.patch().identifiers.get(0).key();
                    Contact target = created.getOrDefault(first, rebuilt);
                    String asOfKey = created.containsKey(first) ? first : "";
                    if (target != rebuilt) {
                        moved.put(messageId, target.id);
                    }
                    if (m.demographics()) {
                        asOfs.put(asOfKey, ContactUpdates.applyDemographics(target, m.patch(),
                                m.eventTime().toInstant(), asOfs.get(asOfKey)).asOf());
                    }
                }
            }
        }

        // the original: its own messages' demographics, its restrictions and hub-made attributes kept
        Instant now = Instant.now();
        original.name = rebuilt.name;
        original.birthDate = rebuilt.birthDate;
        original.gender = rebuilt.gender;
        original.email = rebuilt.email;
        original.phone = rebuilt.phone;
        original.language = rebuilt.language;
        original.address = rebuilt.address;
        original.attributes.putAll(rebuilt.attributes);
        if (!rebuilt.attributes.containsKey(OtherIdentifiers.ATTRIBUTE)) {
            original.attributes.remove(OtherIdentifiers.ATTRIBUTE);
        }
        rebuilt.restrictions.stream().filter(x -> !original.restrictions.contains(x))
                .forEach(original.restrictions::add);
        List<Identifier> dropped = original.identifiers.stream()
                .filter(i -> linking.stream().noneMatch(l -> l.key().equals(i.key()))).toList();
        original.identifiers.removeIf(i -> toSplit.contains(i) || dropped.contains(i));
        if (!dropped.isEmpty()) {
            List<Identifier> others = new ArrayList<>();
            if (original.attributes.get(OtherIdentifiers.ATTRIBUTE) instanceof List<?> held) {
                for (Object o : held) {
                    if (o instanceof Map<?, ?> m && m.get("value") != null) {
                        others.add(new Identifier((String) m.get("system"), (String) m.get("value"),
                                (String) m.get("type")));
                    }
                }
            }
            dropped.stream().filter(d -> others.stream().noneMatch(o -> o.key().equals(d.key())))
                    .forEach(others::add);
            original.attributes.put(OtherIdentifiers.ATTRIBUTE, OtherIdentifiers.asAttribute(others));
        }
        original.updatedAt = now;
        write(c, "UPDATE contact SET key_id = ?, payload = ?, version = version + 1, updated_at = ? WHERE id = ?",
                original, Objects.requireNonNullElse(asOfs.get(""), stored.asOf()), now, false);
        for (Map.Entry<String, Contact> e : created.entrySet()) {
            Contact n = e.getValue();
            n.updatedAt = now;
            write(c, "INSERT INTO contact (key_id, payload, version, updated_at, id, created_at) VALUES"
                    + " (?, ?, 1, ?, ?, ?)", n, asOfs.get(e.getKey()), now, true);
        }
        try (PreparedStatement ps = c.prepareStatement(
                "UPDATE contact_identifier SET contact_id = ? WHERE blind_index = ?")) {
            for (Contact n : created.values()) {
                ps.setObject(1, n.id);
                ps.setBytes(2, HEX.parseHex(writer.identifierIndex(n.identifiers.get(0))));
                ps.addBatch();
            }
            ps.executeBatch();
        }
        if (!dropped.isEmpty()) {
            try (PreparedStatement ps = c.prepareStatement(
                    "DELETE FROM contact_identifier WHERE blind_index = ? AND contact_id = ?")) {
                for (Identifier i : dropped) {
                    ps.setBytes(1, HEX.parseHex(writer.identifierIndex(i)));
                    ps.setObject(2, contactId);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
        }
        if (!moved.isEmpty()) {
            try (PreparedStatement msg = c.prepareStatement("UPDATE inbound_message SET contact_id = ? WHERE id = ?");
                    PreparedStatement ev = c.prepareStatement(
                            "UPDATE trigger_event SET contact_id = ? WHERE contact_id = ? AND inbound_id = ?")) {
                for (Map.Entry<UUID, UUID> e : moved.entrySet()) {
                    msg.setObject(1, e.getValue());
                    msg.setObject(2, e.getKey());
                    msg.addBatch();
                    ev.setObject(1, e.getValue());
                    ev.setObject(2, contactId);
                    ev.setObject(3, e.getKey());
                    ev.addBatch();
                }
                msg.executeBatch();
                ev.executeBatch();
            }
        }
        List<AuditDraft> entries = new ArrayList<>();
        List<String> newIds = created.values().stream().map(n -> n.id.toString()).toList();
        entries.add(AuditDraft.of(actor, ACTION).contact(contactId).outcome("split")
                .detail("newContacts", newIds).detail("messagesMoved", moved.size())
                .detail("identifiersUnlinked", dropped.size()).detail("reason", reason));
        for (Contact n : created.values()) {
            entries.add(AuditDraft.of(actor, ACTION).contact(n.id).outcome("created")
                    .detail("splitFrom", contactId.toString()).detail("reason", reason));
        }
        audit.writeOutbox(c, entries);
        Map<String, UUID> split = new LinkedHashMap<>();
        created.forEach((k, n) -> split.put(k, n.id));
        return new Result(contactId, split, moved.size());
    }

    private void write(Connection c, String sql, Contact contact, Instant asOf, Instant now, boolean insert)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, cipher.activeKeyId());
            ps.setBytes(2, cipher.seal(ContactJson.write(new ContactJson.Stored(contact, asOf)),
                    contact.id.toString()));
            ps.setTimestamp(3, Timestamp.from(now));
            ps.setObject(4, contact.id);
            if (insert) {
                ps.setTimestamp(5, Timestamp.from(now));
            }
            ps.executeUpdate();
        }
    }

    /** {@code system|value} as the API takes it. */
    public static Identifier parse(String token) {
        int bar = token == null ? -1 : token.indexOf('|');
        if (bar < 0 || bar == token.length() - 1) {
            throw new IllegalArgumentException("identifiers: each must be SYSTEM|VALUE");
        }
        return new Identifier(bar == 0 ? null : token.substring(0, bar), token.substring(bar + 1), null);
    }
}
