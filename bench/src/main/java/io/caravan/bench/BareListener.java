package io.caravan.bench;

import ca.uhn.hl7v2.DefaultHapiContext;
import ca.uhn.hl7v2.HapiContext;
import ca.uhn.hl7v2.parser.CanonicalModelClassFactory;
import ca.uhn.hl7v2.parser.PipeParser;
import ca.uhn.hl7v2.validation.impl.ValidationContextFactory;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.mllp.MllpComponent;
import org.apache.camel.main.Main;

/**
 * The baseline: stock camel-mllp 4.17 with auto-ACK and a full HAPI parse into the 2.5.1 canonical model, storing
 * nothing. What the hub does beyond this (mapping, encryption, the durable commit) is what the ratio measures.
 */
public final class BareListener {

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        HapiContext hapi = new DefaultHapiContext(new CanonicalModelClassFactory("2.5.1"));
        hapi.setValidationContext(ValidationContextFactory.noValidation());
        PipeParser parser = hapi.getPipeParser();
        Main main = new Main();
        MllpComponent mllp = new MllpComponent();
        mllp.setLogPhi(false);
        main.bind("mllp", mllp);
        main.configure().addRoutesBuilder(new RouteBuilder() {
            @Override
            public void configure() {
                from("mllp:127.0.0.1:" + port + "?autoAck=true&hl7Headers=false&reuseAddress=true"
                        + "&maxConcurrentConsumers=128")
                        .routeId("bare-mllp")
                        .process(e -> parser.parse(new String(e.getIn().getBody(byte[].class),
                                java.nio.charset.StandardCharsets.UTF_8)));
            }
        });
        System.out.println("bare listener on " + port);
        main.run();
    }
}
