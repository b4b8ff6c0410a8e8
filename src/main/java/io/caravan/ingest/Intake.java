package io.caravan.ingest;

import io.caravan.contact.ContactWriter;
import io.caravan.contact.InboundMessage;
import io.caravan.contact.IntakeSource;
import io.caravan.contact.SourceMessage;
import io.caravan.crypto.FieldCipher;
import io.caravan.system.Ids;
import io.caravan.system.Problems.Conflict;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.stereotype.Component;

/**
 * The intake step every source ends in: from what a source read of one message ({@link SourceMessage}: a change
 * record, ignored, or failed) it seals the raw bytes, computes the dedupe key, hands the message to the contact writer
 * and waits for the commit (journal or group commit) within {@code caravan.mllp.ack-timeout}, then tells the source
 * the outcome, which the source turns into its answer (HL7 v2: the ACK). Nothing here knows a message format; a new
 * source (FHIR next) implements {@link IntakeSource} and calls {@link #commit}.
 */
@Component
public class Intake {

    /** The blind-index domain of dedupe keys. */
    static final String DEDUPE_DOMAIN = "inbound";

    /** What became of a message. */
    public enum Outcome {
        /** Committed (a change record applied). */
        ACCEPTED,
        /** A resend of something already committed: changed nothing. */
        DUPLICATE,
        /** Stored as a message the source has no use for. */
        IGNORED,
        /** Stored as failed, for replay. */
        FAILED_STORED,
        /** The store did not confirm in time: nothing can be said; the sender should send it again. */
        UNCONFIRMED,
        /** The store refused or is down: nothing was stored; the sender should send it again. */
        NOT_STORED;

        /** Nothing was decided about the message: it must come again. */
        public boolean resend() {
            return this == UNCONFIRMED || this == NOT_STORED;
        }
    }

    /** A source whose sender is answered (HL7 v2: an ACK): what it would have been told for an outcome. */
    public interface Answering extends IntakeSource {
        String answer(byte[] raw, SourceMessage read, Outcome outcome);
    }

    /**
     * One committed (or not) message.
     *
     * @param id        the inbound message's id (stored unless the outcome is DUPLICATE or a resend)
     * @param dedupeKey the blind index of the source's dedupe text, null when it has none
     */
    public record Committed(Outcome outcome, UUID id, String dedupeKey) {
    }

    /**
     * What a replay did: {@code outcome} is accepted, ignored, duplicate (a later delivery already committed it) or
     * failed; {@code replayId} the new inbound message (null unless stored); {@code errorCode} and
     * {@code errorLocation} the failure as the sender would have been told; {@code ack} the sender's answer, when the
     * source answers one; {@code dedupeKey} to find the delivery a duplicate repeats.
     */
    public record Replayed(String outcome, UUID replayId, String errorCode, String errorLocation, String ack,
            String dedupeKey) {
    }

    private final ContactWriter writer;
    private final FieldCipher cipher;
    private final MllpProperties props;
    private final ObjectProvider<IntakeSource> sources;

    public Intake(ContactWriter writer, FieldCipher cipher, MllpProperties props,
            ObjectProvider<IntakeSource> sources) {
        this.writer = writer;
        this.cipher = cipher;
        this.props = props;
        this.sources = sources;
    }

    /**
     * Stores one message a source read and waits for the commit. Call on the receiving thread: sealing and the trigger
     * event are done here, so the single writer only reconciles and commits.
     *
     * @param sourceKind the source's {@link IntakeSource#kind()}, recorded with the message
     * @param read       what the source made of it
     * @param raw        the raw bytes, sealed as received; {@link IntakeSource#read} gets them back
     * @param receivedAt when the hub received it
     */
    public Committed commit(String sourceKind, SourceMessage read, byte[] raw, Instant receivedAt)
            throws InterruptedException {
        return commit(sourceKind, read, raw, receivedAt, null);
    }

    private Committed commit(String sourceKind, SourceMessage read, byte[] raw, Instant receivedAt, UUID replayOf)
            throws InterruptedException {
        InboundMessage message = prepare(sourceKind, read, raw, receivedAt);
        if (replayOf != null) {
            message = message.replaying(replayOf);
        }
        CompletableFuture<ContactWriter.Outcome> f = writer.submit(message);
        Outcome outcome;
        try {
            outcome = switch (f.get(props.ackTimeout().toMillis(), TimeUnit.MILLISECONDS)) {
                case PROCESSED -> Outcome.ACCEPTED;
                case DUPLICATE -> Outcome.DUPLICATE;
                case IGNORED -> Outcome.IGNORED;
                case FAILED_STORED -> Outcome.FAILED_STORED;
            };
        } catch (TimeoutException e) {
            outcome = Outcome.UNCONFIRMED;
        } catch (ExecutionException e) {
            outcome = Outcome.NOT_STORED;
        }
        return new Committed(outcome, message.id(), message.dedupeKey());
    }

    private InboundMessage prepare(String sourceKind, SourceMessage read, byte[] raw, Instant receivedAt) {
        UUID id = Ids.next();
        String dedupe = read.dedupeText() == null ? null : cipher.blindIndex(DEDUPE_DOMAIN,
                dedupeText(sourceKind, read.dedupeText()));
        return InboundMessage.of(id, sourceKind, dedupe, read, cipher.activeKeyId(),
                cipher.seal(raw, id.toString()), Ids.next(), receivedAt, cipher);
    }

    /**
     * What the dedupe key is computed from: another kind's text is prefixed with its kind, so two sources can never
     * take each other's messages for resends; HL7 v2's stays as it always was, matching the keys already stored.
     */
    static String dedupeText(String sourceKind, String text) {
        return InboundMessage.HL7V2.equals(sourceKind) ? text : sourceKind + "|" + text;
    }

    /**
     * Runs a stored message again through the source of its kind with the mappings in force now (the fix for a bad
     * mapping), as a first delivery would go: read from its sealed raw bytes, then committed (group commit, ordering
     * by event time, dedupe). Success is a new inbound message linked to {@code stored}, which keeps its failure
     * record; a replay that fails again stores nothing.
     */
    public Replayed replay(InboundMessage stored) throws InterruptedException {
        IntakeSource source = IntakeSource.find(sources, stored.sourceKind());
        if (source == null) {
            throw new Conflict("no intake source of kind " + IntakeSource.safe(stored.sourceKind())
                    + " is installed to read this message again");
        }
        byte[] raw = cipher.open(stored.keyId(), stored.sealedRaw(), stored.id().toString());
        Instant now = Instant.now();
        SourceMessage read = source.read(raw, now);
        SourceMessage.Failed failure = read.failure();
        Committed c = failure != null ? new Committed(Outcome.FAILED_STORED, null, null)
                : commit(source.kind(), read, raw, now, stored.id());
        String outcome = switch (c.outcome()) {
            case ACCEPTED -> "accepted";
            case DUPLICATE -> "duplicate";
            case IGNORED -> "ignored";
            default -> "failed";
        };
        String ack = source instanceof Answering a ? a.answer(raw, read, c.outcome()) : null;
        String errorCode = failure != null ? failure.reasonCode() : c.outcome().resend() ? "207" : null;
        return new Replayed(outcome, "failed".equals(outcome) ? null : c.id(), errorCode,
                failure == null ? null : InboundMessage.location(failure.location()), ack, c.dedupeKey());
    }
}
