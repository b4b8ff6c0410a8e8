package io.caravan.channel.sms;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.channel.sms.SmsText.Alphabet;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class SmsTextTest {

    @ParameterizedTest(name = "{0}: {1} x{2} -> {3}, {4} units, {5} segments")
    @CsvSource(delimiter = ';', value = {
            // what;             char;  repeat; alphabet; units; segments
            "plain 160;          a;     160;    GSM7;     160;   1",
            "plain 161;          a;     161;    GSM7;     161;   2",
            "153 fills one part; a;     306;    GSM7;     306;   2",
            "307 needs three;    a;     307;    GSM7;     307;   3",
            "euro is two septets;€;     80;     GSM7;     160;   1",
            "81 euros;           €;     81;     GSM7;     162;   2",
            "brace extension;    {;     1;      GSM7;     2;     1",
            "accented basic;     é;     160;    GSM7;     160;   1",
            "ucs-2 70;           ç;     70;     UCS2;     70;    1",
            "ucs-2 71;           ç;     71;     UCS2;     71;    2",
            "emoji is 2 units;   \uD83D\uDE00; 35; UCS2;  70;    1",
            "36 emoji;           \uD83D\uDE00; 36; UCS2;  72;    2",
    })
    void alphabetUnitsAndSegments(String what, String c, int repeat, Alphabet alphabet, int units, int segments) {
        SmsText.Encoded e = SmsText.encode(c.repeat(repeat));
        assertThat(e.alphabet()).as(what).isEqualTo(alphabet);
        assertThat(e.units()).as(what).isEqualTo(units);
        assertThat(e.segmentCount()).as(what).isEqualTo(segments);
    }

    @Test
    void oneCharacterOutsideGsmMakesTheWholeTextUcs2() {
        assertThat(SmsText.encode("Your visit is on Monday at 9:00. Reply STOP to opt out.").alphabet())
                .isEqualTo(Alphabet.GSM7);
        assertThat(SmsText.encode("Your visit is on Monday at 9:00 \uD83D\uDE00").alphabet()).isEqualTo(Alphabet.UCS2);
        assertThat(SmsText.encode("Cita el miércoles").alphabet()).as("á/é are not all GSM: 'é' is, 'á' is not")
                .isEqualTo(Alphabet.GSM7);
        assertThat(SmsText.encode("mañana á").alphabet()).isEqualTo(Alphabet.UCS2);
    }

    @Test
    void concatenatedSegmentsCarryAUdhWithReferenceTotalAndSequence() {
        SmsText.Encoded e = SmsText.encode("x".repeat(200));
        assertThat(e.segments()).hasSize(2);
        byte[] first = e.segments().get(0);
        byte[] second = e.segments().get(1);
        assertThat(Arrays.copyOf(first, 3)).containsExactly(0x05, 0x00, 0x03);
        assertThat(first[3]).as("same reference").isEqualTo(second[3]);
        assertThat(first[4]).isEqualTo((byte) 2);
        assertThat(first[5]).isEqualTo((byte) 1);
        assertThat(second[5]).isEqualTo((byte) 2);
        assertThat(first.length - 6).isEqualTo(153);
        assertThat(second.length - 6).isEqualTo(47);
    }

    @Test
    void anEscapePairIsNeverSplitAcrossSegments() {
        // 152 plain characters then a euro: 154 septets do not fit the first part, so the euro starts the second
        SmsText.Encoded e = SmsText.encode("a".repeat(152) + "€" + "b".repeat(10));
        assertThat(e.segments()).hasSize(2);
        assertThat(e.segments().get(0).length - 6).isEqualTo(152);
        byte[] second = e.segments().get(1);
        assertThat(second[6]).isEqualTo((byte) 0x1B);
        assertThat(SmsText.decodeGsm7(Arrays.copyOfRange(second, 6, second.length))).isEqualTo("€" + "b".repeat(10));
    }

    @Test
    void aSurrogatePairIsNeverSplitAcrossSegments() {
        SmsText.Encoded e = SmsText.encode("ç".repeat(66) + "\uD83D\uDE00" + "ççç");
        assertThat(e.segments()).hasSize(2);
        assertThat(e.segments().get(0).length - 6).isEqualTo(66 * 2);
    }

    @Test
    void gsmSeptetsRoundTrip() {
        String s = "Hello @ £5 {ok} [x] ~|^\\ €100 ÄÖÑÜ äöñüà";
        assertThat(SmsText.decodeGsm7(SmsText.encode(s).segments().get(0))).isEqualTo(s);
    }
}
