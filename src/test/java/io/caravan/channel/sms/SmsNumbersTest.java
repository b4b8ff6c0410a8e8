package io.caravan.channel.sms;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Which numbers a text may go to: E.164, of a type that receives texts. */
class SmsNumbersTest {

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
            "+12175550199, true",    // US: fixed-line-or-mobile (the plan cannot tell)
            "+4915123456789, true",  // German mobile
            "+447400123456, true",   // UK mobile
            "+442079460000, false",  // UK landline (London)
            "+498912345678, false",  // German landline (Munich)
            "2175550199, false",     // not E.164
            "+1217555019, false",    // too short for the plan
            "'', false"})
    void textableNumbers(String number, boolean textable) {
        assertThat(SmsNumbers.textable(number.isEmpty() ? null : number)).as(number).isEqualTo(
                textable ? java.util.Optional.of(number) : java.util.Optional.empty());
    }
}
