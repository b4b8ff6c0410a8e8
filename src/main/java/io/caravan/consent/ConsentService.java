package io.caravan.consent;

import io.caravan.audit.Actions;
import io.caravan.audit.AuditDraft;
import io.caravan.audit.AuditLog;
import io.caravan.contact.Contact;
import io.caravan.contact.ContactStore;
import io.caravan.system.Ids;
import io.caravan.system.Problems.Conflict;
import io.caravan.system.Problems.NotFound;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.springframework.stereotype.Service;

/**
 * Records and revokes authorizations, channel consents and opt-outs, and takes decisions. Each change commits
 * together with its audit entry; each decision is audited. Decisions read the records afresh every time, so a
 * revocation or opt-out committed before a decision is always seen by it.
 */
@Service
public class ConsentService {

    /** Where a decision was taken: when a message is planned, and again at the moment it is sent. */
    public enum Stage { API, PLAN, SEND }

    private final ContactStore contacts;
    private final ConsentStore store;
    private final AuditLog audit;
    private final DecisionEngine engine;
    private final Clock clock;
    private final org.springframework.context.ApplicationEventPublisher events;

    public ConsentService(ContactStore contacts, ConsentStore store, AuditLog audit, DecisionEngine engine,
            Clock clock, org.springframework.context.ApplicationEventPublisher events) {
        this.contacts = contacts;
        this.store = store;
        this.audit = audit;
        this.engine = engine;
        this.clock = clock;
        this.events = events;
    }

    /** The contact (the survivor for a merged id), or 404. */
    public Contact requireContact(UUID id) {
        return contact(id);
    }

    /**
     * The same for the send path (the planner, the gate at send time): decrypted again only when the contact changed
     * since the send path last read it (see {@code ContactStore.findForSend}); the contact is shared, never change it.
     */
    public Contact requireContactForSend(UUID id) {
        return contacts.findForSend(id).orElseThrow(() -> new NotFound("no contact with this id"));
    }

    private Contact contact(UUID id) {
        return contacts.findById(id).orElseThrow(() -> new NotFound("no contact with this id"));
    }

    public ConsentRecord authorize(UUID contactId, ConsentForms.Authorization f, String actor) {
        Contact c = contact(contactId);
        List<String> problems = new ArrayList<>();
        purpose(f.purpose(), false, problems);
        if (blank(f.description())) {
            problems.add("description (the information to be used or disclosed, and the purpose) is required");
        }
        if (f.recipients() == null || f.recipients().isEmpty() || f.recipients().stream().anyMatch(ConsentService::blank)) {
            problems.add("recipients (who may receive the information) are required");
        }
        Instant now = clock.instant();
        if (f.signedAt() == null) {
            problems.add("signedAt (the signature date) is required");
        } else if (f.signedAt().isAfter(now.plusSeconds(300))) {
            problems.add("signedAt is in the future");
        }
        if (f.expiresAt() == null && blank(f.expiryEvent())) {
            problems.add("expiresAt or expiryEvent is required (45 CFR 164.508(c)(1)(v))");
        }
        if (f.expiresAt() != null && f.signedAt() != null && !f.expiresAt().isAfter(f.signedAt())) {
            problems.add("expiresAt must be after signedAt");
        }
        boolean remuneration = Boolean.TRUE.equals(f.remuneration());
        if (remuneration && blank(f.remunerationStatement())) {
            problems.add("remunerationStatement is required when remuneration is true (45 CFR 164.508(a)(3)(ii))");
        }
        if (blank(f.evidence())) {
            problems.add("evidence (a reference to the signed form) is required");
        }
        fail(problems);
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("description", f.description());
        put(details, "discloser", f.discloser());
        details.put("recipients", f.recipients());
        put(details, "expiryEvent", f.expiryEvent());
        put(details, "remunerationStatement", f.remunerationStatement());
        details.put("evidence", f.evidence());
        ConsentRecord r = new ConsentRecord(Ids.next(), c.id, ConsentRecord.AUTHORIZATION, f.purpose(),
                ConsentRecord.ANY, null, remuneration, source(f.source(), "api"), actor, f.signedAt(), f.expiresAt(),
                null, now, details);
        return record(r, actor);
    }

