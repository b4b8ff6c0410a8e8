package io.caravan.ingest;

import ca.uhn.hl7v2.model.Message;
import io.caravan.contact.ContactStore;
import io.caravan.contact.ContactWriter;
import io.caravan.contact.InboundMessage;
import io.caravan.contact.TriggerEvent;
import io.caravan.crypto.FieldCipher;
import io.caravan.mapping.FeedMappings;
import io.caravan.mapping.Hl7Mapper;
import io.caravan.mapping.Hl7Parsing;
import io.caravan.contact.MappedMessage;
import io.caravan.mapping.MappingCatalog;
import io.caravan.mapping.MappingException;
import io.caravan.mapping.MessageMapping;
import io.caravan.mapping.Msh;
import io.caravan.system.Ids;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.component.mllp.MllpConstants;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * The HL7 v2 ingest step: checks the header, parses into the 2.5.1 canonical model, maps, hands the result to the
 * contact writer and waits for its commit, then leaves the ACK on the exchange for the MLLP consumer to send.
 *
 * <ul>
 *   <li>AR: no readable MSH, no control id, or an unsupported message type, version or processing id. Not stored.</li>
 *   <li>AE: understood but not processable (unparseable body, mapping error, store failure). Stored as failed, for
 *       replay, whenever the store is up.</li>
 *   <li>AA: committed — or a resend of something already committed, which changes nothing.</li>
 * </ul>
 * Enhanced mode (MSH-15/16 valued) is answered with a commit ACK (CA/CE/CR) - always, MSH-15 = NE included: an
 * MLLP sender waits on the connection for a frame (README "What it does with a message").
 */
@Component("hl7Ingest")
public class Hl7Ingest implements Processor, ContactWriter.Replay {

    private static final Logger log = LoggerFactory.getLogger(Hl7Ingest.class);
    static final String DEDUPE_DOMAIN = "inbound";

    private final MappingCatalog catalog;
    private final Hl7Mapper mapper;
    private final ContactWriter writer;
    private final FieldCipher cipher;
    private final IngestMetrics metrics;
    private final MllpProperties props;
    private final Charset charset;

    public Hl7Ingest(MappingCatalog catalog, Hl7Mapper mapper, ContactWriter writer, FieldCipher cipher,
            IngestMetrics metrics, MllpProperties props) {
        this.catalog = catalog;
        this.mapper = mapper;
        this.writer = writer;
        this.cipher = cipher;
        this.metrics = metrics;
        this.props = props;
        this.charset = Charset.forName(props.charset());
    }

    /** What to answer. */
    record Answer(String code, String errorCode, String errorText, String location, IngestMetrics.Outcome outcome,
            boolean resend) {
        Answer(String code, String errorCode, String errorText, String location, IngestMetrics.Outcome outcome) {
            this(code, errorCode, errorText, location, outcome, false);
        }

        /** Nothing was decided about the message (the store did not confirm): the sender should send it again. */
        static Answer resend(String text) {
            return new Answer("AE", "207", text, null, IngestMetrics.Outcome.ERROR, true);
        }

        static Answer accepted(IngestMetrics.Outcome outcome) {
            return new Answer("AA", null, null, null, outcome);
        }

        static Answer reject(String errorCode, String text, String location) {
            return new Answer("AR", errorCode, text, location, IngestMetrics.Outcome.REJECTED);
        }

        static Answer error(String errorCode, String text, String location) {
            return new Answer("AE", errorCode, text, location, IngestMetrics.Outcome.ERROR);
        }
    }

    /** The transports that hand messages to {@link #receive}; each answers with the same ACK. */
    public enum Transport { MLLP, FOLDER, HTTP }

    /**
     * What became of one message.
     *
     * @param ack       the acknowledgement (ER7), as MLLP sends it
     * @param code      MSA-1 (AA/AE/AR, or CA/CE/CR in enhanced mode)
     * @param controlId MSH-10, null when there is no readable MSH
     * @param resend    nothing was decided (the store did not confirm): send the message again later
     */
    public record Received(String ack, String code, String controlId, String errorCode, String location,
            boolean resend) {

        public boolean accepted() {
            return code.endsWith("A");
        }
    }

