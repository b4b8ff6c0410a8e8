package io.caravan.mapping;

import ca.uhn.hl7v2.DefaultHapiContext;
import ca.uhn.hl7v2.HL7Exception;
import ca.uhn.hl7v2.HapiContext;
import ca.uhn.hl7v2.model.Message;
import ca.uhn.hl7v2.parser.CanonicalModelClassFactory;
import ca.uhn.hl7v2.parser.PipeParser;
import ca.uhn.hl7v2.validation.impl.ValidationContextFactory;

/**
 * HAPI configured once for the hub: every version 2.1–2.8 parsed into the 2.5.1 canonical model, HAPI's structural
 * validation off (the hub checks what it needs). A HapiContext per message would cost milliseconds.
 */
public final class Hl7Parsing {

    private static final HapiContext CONTEXT;
    private static final PipeParser PARSER;

    static {
        CONTEXT = new DefaultHapiContext(new CanonicalModelClassFactory("2.5.1"));
        CONTEXT.setValidationContext(ValidationContextFactory.noValidation());
        PARSER = CONTEXT.getPipeParser();
    }

    private Hl7Parsing() {
    }

    public static Message parse(String er7) throws HL7Exception {
        return PARSER.parse(er7);
    }

    /** The parser {@link #parse} uses: the one the route's hl7 data format is given. */
    public static PipeParser parser() {
        return PARSER;
    }

    public static HapiContext context() {
        return CONTEXT;
    }
}
