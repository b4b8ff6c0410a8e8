package io.caravan.contact;

import io.caravan.crypto.FieldCipher;
import io.caravan.mapping.MappedMessage;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * The one writer of contacts, identifiers, events and inbound messages: group commit.
 *
 * <p>Receiving threads submit fully prepared messages and wait; this thread takes whatever has queued up (one message
 * on an idle hub, dozens under load), reconciles them against the store in a handful of set-based statements, and
 * commits them in one transaction. Each submitter's future completes only after that commit, so an ACK never precedes
 * durability, and the dedupe key is committed with the data it guards. A batch that fails is retried one message at a
 * time so one bad message cannot fail its neighbours.
 */
@Component
public class ContactWriter implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(ContactWriter.class);
    private static final int MAX_BATCH = 256;
    private static final int IN_CHUNK = 200;
    static final String IDENTIFIER_DOMAIN = "identifier";

    /** What happened to a submitted message. */
    public enum Outcome { PROCESSED, DUPLICATE, IGNORED, FAILED_STORED }

    private record Pending(InboundMessage message, CompletableFuture<Outcome> done) {
    }

    private final DataSource dataSource;
    private final FieldCipher cipher;
    private final BlockingQueue<Pending> queue = new LinkedBlockingQueue<>(10_000);
    private volatile boolean running;
    private Thread thread;

    public ContactWriter(DataSource dataSource, FieldCipher cipher) {
        this.dataSource = dataSource;
        this.cipher = cipher;
    }

    /** Queues a message; the future completes once it is committed (or known to be a duplicate). */
    public CompletableFuture<Outcome> submit(InboundMessage message) {
        CompletableFuture<Outcome> f = new CompletableFuture<>();
        if (!running) {
            f.completeExceptionally(new IllegalStateException("contact writer is not running"));
            return f;
        }
        try {
            if (!queue.offer(new Pending(message, f), 5, TimeUnit.SECONDS)) {
                f.completeExceptionally(new IllegalStateException("store is overloaded"));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            f.completeExceptionally(e);
        }
        return f;
    }

    public String identifierIndex(Identifier id) {
        return cipher.blindIndex(IDENTIFIER_DOMAIN, id.key());
    }

    private void loop() {
        List<Pending> batch = new ArrayList<>(MAX_BATCH);
        while (running || !queue.isEmpty()) {
            try {
                Pending first = queue.poll(200, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                queue.drainTo(batch, MAX_BATCH - 1);
                commit(batch);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (RuntimeException e) {
                log.error("Contact writer failed a batch of {} ({})", batch.size(), e.getClass().getSimpleName());
                batch.forEach(p -> p.done.completeExceptionally(e));
            } finally {
                batch.clear();
            }
        }
        Pending p;
        while ((p = queue.poll()) != null) {
            p.done.completeExceptionally(new IllegalStateException("hub is shutting down"));
        }
    }

    private void commit(List<Pending> batch) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                List<Outcome> outcomes = apply(c, batch);
                c.commit();
                for (int i = 0; i < batch.size(); i++) {
                    batch.get(i).done.complete(outcomes.get(i));
                }
                return;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                if (batch.size() == 1) {
                    log.warn("Store rejected a message ({}: {})", e.getClass().getSimpleName(), safe(e));
                    batch.get(0).done.completeExceptionally(e);
                    return;
                }
            }
        } catch (SQLException e) {
            log.error("Store unavailable ({})", safe(e));
            batch.forEach(p -> p.done.completeExceptionally(e));
            return;
        }
        // isolate the message that failed the group
        for (Pending p : batch) {
            commit(new ArrayList<>(List.of(p)));
        }
    }

    /** SQL errors name constraints and columns, not values, since every PHI value is sealed. */
    private static String safe(Exception e) {
        String m = e.getMessage();
        return m == null ? "" : m.lines().findFirst().orElse("").replaceAll("'[^']*'", "'…'");
    }

    private List<Outcome> apply(Connection c, List<Pending> batch) throws SQLException {
        Instant now = Instant.now();
        Timestamp nowTs = Timestamp.from(now);
        // 1. duplicates: already committed, or earlier in this batch
        Set<String> keys = new HashSet<>();
        for (Pending p : batch) {
            if (p.message.dedupeKey() != null && !InboundMessage.FAILED.equals(p.message.status())) {
                keys.add(p.message.dedupeKey());
            }
        }
        Set<String> seen = selectExisting(c, "SELECT dedupe_key FROM inbound_message WHERE dedupe_key IN ", keys);

        // 2. identifiers and the contacts they point at
        Set<String> indexes = new HashSet<>();
        for (Pending p : batch) {
            MappedMessage m = p.message.mapped();
            if (m != null) {
                m.patch().identifiers.forEach(i -> indexes.add(identifierIndex(i)));
                m.mergeFrom().forEach(i -> indexes.add(identifierIndex(i)));
            }
        }
        Map<String, UUID> owners = selectOwners(c, indexes);
        Map<UUID, Working> contacts = loadContacts(c, new HashSet<>(owners.values()));

        Map<String, UUID> newIdentifiers = new LinkedHashMap<>();
        Map<String, UUID> movedIdentifiers = new LinkedHashMap<>();
        Map<UUID, UUID> mergedEvents = new LinkedHashMap<>();
        List<Object[]> events = new ArrayList<>();
        List<Object[]> inbound = new ArrayList<>();
        List<Outcome> outcomes = new ArrayList<>(batch.size());

        for (Pending p : batch) {
            InboundMessage in = p.message;
            boolean counts = !InboundMessage.FAILED.equals(in.status());
            if (counts && in.dedupeKey() != null && !seen.add(in.dedupeKey())) {
                outcomes.add(Outcome.DUPLICATE);
                continue;
            }
            UUID contactId = null;
            if (InboundMessage.PROCESSED.equals(in.status())) {
                MappedMessage m = in.mapped();
                Working w = resolve(m, owners, contacts, newIdentifiers, movedIdentifiers, mergedEvents, now);
                contactId = w.contact.id;
                if (m.demographics()) {
                    Instant[] asOf = {w.asOf};
                    if (ContactUpdates.applyDemographics(w.contact, m.patch(), m.eventTime().toInstant(), asOf)) {
                        w.dirty = true;
                    }
                    if (!java.util.Objects.equals(asOf[0], w.asOf)) {
                        w.asOf = asOf[0];
                        w.dirty = true;
                    }
                }
                events.add(new Object[] {in.eventId(), contactId, m.eventType(), in.id(), in.keyId(), in.sealedEvent(),
                        nowTs});
            }
            inbound.add(new Object[] {in.id(), counts ? in.dedupeKey() : null, in.feed(), in.messageType(),
                    in.status(), in.errorCode(), contactId, in.keyId(), in.sealedRaw(), Timestamp.from(in.receivedAt())});
            outcomes.add(switch (in.status()) {
                case InboundMessage.PROCESSED -> Outcome.PROCESSED;
                case InboundMessage.IGNORED -> Outcome.IGNORED;
                default -> Outcome.FAILED_STORED;
            });
        }

        // 3. write: contacts first (foreign keys), then identifiers, events, inbound messages
        try (PreparedStatement ins = c.prepareStatement(
                "INSERT INTO contact (id, merged_into, key_id, payload, version, created_at, updated_at)"
                        + " VALUES (?, ?, ?, ?, 1, ?, ?)");
                PreparedStatement upd = c.prepareStatement(
                        "UPDATE contact SET merged_into = ?, key_id = ?, payload = ?, version = version + 1,"
                                + " updated_at = ? WHERE id = ?")) {
            boolean anyIns = false;
            boolean anyUpd = false;
            for (Working w : contacts.values()) {
                if (!w.dirty && !w.created) {
                    continue;
                }
                if (w.dirty) {
                    w.contact.updatedAt = now;
                }
                byte[] sealed = cipher.seal(ContactJson.write(new ContactJson.Stored(w.contact, w.asOf)),
                        w.contact.id.toString());
                if (w.created) {
                    ins.setObject(1, w.contact.id);
                    ins.setObject(2, w.mergedInto);
                    ins.setString(3, cipher.activeKeyId());
                    ins.setBytes(4, sealed);
                    ins.setTimestamp(5, nowTs);
                    ins.setTimestamp(6, nowTs);
                    ins.addBatch();
                    anyIns = true;
                } else {
                    upd.setObject(1, w.mergedInto);
                    upd.setString(2, cipher.activeKeyId());
                    upd.setBytes(3, sealed);
                    upd.setTimestamp(4, nowTs);
                    upd.setObject(5, w.contact.id);
                    upd.addBatch();
                    anyUpd = true;
                }
            }
            if (anyIns) {
                ins.executeBatch();
            }
            if (anyUpd) {
                upd.executeBatch();
            }
        }
        if (!newIdentifiers.isEmpty()) {
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO contact_identifier (blind_index, contact_id) VALUES (?, ?)")) {
                for (Map.Entry<String, UUID> e : newIdentifiers.entrySet()) {
                    ps.setString(1, e.getKey());
                    ps.setObject(2, e.getValue());
                    ps.addBatch();
                }
                ps.executeBatch();
            }
        }
        if (!movedIdentifiers.isEmpty()) {
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE contact_identifier SET contact_id = ? WHERE blind_index = ?")) {
                for (Map.Entry<String, UUID> e : movedIdentifiers.entrySet()) {
                    ps.setObject(1, e.getValue());
                    ps.setString(2, e.getKey());
                    ps.addBatch();
                }
                ps.executeBatch();
            }
        }
        if (!mergedEvents.isEmpty()) {
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE trigger_event SET contact_id = ? WHERE contact_id = ?")) {
                for (Map.Entry<UUID, UUID> e : mergedEvents.entrySet()) {
                    ps.setObject(1, e.getValue());
                    ps.setObject(2, e.getKey());
                    ps.addBatch();
                }
                ps.executeBatch();
            }
        }
        if (!events.isEmpty()) {
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO trigger_event (id, contact_id, type, inbound_id, key_id, payload, recorded_at)"
                            + " VALUES (?, ?, ?, ?, ?, ?, ?)")) {
                for (Object[] row : events) {
                    bind(ps, row);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
        }
        if (!inbound.isEmpty()) {
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO inbound_message (id, dedupe_key, feed, message_type, status, error_code, contact_id,"
                            + " key_id, payload, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                for (Object[] row : inbound) {
                    bind(ps, row);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
        }
        return outcomes;
    }

    /**
     * Finds or creates the contact a message is about, attaching identifiers it does not have yet; for a merge,
     * folds the prior record into the survivor and keeps both sets of identifiers resolvable.
     */
    private Working resolve(MappedMessage m, Map<String, UUID> owners, Map<UUID, Working> contacts,
            Map<String, UUID> newIdentifiers, Map<String, UUID> movedIdentifiers, Map<UUID, UUID> mergedEvents,
            Instant now) {
        Working survivor = null;
        for (Identifier id : m.patch().identifiers) {
            UUID owner = owners.get(identifierIndex(id));
            if (owner != null) {
                survivor = contacts.get(owner);
                break;
            }
        }
        Working prior = null;
        for (Identifier id : m.mergeFrom()) {
            UUID owner = owners.get(identifierIndex(id));
            if (owner != null) {
                prior = contacts.get(owner);
                break;
            }
        }
        if (survivor == null && prior != null) {
            // the surviving identifiers are new to us: the prior record lives on under them
            survivor = prior;
            prior = null;
        }
        if (survivor == null) {
            Contact created = new Contact(UUID.randomUUID());
            created.updatedAt = now;
            survivor = new Working(created, null, null, true);
            contacts.put(created.id, survivor);
        }
        if (prior != null && prior != survivor) {
            for (Identifier id : prior.contact.identifiers) {
                String idx = identifierIndex(id);
                owners.put(idx, survivor.contact.id);
                if (newIdentifiers.containsKey(idx)) {
                    newIdentifiers.put(idx, survivor.contact.id);
                } else {
                    movedIdentifiers.put(idx, survivor.contact.id);
                }
                survivor.dirty |= ContactUpdates.addIdentifier(survivor.contact, id);
            }
            prior.mergedInto = survivor.contact.id;
            prior.dirty = true;
            mergedEvents.put(prior.contact.id, survivor.contact.id);
        }
        List<Identifier> all = new ArrayList<>(m.patch().identifiers);
        all.addAll(m.mergeFrom());
        for (Identifier id : all) {
            String idx = identifierIndex(id);
            UUID owner = owners.get(idx);
            if (owner == null) {
                owners.put(idx, survivor.contact.id);
                newIdentifiers.put(idx, survivor.contact.id);
                survivor.dirty |= ContactUpdates.addIdentifier(survivor.contact, id);
            } else if (owner.equals(survivor.contact.id)) {
                survivor.dirty |= ContactUpdates.addIdentifier(survivor.contact, id);
            }
            // an identifier held by another contact stays there: only a merge moves identifiers
        }
        return survivor;
    }

    private static final class Working {
        final Contact contact;
        Instant asOf;
        UUID mergedInto;
        final boolean created;
        boolean dirty;

        Working(Contact contact, Instant asOf, UUID mergedInto, boolean created) {
            this.contact = contact;
            this.asOf = asOf;
            this.mergedInto = mergedInto;
            this.created = created;
        }
    }

    private Map<UUID, Working> loadContacts(Connection c, Set<UUID> ids) throws SQLException {
        Map<UUID, Working> out = new HashMap<>();
        List<UUID> list = new ArrayList<>(ids);
        for (int from = 0; from < list.size(); from += IN_CHUNK) {
            List<UUID> chunk = list.subList(from, Math.min(list.size(), from + IN_CHUNK));
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT id, key_id, payload, merged_into FROM contact WHERE id IN " + placeholders(chunk.size()))) {
                for (int i = 0; i < chunk.size(); i++) {
                    ps.setObject(i + 1, chunk.get(i));
                }
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        UUID id = rs.getObject(1, UUID.class);
                        ContactJson.Stored s = ContactJson.read(
                                cipher.open(rs.getString(2), rs.getBytes(3), id.toString()), ContactJson.Stored.class);
                        out.put(id, new Working(s.contact(), s.asOf(), rs.getObject(4, UUID.class), false));
                    }
                }
            }
        }
        return out;
    }

    private Map<String, UUID> selectOwners(Connection c, Set<String> indexes) throws SQLException {
        Map<String, UUID> out = new HashMap<>();
        List<String> list = new ArrayList<>(indexes);
        for (int from = 0; from < list.size(); from += IN_CHUNK) {
            List<String> chunk = list.subList(from, Math.min(list.size(), from + IN_CHUNK));
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT blind_index, contact_id FROM contact_identifier WHERE blind_index IN "
                            + placeholders(chunk.size()))) {
                for (int i = 0; i < chunk.size(); i++) {
                    ps.setString(i + 1, chunk.get(i));
                }
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.put(rs.getString(1), rs.getObject(2, UUID.class));
                    }
                }
            }
        }
        return out;
    }

    private static Set<String> selectExisting(Connection c, String sql, Set<String> keys) throws SQLException {
        Set<String> out = new HashSet<>();
        List<String> list = new ArrayList<>(keys);
        for (int from = 0; from < list.size(); from += IN_CHUNK) {
            List<String> chunk = list.subList(from, Math.min(list.size(), from + IN_CHUNK));
            try (PreparedStatement ps = c.prepareStatement(sql + placeholders(chunk.size()))) {
                for (int i = 0; i < chunk.size(); i++) {
                    ps.setString(i + 1, chunk.get(i));
                }
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(rs.getString(1));
                    }
                }
            }
        }
        return out;
    }

    private static String placeholders(int n) {
        return "(" + "?,".repeat(n - 1) + "?)";
    }

    private static void bind(PreparedStatement ps, Object[] row) throws SQLException {
        for (int i = 0; i < row.length; i++) {
            Object v = row[i];
            if (v instanceof byte[] b) {
                ps.setBytes(i + 1, b);
            } else {
                ps.setObject(i + 1, v);
            }
        }
    }

    @Override
    public void start() {
        running = true;
        thread = new Thread(this::loop, "caravan-contact-writer");
        thread.start();
    }

    @Override
    public void stop() {
        running = false;
        if (thread != null) {
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /** Starts before, and stops after, the Camel routes that feed it. */
    @Override
    public int getPhase() {
        return Integer.MIN_VALUE + 1000;
    }
}