    @Override
    public void process(Exchange exchange) {
        byte[] body = exchange.getIn().getBody(byte[].class);
        String raw = body == null ? "" : new String(body, charset);
        exchange.setProperty(MllpConstants.MLLP_ACKNOWLEDGEMENT, receive(raw, Transport.MLLP).ack().getBytes(charset));
    }

    /**
     * The transport-neutral entry: checks, parses, maps and commits one ER7 message and answers only after the
     * commit. Every transport calls this, so a message gets the same ACK whichever way it came.
     *
     * @param transport the way the message came; not stored with the inbound message yet (that needs a column and a
     *                  journal field), so crash replay still treats every message as HL7 v2
     */
    public Received receive(String raw, Transport transport) {
        long start = System.nanoTime();
        Msh msh = Msh.read(raw);
        FeedMappings feed = msh == null ? catalog.defaultFeed()
                : catalog.feedFor(msh.sendingApplication(), msh.sendingFacility());
        metrics.received(feed.feedId());
        Answer answer;
        try {
            answer = handle(raw, msh, feed);
        } catch (Throwable t) { // parsers have thrown StackOverflowError on hostile input; answer, never hang up
            log.error("HL7 ingest failed unexpectedly ({})", t.getClass().getName());
            answer = Answer.error("207", "internal error", null);
        }
        String code = ackCode(msh, answer);
        String ack = Acks.build(msh, code, answer.errorCode, answer.errorText, answer.location);
        metrics.answered(feed.feedId(), answer.outcome, System.nanoTime() - start);
        return new Received(ack, code, msh == null || msh.controlId().isEmpty() ? null : msh.controlId(),
                answer.errorCode, answer.location, answer.resend);
    }

    Answer handle(String raw, Msh msh, FeedMappings feed) throws InterruptedException {
        if (msh == null) {
            return Answer.reject("100", "message does not start with an MSH segment", "MSH^1");
        }
        if (msh.fieldCount() < 12) {
            return Answer.reject("101", "MSH is incomplete (MSH-9 to MSH-12 are required)", "MSH^1");
        }
        if (msh.controlId().isEmpty()) {
            return Answer.reject("101", "MSH-10 message control id is missing", "MSH^1^10");
        }
        if (!props.acceptedVersions().contains(msh.version())) {
            return Answer.reject("203", "unsupported version id", "MSH^1^12");
        }
        if (!props.acceptedProcessingIds().contains(msh.processingId())) {
            return Answer.reject("202", "unsupported processing id", "MSH^1^11");
        }
        if (!catalog.messageTypes().contains(msh.messageType())) {
            return Answer.reject("200", "unsupported message type", "MSH^1^9");
        }
        if (msh.triggerEvent().isEmpty()) {
            return Answer.reject("201", "missing trigger event", "MSH^1^9");
        }
        UUID id = Ids.next();
        Instant received = Instant.now();
        String keyId = cipher.activeKeyId();
        byte[] sealedRaw = cipher.seal(raw.getBytes(StandardCharsets.UTF_8), id.toString());
        String dedupe = cipher.blindIndex(DEDUPE_DOMAIN,
                msh.sendingApplication() + "|" + msh.sendingFacility() + "|" + msh.controlId());
        String trigger = msh.trigger();

        MessageMapping mapping = feed.forTrigger(trigger);
        if (mapping == null) {
            // a trigger of a supported type we have no use for (e.g. ADT^A02): keep it, accept it
            return store(new InboundMessage(id, dedupe, feed.feedId(), trigger, InboundMessage.IGNORED, null, null,
                    keyId, sealedRaw, null, null, received).tagged(msh.controlId(), null), null);
        }
        Prepared prepared = prepare(id, Ids.next(), received, raw, msh, feed, mapping, dedupe, keyId, sealedRaw);
        Answer answer = store(prepared.tagged(msh), prepared.failure);
        if (answer.outcome == IngestMetrics.Outcome.ACCEPTED) {
            metrics.fieldWarnings(feed.feedId(), prepared.message.mapped().warnings());
        }
        return answer;
    }

