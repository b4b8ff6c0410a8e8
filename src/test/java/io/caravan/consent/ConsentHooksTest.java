package io.caravan.consent;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** What an inbound text asks for: the TCPA/CTIA opt-out keywords, as people actually type them. */
class ConsentHooksTest {

    @ParameterizedTest(name = "\"{0}\" -> {1}")
    @CsvSource(delimiter = ';', value = {
            "STOP;STOP", "stop;STOP", " Stop. ;STOP", "STOP!;STOP", "StopAll;STOP", "END;STOP", "cancel;STOP",
            "Unsubscribe;STOP", "QUIT;STOP", "revoke;STOP", "optout;STOP", "opt-out;STOP", "opt out;STOP",
            "HELP;HELP", "info?;HELP",
            "stop sending me the newsletter please;NONE", "Yes;NONE", "STOPP;NONE", "'';NONE"})
    void keywordsAreRecognisedAloneWhateverTheCaseOrPunctuation(String body, ConsentHooks.SmsKeyword expected) {
        assertThat(ConsentHooks.classify(body)).isEqualTo(expected);
    }
}
