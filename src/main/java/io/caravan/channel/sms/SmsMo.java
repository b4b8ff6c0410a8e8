package io.caravan.channel.sms;

import org.springframework.stereotype.Component;

/** MO texts from patients: the keyword recognisers and the inbound event (issue 13, item 5). */
@Component
public class SmsMo {

    /** A text from {@code source} (SMPP digits of the sender's number). Never logs either. */
    public void received(String source, String text) {
        // recognisers land in the next step
    }
}
