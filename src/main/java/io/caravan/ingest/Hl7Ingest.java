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
import org.apache.camel.component.hl7.HL7Charset;
import org.apache.camel.component.mllp.MllpConstants;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * The HL7 v2 source: the steps of the {@code hl7v2-intake} route ({@code routes/hl7v2-intake.yaml}) - check the
 * header, (the route parses with camel-hl7 into the 2.5.1 canonical model and chooses by message type), map to a
 * change record, hand it to the intake step ({@link Intake}: seal, dedupe, commit, wait) and answer the outcome as an
 * ACK, left on the exchange for the MLLP consumer to send. Registered as the intake source of kind {@code hl7v2}: the
 * store reads a stored HL7 message again through it.
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
public class Hl7Ingest implements Intake.Answering {

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

        /** Metadata only: the ACK text (which echoes MSH fields) stays out of logs and Hawtio's views. */
        @Override
        public String toString() {
            return "Received[" + code + (errorCode == null ? "" : " " + errorCode) + (resend ? ", resend" : "") + "]";
        }
    }

    /**
     * The per-exchange state of one HL7 v2 message in the {@code hl7v2-intake} route (exchange property
     * {@value #STATE}): the raw text, its MSH as read before parsing, what the source made of it and the answer. Kept
     * out of headers, which Hawtio shows; its {@code toString()} names nothing from the message.
     */
    public static final class InFlight {
        final long start = System.nanoTime();
        final String raw;
        final Msh msh;
        final FeedMappings feed;
        final Instant received = Instant.now();
        SourceMessage read;
        Answer answer;
        /** The Java name of a character set MSH-18 names and this JVM lacks (the text is a guess), else null. */
        String undecodableCharset;

        InFlight(String raw, Msh msh, FeedMappings feed) {
            this.raw = raw;
            this.msh = msh;
            this.feed = feed;
        }

        /** True once the message has its answer: the remaining steps up to the ACK pass it by. */
        public boolean isAnswered() {
            return answer != null;
        }

        @Override
        public String toString() {
            return "hl7v2 message[" + (answer == null ? "open" : answer.code) + "]";
        }
    }

    /** The exchange property holding {@link InFlight}. */
    public static final String STATE = "CaravanHl7v2";

    private static InFlight state(Exchange exchange) {
        return exchange.getProperty(STATE, InFlight.class);
    }

    /**
     * Step "check": reads the MSH without parsing the message and answers AR (not stored) when there is no usable
     * MSH, no control id, or an unsupported version or processing id. The message type is checked by the route's
     * choice. The text is kept (decoded once, by MSH-18 or the hub's charset) for the parse and the seal.
     */
    public void check(Exchange exchange) {
        Object body = exchange.getIn().getBody();
        byte[] bytes = body instanceof String || body == null ? null : exchange.getIn().getBody(byte[].class);
        String raw;
        Charset cs;
        String named;
        String undecodable = null;
        if (bytes != null) {
            // bytes off the wire decode by MSH-18 when it names a character set, else by the hub's charset; the MSH
            // itself is ASCII, so it reads the same in Latin-1 (one char per byte) before the charset is known
            String latin = new String(bytes, StandardCharsets.ISO_8859_1);
            Msh head = Msh.read(latin);
            named = head == null ? null : javaCharsetName(head.characterSet());
            if (named != null && !supported(named)) {
                undecodable = named; // decoded by the hub's charset here, and the parse step refuses the guess
            }
            cs = named != null && undecodable == null ? Charset.forName(named) : charset;
            raw = cs.equals(StandardCharsets.ISO_8859_1) ? latin : new String(bytes, cs);
        } else {
            raw = body == null ? "" : (String) body;
            cs = null;
            named = null;
        }
        Msh msh = Msh.read(raw);
        if (bytes == null && msh != null) {
            named = javaCharsetName(msh.characterSet());
            undecodable = named != null && !supported(named) ? named : null;
        }
        FeedMappings feed = msh == null ? catalog.defaultFeed()
                : catalog.feedFor(msh.sendingApplication(), msh.sendingFacility());
        metrics.received(feed.feedId());
        InFlight m = new InFlight(raw, msh, feed);
        m.undecodableCharset = undecodable;
        exchange.setProperty(STATE, m);
        m.answer = checkMsh(msh);
        if (m.answer == null && cs != null) {
            // the charset the message came in, for camel-mllp's encoding of the answer
            exchange.setProperty(Exchange.CHARSET_NAME, cs.name());
        }
    }

    /**
     * Step "parse": HAPI's pipe parser (the hub's one, every version into the 2.5.1 model) over the text the check
     * step decoded, into the body; MSH-9.1 as the check step read it into the variable {@code hl7MessageType}, for
     * the route's choice. Not camel-hl7's data format: that decodes the bytes a second time (HAPI's pre-parser to
     * find MSH-18) and copies twelve MSH fields into headers, which Hawtio would show and a next step had to drop.
     */
    public void parse(Exchange exchange) throws ca.uhn.hl7v2.HL7Exception, java.io.UnsupportedEncodingException {
        InFlight m = state(exchange);
        if (m.undecodableCharset != null) {
            // the check step could only guess the text: stored as failed (replayable), not mapped from a guess
            throw new java.io.UnsupportedEncodingException(
                    "MSH-18 names a character set this JVM cannot decode: " + m.undecodableCharset);
        }
        exchange.getIn().setBody(io.caravan.mapping.Hl7Parsing.parser().parse(m.raw));
        exchange.setVariable(MESSAGE_TYPE, m.msh.messageType());
    }

    /** The variable the parse step leaves MSH-9.1 in, for a choice in the route. */
    public static final String MESSAGE_TYPE = "hl7MessageType";

    /** The Java name of an HL7 character set (HL7 table 0211), null when MSH-18 names none the table knows. */
    private static String javaCharsetName(String msh18) {
        HL7Charset named = HL7Charset.getHL7Charset(msh18);
        if (named == null) {
            return null;
        }
        // camel-hl7 4.17's table gives GB 18030-2000 an empty Java name (Charset would throw on it)
        return named == HL7Charset.GB_1830_2000 ? "GB18030" : named.getJavaCharsetName();
    }

    private static boolean supported(String javaName) {
        try {
            return Charset.isSupported(javaName);
        } catch (java.nio.charset.IllegalCharsetNameException e) {
            return false;
        }
    }

    private Answer checkMsh(Msh msh) {
        if (msh == null) {
            return Answer.reject("100", "message does not start with an MSH segment", "MSH^1");
        }
        if (msh.fieldCount() < 12) {
            return Answer.reject("101", "MSH is incomplete (MSH-9 to MSH-12 are required)", "MSH^1");
        }
        if (msh.controlId().isEmpty()) {
            return Answer.reject("101", "MSH-10 message control id is missing", "MSH^1^10");
        }
        // HL7's message codes and trigger events are three characters (tables 0076 and 0003); longer ones, up to
        // what the store keeps, are let through for senders' local codes, and anything past it is refused here -
        // else it was ACKed and then failed at the store
        if (msh.trigger().length() > Msh.MAX_TRIGGER) {
            return Answer.reject("201", "MSH-9 message type and trigger event are longer than " + Msh.MAX_TRIGGER
                    + " characters", "MSH^1^9");
        }
        if (msh.controlId().length() > Msh.MAX_CONTROL_ID) {
            return Answer.reject("101", "MSH-10 message control id is longer than " + Msh.MAX_CONTROL_ID
                    + " characters", "MSH^1^10");
        }
        if (!props.acceptedVersions().contains(msh.version())) {
            return Answer.reject("203", "unsupported version id", "MSH^1^12");
        }
        if (!props.acceptedProcessingIds().contains(msh.processingId())) {
            return Answer.reject("202", "unsupported processing id", "MSH^1^11");
        }
        return null;
    }

    /** The choice's test (bean {@code hl7v2MappedType}): MSH-9.1 has at least one mapping (ADT, ORU, SIU...). */
    public boolean mapsMessageType(String messageType) {
        return messageType != null && catalog.messageTypes().contains(messageType);
    }

    /** Step "unsupported type": AR 200, not stored. */
    public void unsupportedType(Exchange exchange) {
        state(exchange).answer = Answer.reject("200", "unsupported message type", "MSH^1^9");
    }

    /** Step "map": the parsed message (the body) mapped with its feed's mappings, or ignored, or failed. */
    public void map(Exchange exchange) {
        InFlight m = state(exchange);
        if (m.msh.triggerEvent().isEmpty()) {
            m.answer = Answer.reject("201", "missing trigger event", "MSH^1^9");
            return;
        }
        Message parsed = exchange.getIn().getBody(Message.class);
        m.read = read(m.msh, m.feed, m.received, () -> parsed);
    }

    /**
     * Step "parse failed" (the route's doCatch around the parse): the answers a message got before it was parsed
     * still come first - an unsupported type is AR 200, a trigger we do not map is ignored - else it is kept as
     * failed, for replay.
     */
    public void parseFailed(Exchange exchange) {
        InFlight m = state(exchange);
        Throwable e = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        if (e instanceof org.apache.camel.CamelExecutionException && e.getCause() != null) {
            e = e.getCause(); // an Error (StackOverflowError on hostile input) comes wrapped
        }
        Throwable cause = e;
        if (!mapsMessageType(m.msh.messageType())) {
            unsupportedType(exchange);
        } else if (m.msh.triggerEvent().isEmpty()) {
            m.answer = Answer.reject("201", "missing trigger event", "MSH^1^9");
        } else {
            m.read = read(m.msh, m.feed, m.received, () -> {
                throw new ParseFailed(cause);
            });
        }
    }

    /** Step "intake": commits what the map step made of the message and waits; the answer follows the outcome. */
    public void commit(Exchange exchange) throws InterruptedException {
        InFlight m = state(exchange);
        if (m.answer != null) {
            return;
        }
        Intake.Committed committed = intake.commit(KIND, m.read, m.raw.getBytes(StandardCharsets.UTF_8),
                m.received);
        if (committed.outcome() == Intake.Outcome.ACCEPTED) {
            metrics.fieldWarnings(m.feed.feedId(), m.read.change().warnings());
        }
        m.answer = answer(m.read, committed.outcome());
    }

    /** The route's last resort: something failed that no step answers for. AE 207, never silence. */
    public void failedUnexpectedly(Exchange exchange) {
        Throwable e = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        log.error("HL7 ingest failed unexpectedly ({})", e == null ? "?" : e.getClass().getName());
        InFlight m = state(exchange);
        if (m == null) {
            m = new InFlight("", null, catalog.defaultFeed());
            exchange.setProperty(STATE, m);
        }
        m.answer = Answer.error("207", "internal error", null);
    }

    /**
     * Step "ACK": builds the acknowledgement and leaves it where camel-mllp sends it from (the
     * {@code CamelMllpAcknowledgement} property); the body becomes the {@link Received} outcome (metadata, no
     * message text) for the folder and HTTP routes.
     */
    public void ack(Exchange exchange) {
        InFlight m = state(exchange);
        Answer answer = m.answer != null ? m.answer : Answer.error("207", "internal error", null);
        String code = ackCode(m.msh, answer);
        String ack = Acks.build(m.msh, code, answer.errorCode, answer.errorText, answer.location);
        metrics.answered(m.feed.feedId(), answer.outcome, System.nanoTime() - m.start);
        exchange.setProperty(MllpConstants.MLLP_ACKNOWLEDGEMENT, ack.getBytes(charset));
        exchange.getIn().setBody(new Received(ack, code,
                m.msh == null || m.msh.controlId().isEmpty() ? null : m.msh.controlId(), answer.errorCode,
                answer.location, answer.resend));
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

    /** How the map step gets the parsed message: the route's hl7 data format, or HAPI here for a stored message. */
    private interface Parsed {
        Message get() throws Exception;
    }

    /** A parse that already failed in the route, carrying what it threw (an Error included). */
    private static final class ParseFailed extends Exception {
        ParseFailed(Throwable cause) {
            super(null, cause, false, false);
        }
    }

    /**
     * Maps one message whose MSH passed the checks. A trigger of a supported type we have no use for (e.g. ADT^A02) is
     * ignored (kept, accepted) without a look at its body; a message that cannot be parsed or mapped is failed, to be
     * kept for replay.
     */
    SourceMessage read(Msh msh, FeedMappings feed, Instant received, Parsed parsed) {
        String trigger = msh.trigger();
        String dedupe = msh.sendingApplication() + "|" + msh.sendingFacility() + "|" + msh.controlId();
        MessageMapping mapping = feed.forTrigger(trigger);
        if (mapping == null) {
            return new SourceMessage(feed.feedId(), trigger, msh.controlId(), dedupe, SourceMessage.IGNORED);
        }
        SourceMessage.Result result;
        try {
            result = new SourceMessage.Mapped(mapper.map(parsed.get(), msh, feed, mapping, received));
        } catch (MappingException e) {
            result = new SourceMessage.Failed("mapping:" + e.hl7ErrorCode(), e.location(), e.hl7ErrorCode(),
                    e.getMessage());
        } catch (Exception | StackOverflowError e) {
            // HAPI's messages quote the offending value: report the kind only
            Throwable kind = e instanceof ParseFailed && e.getCause() != null ? e.getCause() : e;
            result = new SourceMessage.Failed("parse:" + kind.getClass().getSimpleName(), null, "102",
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
        return read(msh, catalog.feedFor(msh.sendingApplication(), msh.sendingFacility()), receivedAt,
                () -> Hl7Parsing.parse(text));
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
