package io.caravan.consent;

import java.util.List;
import java.util.UUID;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.springframework.stereotype.Component;

/**
 * The gate as a Camel step ({@code - process: {ref: consentGate}}), used when a message is planned and again at the
 * moment it is sent. Reads exchange properties — never headers, which Hawtio can show — and leaves the decision in
 * {@value #DECISION} and its verdict in {@value #ALLOWED} for the route's {@code filter} or {@code choice}.
 *
 * <p>In: {@value #CONTACT} (UUID), {@value #PURPOSE}, {@value #CHANNEL}, optional {@value #CONTENT} ({@code phi} or
 * {@code phi-free}), {@value #REMUNERATION}, {@value #DATA_CODES} (list of {@code SYSTEM|CODE}) and {@value #STAGE}
 * ({@code plan} or {@code send}). The decision's audit entry is durable before the route goes on.
 */
@Component("consentGate")
public class ConsentGate implements Processor {

    public static final String CONTACT = "CaravanContactId";
    public static final String PURPOSE = "CaravanPurpose";
    public static final String CHANNEL = "CaravanChannel";
    public static final String CONTENT = "CaravanContent";
    public static final String REMUNERATION = "CaravanRemuneration";
    public static final String DATA_CODES = "CaravanDataCodes";
    public static final String STAGE = "CaravanStage";
    public static final String DECISION = "CaravanDecision";
    public static final String ALLOWED = "CaravanAllowed";

    private final ConsentService consents;

    public ConsentGate(ConsentService consents) {
        this.consents = consents;
    }

    @Override
    public void process(Exchange ex) {
        UUID contact = ex.getProperty(CONTACT, UUID.class);
        @SuppressWarnings("unchecked")
        List<String> codes = ex.getProperty(DATA_CODES, List.class);
        DecisionRequest req = new DecisionRequest(ex.getProperty(PURPOSE, String.class),
                ex.getProperty(CHANNEL, String.class), ex.getProperty(CONTENT, Decision.PHI, String.class),
                ex.getProperty(REMUNERATION, false, Boolean.class), codes);
        ConsentService.Stage stage = "send".equals(ex.getProperty(STAGE, String.class)) ? ConsentService.Stage.SEND
                : ConsentService.Stage.PLAN;
        Decision d = consents.decide(contact, req, "route:" + ex.getFromRouteId(), stage);
        ex.setProperty(DECISION, d);
        ex.setProperty(ALLOWED, d.allowed());
    }
}