    /**
     * Enhanced mode is answered with the accept acknowledgement (commit ACK), whatever MSH-15 asks (NE, ER, SU
     * included): the sender holds the connection open for a frame, and silence would only make it wait for its timeout
     * and resend. No application acknowledgement (MSH-16) is ever originated.
     */
    private static String ackCode(Msh msh, Answer answer) {
        return msh != null && msh.enhancedMode() ? "C" + answer.code.charAt(1) : answer.code;
    }

    /** A message ready for the store, and the answer to give if it is stored as failed. */
    record Prepared(InboundMessage message, Answer failure) {

        /** The message with the operator's metadata: its MSH-10 and where it failed. */
        InboundMessage tagged(Msh msh) {
            return message.tagged(msh.controlId(), failure == null ? null : failure.location());
        }
    }

    /** Parses and maps; a message that cannot be parsed or mapped is prepared as failed, to be kept for replay. */
    Prepared prepare(UUID id, UUID eventId, Instant received, String raw, Msh msh, FeedMappings feed,
            MessageMapping mapping, String dedupe, String keyId, byte[] sealedRaw) {
        String trigger = msh.trigger();
        MappedMessage mapped;
        try {
            Message message = Hl7Parsing.parse(raw);
            mapped = mapper.map(message, msh, feed, mapping, received);
        } catch (MappingException e) {
            Answer a = Answer.error(e.hl7ErrorCode(), e.getMessage(), e.location());
            return new Prepared(new InboundMessage(id, dedupe, feed.feedId(), trigger, InboundMessage.FAILED,
                    "mapping:" + e.hl7ErrorCode(), null, keyId, sealedRaw, null, null, received), a);
        } catch (Exception | StackOverflowError e) {
            // HAPI's messages quote the offending value: report the kind only
            Answer a = Answer.error("102", "message could not be parsed", null);
            return new Prepared(new InboundMessage(id, dedupe, feed.feedId(), trigger, InboundMessage.FAILED,
                    "parse:" + e.getClass().getSimpleName(), null, keyId, sealedRaw, null, null, received), a);
        }
        TriggerEvent event = new TriggerEvent(eventId, mapped.eventType(), mapped.eventTime(),
                new TriggerEvent.Source(feed.feedId(), msh.controlId(), null), mapped.data());
        return new Prepared(new InboundMessage(id, dedupe, feed.feedId(), trigger, InboundMessage.PROCESSED, null,
                mapped, keyId, sealedRaw, eventId, ContactStore.sealEvent(cipher, event), received), null);
    }

    /**
     * Recovery after a crash: a journaled message is parsed and mapped again from its sealed raw text, keeping its
     * ids, so applying it is the same as the first time.
     */
    @Override
    public InboundMessage rebuild(InboundMessage j) {
        String raw = new String(cipher.open(j.keyId(), j.sealedRaw(), j.id().toString()), StandardCharsets.UTF_8);
        Msh msh = Msh.read(raw);
        FeedMappings feed = catalog.feedFor(msh.sendingApplication(), msh.sendingFacility());
        MessageMapping mapping = feed.forTrigger(msh.trigger());
        if (mapping == null) {
            return new InboundMessage(j.id(), j.dedupeKey(), j.feed(), j.messageType(), InboundMessage.IGNORED,
                    null, null, j.keyId(), j.sealedRaw(), null, null, j.receivedAt()).tagged(msh.controlId(), null);
        }
        return prepare(j.id(), j.eventId() != null ? j.eventId() : Ids.next(), j.receivedAt(), raw, msh, feed,
                mapping, j.dedupeKey(), j.keyId(), j.sealedRaw()).tagged(msh);
    }