    public ConsentRecord consent(UUID contactId, ConsentForms.ChannelConsent f, String actor) {
        Contact c = contact(contactId);
        List<String> problems = new ArrayList<>();
        channel(f.channel(), false, problems);
        purpose(f.purpose(), true, problems);
        if (f.form() == null || !ConsentPolicy.FORMS.contains(f.form())) {
            problems.add("form must be written, electronic or verbal");
        }
        if (blank(f.evidence())) {
            problems.add("evidence (a reference to the signed form or recording) is required");
        }
        Instant now = clock.instant();
        Instant effective = f.signedAt() != null ? f.signedAt() : now;
        if (effective.isAfter(now.plusSeconds(300))) {
            problems.add("signedAt is in the future");
        }
        fail(problems);
        Map<String, Object> details = new LinkedHashMap<>();
        put(details, "text", f.text());
        details.put("evidence", f.evidence());
        ConsentRecord r = new ConsentRecord(Ids.next(), c.id, ConsentRecord.CONSENT, f.purpose(), f.channel(),
                f.form(), false, source(f.source(), "api"), actor, effective, f.expiresAt(), null, now, details);
        return record(r, actor);
    }

    /** Records an opt-out; an identical opt-out already in force is returned instead of recorded twice. */
    public ConsentRecord optOut(UUID contactId, ConsentForms.OptOut f, String actor) {
        Contact c = contact(contactId);
        List<String> problems = new ArrayList<>();
        channel(f.channel(), true, problems);
        purpose(f.purpose(), true, problems);
        fail(problems);
        Instant now = clock.instant();
        Optional<ConsentRecord> existing = store.forDecision(c.id).stream()
                .filter(r -> ConsentRecord.OPT_OUT.equals(r.kind()) && r.activeAt(now)
                        && r.channel().equals(f.channel()) && r.purpose().equals(f.purpose()))
                .findFirst();
        if (existing.isPresent()) {
            return existing.get();
        }
        Map<String, Object> details = new LinkedHashMap<>();
        put(details, "evidence", f.evidence());
        ConsentRecord r = new ConsentRecord(Ids.next(), c.id, ConsentRecord.OPT_OUT, f.purpose(), f.channel(), null,
                false, source(f.source(), "api"), actor, now, null, null, now, details);
        ConsentRecord recorded = record(r, actor);
        events.publishEvent(new ConsentWithdrawn(c.id, r.purpose(), r.channel()));
        return recorded;
    }

    /** Revokes a record of the given kind. Takes effect for every decision that starts after this returns. */
    public ConsentRecord revoke(UUID contactId, String kind, UUID recordId, ConsentForms.Revocation f, String actor) {
        Contact c = contact(contactId);
        ConsentRecord r = store.find(recordId).filter(x -> x.contactId().equals(c.id) && x.kind().equals(kind))
                .orElseThrow(() -> new NotFound("no " + kind + " with this id for this contact"));
        if (!store.intact(r.id()).orElse(false)) {
            throw new Conflict("this " + kind + " fails its integrity check (see GET /api/audit/verify) and cannot"
                    + " be revoked until it is restored");
        }
        if (r.revokedAt() != null) {
            throw new Conflict("this " + kind + " is already revoked");
        }
        Instant now = clock.instant();
        Instant at = f != null && f.revokedAt() != null && f.revokedAt().isBefore(now) ? f.revokedAt() : now;
        AuditDraft d = AuditDraft.of(actor, Actions.CONSENT_REVOKED).contact(c.id).purpose(r.purpose())
                .channel(r.channel()).outcome(r.kind()).detail("record", r.id().toString())
                .detail("revokedAt", at.toString());
        if (f != null) {
            d.detail("reason", f.reason()).detail("evidence", f.evidence());
        }
        audit.appendAndWait(d, store.revoke(r, at));
        if (!ConsentRecord.OPT_OUT.equals(r.kind())) {
            // an authorization or a channel consent withdrawn (revoking an opt-out gives consent back)
            events.publishEvent(new ConsentWithdrawn(c.id, r.purpose(), r.channel()));
        }
        return store.find(recordId).orElseThrow();
    }

    private ConsentRecord record(ConsentRecord r, String actor) {
        AuditDraft d = AuditDraft.of(actor, Actions.CONSENT_RECORDED).contact(r.contactId()).purpose(r.purpose())
                .channel(r.channel()).outcome(r.kind()).detail("record", r.id().toString())
                .detail("source", r.source()).detail("effectiveAt", r.effectiveAt().toString());
        if (r.expiresAt() != null) {
            d.detail("expiresAt", r.expiresAt().toString());
        }
        audit.appendAndWait(d, store.insert(r, r.details()));
        return r;
    }

