package io.caravan.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class Hl7BatchTest {

    final Hl7Batch batch = new Hl7Batch();

    @Test
    void aBatchEnvelopeIsDroppedAndEachMessageKeepsItsSegments() {
        String file = "FHS|^~\\&|REGADT|MERCY\r\nBHS|^~\\&|REGADT|MERCY\r\n"
                + "MSH|^~\\&|A|B|||||ADT^A04|1|P|2.5.1\r\nPID|1||M1\r\n"
                + "MSH|^~\\&|A|B|||||ADT^A04|2|P|2.5.1\r\nPID|1||M2\r\n"
                + "BTS|2\r\nFTS|1\r\n";
        assertThat(batch.messages(file)).containsExactly(
                "MSH|^~\\&|A|B|||||ADT^A04|1|P|2.5.1\rPID|1||M1\r",
                "MSH|^~\\&|A|B|||||ADT^A04|2|P|2.5.1\rPID|1||M2\r");
    }

    @Test
    void concatenatedMessagesWithAnyLineEndingAreSplitAtEachHeader() {
        String file = "MSH|^~\\&|A|B|||||ADT^A04|1|P|2.5.1\nPID|1||M1\n\nMSH|^~\\&|A|B|||||ADT^A04|2|P|2.5.1\rPID|1||M2";
        assertThat(batch.messages(file)).containsExactly(
                "MSH|^~\\&|A|B|||||ADT^A04|1|P|2.5.1\rPID|1||M1\r",
                "MSH|^~\\&|A|B|||||ADT^A04|2|P|2.5.1\rPID|1||M2\r");
    }

    @Test
    void textBeforeTheFirstHeaderIsKeptSoItIsAnsweredNotDropped() {
        List<String> messages = batch.messages("garbage\nMSH|^~\\&|A|B|||||ADT^A04|1|P|2.5.1\n");
        assertThat(messages).hasSize(2);
        assertThat(messages.get(0)).isEqualTo("garbage\r");
    }
}
