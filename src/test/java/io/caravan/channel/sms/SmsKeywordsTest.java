package io.caravan.channel.sms;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.channel.sms.SmsKeywords.Request;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The MO recognisers as issue 13 lists them, with the look-alikes that must stay ordinary texts. */
class SmsKeywordsTest {

    @ParameterizedTest(name = "\"{0}\" -> {1}")
    @CsvSource(delimiter = ';', value = {
            // every opt-out word, any case, punctuation and spaces around
            "STOP;STOP", "stop;STOP", "  Stop.  ;STOP", "STOP!!!;STOP", "\"stop\";STOP", "StopAll;STOP",
            "UNSUBSCRIBE;STOP", "unsubscribe.;STOP", "CANCEL;STOP", "Cancel!;STOP", "END;STOP", "end;STOP",
            "QUIT;STOP", "quit?;STOP", "REVOKE;STOP", "OPTOUT;STOP", "OPT OUT;STOP", "opt  out;STOP", "Opt-Out;STOP",
            "...STOP...;STOP", "\u00A0STOP\u00A0;STOP",
            // plain-language requests
            "please stop texting me;STOP", "Please stop texting me!;STOP", "Don't text me anymore;STOP",
            "don\u2019t text me anymore;STOP", "do not text me;STOP", "Remove me;STOP", "remove me from this list;STOP",
            "stop sending me texts;STOP", "no more texts please;STOP", "take me off;STOP",
            // help
            "HELP;HELP", "help;HELP", "Help?;HELP", "INFO;HELP", "info.;HELP",
            // re-subscribe
            "START;START", "start;START", "UNSTOP;START", "Yes;START", "YES!;START",
            // look-alikes that must not opt out
            "stopped by the clinic;NONE", "I stopped by the clinic yesterday;NONE", "Can I stop by at 3?;NONE",
            "cancel my appointment please;NONE", "The end of the road;NONE", "STOPP;NONE", "nonstop;NONE",
            "help me find the clinic;NONE", "yes I will be there;NONE", "information;NONE", "'';NONE",
            "Restart;NONE", "unstoppable;NONE"})
    void recognisesKeywordsAndPlainRequestsButNotLookAlikes(String text, Request expected) {
        assertThat(SmsKeywords.recognise(text)).isEqualTo(expected);
    }
}