    /** Records and HL7-raised opt-outs of a contact, for showing. */
    public List<ConsentRecord> records(UUID contactId) {
        return store.withDetails(contact(contactId).id);
    }

    /**
     * Decides for a contact (merged ids resolve to the survivor) and audits the decision; an unknown contact is a
     * deny. The decision is returned only once its audit entry is durable: no unaudited decision is acted on, and
     * callers that decide faster than the trail can record are slowed to its pace rather than dropped.
     */
    public Decision decide(UUID contactId, DecisionRequest req, String actor, Stage stage) {
        Contact c = contactId == null ? null : contacts.findById(contactId).orElse(null);
        return decide(c, contactId, req, actor, stage);
    }

    /** The same, for a contact the caller already holds (the API and the channels look it up first). */
    public Decision decide(Contact contact, DecisionRequest req, String actor, Stage stage) {
        return decide(contact, contact.id, req, actor, stage);
    }

    private Decision decide(Contact c, UUID contactId, DecisionRequest req, String actor, Stage stage) {
        Instant now = clock.instant();
        Decision d = engine.decide(c, c == null ? List.of() : store.forDecision(c.id), req, now);
        audit.appendAndWait(entry(d, c != null ? c.id : contactId, req, actor, stage, now));
        return d;
    }

    /**
     * Decides and commits the decision's entry together with the statements {@code with} gives for it (the planner's
     * message row, planned or blocked): one durable write instead of an entry and then a row. Returns once both are
     * durable; when the trail cannot record, neither is there.
     */
    public Decision decide(Contact contact, DecisionRequest req, String actor, Stage stage,
            java.util.function.Function<Decision, AuditLog.TxWork> with) {
        Instant now = clock.instant();
        Decision d = engine.decide(contact, store.forDecision(contact.id), req, now);
        audit.appendAndWait(entry(d, contact.id, req, actor, stage, now), with.apply(d));
        return d;
    }

    /** A decision whose audit entry is queued, and the entry's durability: see {@link #decideQueued}. */
    public record Queued(Decision decision, java.util.concurrent.CompletableFuture<Long> recorded) {
    }

    /**
     * Decides (the records read afresh, as always) and queues the decision's entry without waiting for it, so that the
     * caller can prepare what the decision allows (render, encrypt, sign) while the trail commits. The caller must wait
     * for {@link Queued#recorded()} before it acts on the decision (hands the message to the wire): no unaudited
     * decision is acted on, but the wait overlaps the cryptography instead of preceding it.
     */
    public Queued decideQueued(Contact contact, DecisionRequest req, String actor, Stage stage) {
        Instant now = clock.instant();
        Decision d = engine.decide(contact, store.forDecision(contact.id), req, now);
        return new Queued(d, audit.append(entry(d, contact.id, req, actor, stage, now)));
    }

    /** One decision asked for among several: a contact the caller holds and what it would send. */
    public record Ask(Contact contact, DecisionRequest request) {
    }

    /** A run's decisions whose audit entries (and the caller's) are queued: see {@link #decideAllQueued}. */
    public record QueuedRun(List<Decision> decisions, List<java.util.concurrent.CompletableFuture<Long>> recorded) {

        /** Returns once every entry of the run is durable; throws {@link AuditLog.AuditUnavailable} otherwise. */
        public void awaitDurable() {
            for (java.util.concurrent.CompletableFuture<Long> f : recorded) {
                AuditLog.awaitDurable(f);
            }
        }
    }

    /**
     * Decides for several contacts at once (an outbound stream's run of events), each exactly as {@link #decide}
     * would; the decisions' audit entries and the caller's own about what it will do with them (its disclosures) are
     * queued together and the decisions returned at once, so the caller can write what they allow into its own,
     * uncommitted transaction while the trail commits - a stream's outbox rows. The caller must call
     * {@link QueuedRun#awaitDurable()} before that transaction commits or anything reaches the wire.
     */
    public QueuedRun decideAllQueued(List<Ask> asks, String actor, Stage stage,
            java.util.function.Function<List<Decision>, List<AuditDraft>> andThen) {
        Instant now = clock.instant();
        List<Decision> out = new ArrayList<>(asks.size());
        List<AuditDraft> entries = new ArrayList<>(asks.size());
        // every contact's records in one read: a stream's run asks for hundreds of contacts, one query each was a
        // round trip per contact on the subscriber's thread
        Map<UUID, List<ConsentRecord>> records = store.forDecisionAll(asks.stream().map(a -> a.contact().id)
                .collect(java.util.stream.Collectors.toCollection(java.util.LinkedHashSet::new)));
        for (Ask a : asks) {
            Contact c = a.contact();
            Decision d = engine.decide(c, records.get(c.id), a.request(), now);
            out.add(d);
            entries.add(entry(d, c.id, a.request(), actor, stage, now));
        }
        entries.addAll(andThen.apply(out));
        List<java.util.concurrent.CompletableFuture<Long>> recorded = new ArrayList<>(entries.size());
        for (AuditDraft e : entries) {
            recorded.add(audit.append(e));
        }
        return new QueuedRun(out, recorded);
    }

