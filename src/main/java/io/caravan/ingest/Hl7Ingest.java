package io.caravan.ingest;

import ca.uhn.hl7v2.model.Message;
import io.caravan.contact.InboundMessage;
import io.caravan.contact.SourceMessage;
import io.caravan.mapping.FeedMappings;
import io.caravan.mapping.Hl7Mapper;
import io.caravan.mapping.Hl7Parsing;
import io.caravan.mapping.MappingCatalog;
import io.caravan.mapping.MappingException;
import io.caravan.mapping.MessageMapping;
import io.caravan.mapping.Msh;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.component.mllp.MllpConstants;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * The HL7 v2 source: checks the header, parses into the 2.5.1 canonical model, maps to a change record, hands it to
 * the intake step ({@link Intake}: seal, dedupe, commit, wait) and answers the outcome as an ACK, which it leaves on
 * the exchange for the MLLP consumer to send. Registered as the intake source of kind {@code hl7v2}: the store reads a
 * stored HL7 message again through it.
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
public class Hl7Ingest implements Processor, Intake.Answering {

    private static final Logger log = LoggerFactory.getLogger(Hl7Ingest.class);
    /** The source kind recorded with every HL7 v2 message. */
    public static final String KIND = InboundMessage.HL7V2;

    private final MappingCatalog catalog;
    private final Hl7Mapper mapper;
    private final Intake intake;
    private final IngestMetrics metrics;
    private final MllpProperties props;
    private final Charset charset;

    public Hl7Ingest(MappingCatalog catalog, Hl7Mapper mapper, Intake intake, IngestMetrics metrics,
            MllpProperties props) {
        this.catalog = catalog;
        this.mapper = mapper;
        this.intake = intake;
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
     * @param transport the way the message came; every transport's message is of source kind {@code hl7v2}
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
        Instant received = Instant.now();
        SourceMessage read = read(raw, msh, feed, received);
        Intake.Committed committed = intake.commit(KIND, read, raw.getBytes(StandardCharsets.UTF_8), received);
        if (committed.outcome() == Intake.Outcome.ACCEPTED) {
            metrics.fieldWarnings(feed.feedId(), read.change().warnings());
        }
        return answer(read, committed.outcome());
    }

    /**
     * Enhanced mode is answered with the accept acknowledgement (commit ACK), whatever MSH-15 asks (NE, ER, SU
     * included): the sender holds the connection open for a frame, and silence would only make it wait for its timeout
     * and resend. No application acknowledgement (MSH-16) is ever originated.
     */
    private static String ackCode(Msh msh, Answer answer) {
        return msh != null && msh.enhancedMode() ? "C" + answer.code.charAt(1) : answer.code;
    }

    /** What the sender is told for an outcome of the intake step. */
    static Answer answer(SourceMessage read, Intake.Outcome outcome) {
        SourceMessage.Failed f = read.failure();
        return switch (outcome) {
            case ACCEPTED -> Answer.accepted(IngestMetrics.Outcome.ACCEPTED);
            case DUPLICATE -> Answer.accepted(IngestMetrics.Outcome.DUPLICATE);
            case IGNORED -> Answer.accepted(IngestMetrics.Outcome.IGNORED);
            case FAILED_STORED -> f != null ? Answer.error(f.reasonCode(), f.reasonText(), f.location())
                    : Answer.error("207", "message could not be applied", null);
            case UNCONFIRMED -> Answer.resend("store did not confirm in time; resend");
            // not even the failure could be stored: same ACK, but nothing was decided, so a file is read again
            case NOT_STORED -> f != null ? new Answer("AE", f.reasonCode(), f.reasonText(), f.location(),
                    IngestMetrics.Outcome.ERROR, true) : Answer.resend("message could not be stored");
        };
    }

    /**
     * Parses and maps one message whose MSH passed the checks. A trigger of a supported type we have no use for (e.g.
     * ADT^A02) is ignored (kept, accepted); a message that cannot be parsed or mapped is failed, to be kept for replay.
     * HAPI parses once, here.
     */
    SourceMessage read(String raw, Msh msh, FeedMappings feed, Instant received) {
        String trigger = msh.trigger();
        String dedupe = msh.sendingApplication() + "|" + msh.sendingFacility() + "|" + msh.controlId();
        MessageMapping mapping = feed.forTrigger(trigger);
        if (mapping == null) {
            return new SourceMessage(feed.feedId(), trigger, msh.controlId(), dedupe, SourceMessage.IGNORED);
        }
        SourceMessage.Result result;
        try {
            Message message = Hl7Parsing.parse(raw);
            result = new SourceMessage.Mapped(mapper.map(message, msh, feed, mapping, received));
        } catch (MappingException e) {
            result = new SourceMessage.Failed("mapping:" + e.hl7ErrorCode(), e.location(), e.hl7ErrorCode(),
                    e.getMessage());
        } catch (Exception | StackOverflowError e) {
            // HAPI's messages quote the offending value: report the kind only
            result = new SourceMessage.Failed("parse:" + e.getClass().getSimpleName(), null, "102",
                    "message could not be parsed");
        }
        return new SourceMessage(feed.feedId(), trigger, msh.controlId(), dedupe, result);
    }

    @Override
    public String kind() {
        return KIND;
    }

    /**
     * Reads a stored message again (crash recovery, a contact split, a replay) with the mappings in force now. The
     * MSH checks are not repeated: the message passed them when it came.
     */
    @Override
    public SourceMessage read(byte[] raw, Instant receivedAt) {
        String text = new String(raw, StandardCharsets.UTF_8);
        Msh msh = Msh.read(text);
        if (msh == null) {
            return new SourceMessage(catalog.defaultFeed().feedId(), "", null, null, new SourceMessage.Failed(
                    "parse:MSH", "MSH^1", "100", "message does not start with an MSH segment"));
        }
        return read(text, msh, catalog.feedFor(msh.sendingApplication(), msh.sendingFacility()), receivedAt);
    }

    /** The ACK a sender would have had for a replayed message. */
    @Override
    public String answer(byte[] raw, SourceMessage read, Intake.Outcome outcome) {
        Msh msh = Msh.read(new String(raw, StandardCharsets.UTF_8));
        Answer a = msh == null ? Answer.reject("100", "message does not start with an MSH segment", "MSH^1")
                : answer(read, outcome);
        return Acks.build(msh, ackCode(msh, a), a.errorCode, a.errorText, a.location);
    }
}