    /**
     * What a replay did: {@code outcome} is accepted, ignored, duplicate (a later delivery already committed it) or
     * failed; {@code replayId} the new inbound message (null unless stored); {@code ack} the ACK a sender would have
     * been answered; {@code dedupeKey} the blind index of MSH-3|MSH-4|MSH-10, to find the delivery a duplicate
     * repeats.
     */
    public record Replayed(String outcome, UUID replayId, String errorCode, String errorLocation, String ack,
            String dedupeKey) {
    }

    /**
     * Runs a stored message again through the mappings in force now (the fix for a bad mapping), as a first delivery
     * would go: parsed and mapped from its sealed raw text, then committed through the writer (group commit,
     * ordering by event time, dedupe on MSH-3|MSH-4|MSH-10). Success is a new inbound message linked to
     * {@code stored}, which keeps its failure record; a replay that fails again stores nothing.
     */
    public Replayed replay(InboundMessage stored) throws InterruptedException {
        String raw = new String(cipher.open(stored.keyId(), stored.sealedRaw(), stored.id().toString()),
                StandardCharsets.UTF_8);
        Msh msh = Msh.read(raw);
        if (msh == null) {
            return new Replayed("failed", null, "100", "MSH-1", Acks.build(null, "AR", "100",
                    "message does not start with an MSH segment", "MSH^1"), null);
        }
        FeedMappings feed = catalog.feedFor(msh.sendingApplication(), msh.sendingFacility());
        UUID id = Ids.next();
        String keyId = cipher.activeKeyId();
        byte[] sealedRaw = cipher.seal(raw.getBytes(StandardCharsets.UTF_8), id.toString());
        String dedupe = cipher.blindIndex(DEDUPE_DOMAIN,
                msh.sendingApplication() + "|" + msh.sendingFacility() + "|" + msh.controlId());
        MessageMapping mapping = feed.forTrigger(msh.trigger());
        Prepared prepared = mapping == null
                ? new Prepared(new InboundMessage(id, dedupe, feed.feedId(), msh.trigger(), InboundMessage.IGNORED,
                        null, null, keyId, sealedRaw, null, null, Instant.now()), null)
                : prepare(id, Ids.next(), Instant.now(), raw, msh, feed, mapping, dedupe, keyId, sealedRaw);
        Answer answer = prepared.failure != null ? prepared.failure
                : store(prepared.tagged(msh).replaying(stored.id()), null);
        String code = ackCode(msh, answer);
        String ack = Acks.build(msh, code, answer.errorCode, answer.errorText, answer.location);
        String outcome = switch (answer.outcome) {
            case ACCEPTED -> "accepted";
            case DUPLICATE -> "duplicate";
            case IGNORED -> "ignored";
            default -> "failed";
        };
        return new Replayed(outcome, "failed".equals(outcome) ? null : id, answer.errorCode,
                prepared.tagged(msh).errorLocation(), ack, dedupe);
    }

    /** Commits and waits; {@code failure} is the answer for a message stored as failed. */
    private Answer store(InboundMessage message, Answer failure) throws InterruptedException {
        CompletableFuture<ContactWriter.Outcome> f = writer.submit(message);
        ContactWriter.Outcome outcome;
        try {
            outcome = f.get(props.ackTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            return Answer.resend("store did not confirm in time; resend");
        } catch (java.util.concurrent.ExecutionException e) {
            // not even the failure could be stored: same ACK, but nothing was decided, so a file is read again
            return failure != null ? new Answer(failure.code, failure.errorCode, failure.errorText, failure.location,
                    failure.outcome, true) : Answer.resend("message could not be stored");
        }
        return switch (outcome) {
            case PROCESSED -> Answer.accepted(IngestMetrics.Outcome.ACCEPTED);
            case DUPLICATE -> Answer.accepted(IngestMetrics.Outcome.DUPLICATE);
            case IGNORED -> Answer.accepted(IngestMetrics.Outcome.IGNORED);
            case FAILED_STORED -> failure;
        };
    }
}