    /**
     * {@link #decideAll(List, List, Stage, java.util.function.BiFunction)} with one actor for the whole run (a bulk
     * plan through the API).
     */
    public List<Decision> decideAllWithWork(List<Ask> asks, String actor, Stage stage,
            java.util.function.BiFunction<Integer, Decision, AuditLog.TxWork> with) {
        return decideAll(asks, java.util.Collections.nCopies(asks.size(), actor), stage, with);
    }

    /**
     * Decides for several contacts at once, each as {@link #decide(Contact, DecisionRequest, String, Stage,
     * java.util.function.Function)} would - its own actor, its entry committed with the statements {@code with} gives
     * for it (the planner's message row) - but the records are read in one query and all entries are queued
     * together: one wait for the batch (a campaign's recipients) instead of one per decision. Returns the decisions in
     * order once every entry is durable; throws {@link AuditLog.AuditUnavailable} when the trail cannot take one (the
     * others may be durable, each with its own statements: a true record of a decision taken).
     */
    public List<Decision> decideAll(List<Ask> asks, List<String> actors, Stage stage,
            java.util.function.BiFunction<Integer, Decision, AuditLog.TxWork> with) {
        Instant now = clock.instant();
        Map<UUID, List<ConsentRecord>> records = store.forDecisionAll(asks.stream().map(a -> a.contact().id)
                .toList());
        List<Decision> out = new ArrayList<>(asks.size());
        List<AuditDraft> entries = new ArrayList<>(asks.size());
        List<AuditLog.TxWork> works = new ArrayList<>(asks.size());
        for (int i = 0; i < asks.size(); i++) {
            Ask a = asks.get(i);
            Decision d = engine.decide(a.contact(), records.get(a.contact().id), a.request(), now);
            out.add(d);
            entries.add(entry(d, a.contact().id, a.request(), actors.get(i), stage, now));
            works.add(with.apply(i, d));
        }
        if (!entries.isEmpty()) {
            audit.appendAllAndWait(entries, works);
        }
        return out;
    }

    private static AuditDraft entry(Decision d, UUID contactId, DecisionRequest req, String actor, Stage stage,
            Instant now) {
        return AuditDraft.of(actor, Actions.DECISION).contact(contactId)
                .purpose(req.purpose()).channel(req.channel()).outcome(d.allowed() ? "allow" : "deny")
                .at(now).detail("stage", stage.name().toLowerCase(java.util.Locale.ROOT))
                .detail("content", d.content()).detail("rules", d.reasons().stream()
                        .map(x -> x.rule() + ":" + x.effect()).toList());
    }

    private void purpose(String p, boolean anyAllowed, List<String> problems) {
        if (p == null || !(engine.policy().purposes().contains(p) || anyAllowed && ConsentRecord.ANY.equals(p))) {
            problems.add("purpose must be one of " + new java.util.TreeSet<>(engine.policy().purposes())
                    + (anyAllowed ? " or any" : ""));
        }
    }

    private void channel(String ch, boolean anyAllowed, List<String> problems) {
        if (!(engine.knownChannel(ch) || anyAllowed && ConsentRecord.ANY.equals(ch))) {
            problems.add("channel must be one of " + new java.util.TreeSet<>(engine.policy().channels())
                    + ", a known queue:<adapter>" + (anyAllowed ? " or any" : ""));
        }
    }

    private static void fail(List<String> problems) {
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", problems));
        }
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }

    private static void put(Map<String, Object> m, String k, Object v) {
        if (v != null) {
            m.put(k, v);
        }
    }

    private static String source(String given, String otherwise) {
        if (given == null || given.isBlank()) {
            return otherwise;
        }
        if (!given.matches("[a-z0-9:._-]{1,64}")) {
            throw new IllegalArgumentException("source must be a short code (letters, digits, : . _ -)");
        }
        return given;
    }
}
