package io.caravan.consent;

import java.util.List;

/**
 * What is asked of the gate.
 *
 * @param purpose      treatment, payment, operations or marketing
 * @param channel      email, sms, or {@code queue:<adapter id>}
 * @param content      what the message would carry: {@code phi}, {@code phi-free} or {@code deidentified}
 *                     (an event stream's Safe Harbor form)
 * @param remuneration marketing for which the covered entity receives financial remuneration from a third party
 * @param dataCodes    codes the message content derives from ({@code SYSTEM|CODE}, e.g. {@code ICD-10-CM|E11.9}),
 *                     checked against the sensitive categories
 */
public record DecisionRequest(String purpose, String channel, String content, boolean remuneration,
        List<String> dataCodes) {

    public DecisionRequest {
        if (content == null) {
            content = Decision.PHI;
        }
        dataCodes = dataCodes == null ? List.of() : List.copyOf(dataCodes);
    }

    public static DecisionRequest of(String purpose, String channel) {
        return new DecisionRequest(purpose, channel, Decision.PHI, false, List.of());
    }
}
