package io.caravan.ingest;

import org.apache.camel.Predicate;
import org.apache.camel.Processor;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The steps of {@code routes/hl7v2-intake.yaml}, each a {@link Processor} or {@link Predicate} bean named as the route
 * names it. A {@code process} step calls its processor directly, where a {@code bean} step would bind the method's
 * arguments by reflection for every message, and a {@code method} test in a choice runs a whole bean processor on a
 * copy of the exchange; an MLLP feed passes every message through all of them.
 */
@Configuration
class Hl7v2IntakeSteps {

    @Bean("hl7v2Check")
    Processor check(Hl7Ingest ingest) {
        return ingest::check;
    }

    /** True until a step has answered the message: the steps up to the ACK pass an answered message by. */
    @Bean("hl7v2Open")
    Predicate open() {
        return exchange -> {
            Hl7Ingest.InFlight m = exchange.getProperty(Hl7Ingest.STATE, Hl7Ingest.InFlight.class);
            return m != null && !m.isAnswered();
        };
    }

    @Bean("hl7v2Parse")
    Processor parse(Hl7Ingest ingest) {
        return ingest::parse;
    }

    /** The choice's test: MSH-9.1, left by the parse step in the variable {@code hl7MessageType}, has a mapping. */
    @Bean("hl7v2MappedType")
    Predicate mappedType(Hl7Ingest ingest) {
        return exchange -> ingest.mapsMessageType(exchange.getVariable(Hl7Ingest.MESSAGE_TYPE, String.class));
    }

    @Bean("hl7v2Map")
    Processor map(Hl7Ingest ingest) {
        return ingest::map;
    }

    @Bean("hl7v2UnsupportedType")
    Processor unsupportedType(Hl7Ingest ingest) {
        return ingest::unsupportedType;
    }

    @Bean("hl7v2ParseFailed")
    Processor parseFailed(Hl7Ingest ingest) {
        return ingest::parseFailed;
    }

    @Bean("hl7v2Commit")
    Processor commit(Hl7Ingest ingest) {
        return ingest::commit;
    }

    @Bean("hl7v2Failed")
    Processor failed(Hl7Ingest ingest) {
        return ingest::failedUnexpectedly;
    }

    @Bean("hl7v2Ack")
    Processor ack(Hl7Ingest ingest) {
        return ingest::ack;
    }
}
