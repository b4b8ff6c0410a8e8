package io.caravan.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the end of a watched-folder file leaves beside the inbox (the route's consumer deletes the file after it). */
class Hl7FolderOutcomeTest {

    @TempDir
    Path inbox;

    Exchange finished(String name, List<Hl7Ingest.Received> answers) throws Exception {
        Files.writeString(inbox.resolve(name), "MSH|^~\\&|A|B\r");
        Exchange e = new DefaultExchange(new DefaultCamelContext());
        e.getIn().setHeader(Exchange.FILE_NAME_ONLY, name);
        e.getIn().setHeader(Exchange.FILE_PARENT, inbox.toString());
        e.getIn().setBody(answers);
        return e;
    }

    static Hl7Ingest.Received answer(String code) {
        return new Hl7Ingest.Received("", code, "CTL1", code.equals("AA") ? null : "101", null, false);
    }

    @Test
    void byDefaultNothingIsCopiedForAnAcceptedFile() throws Exception {
        new Hl7FolderOutcome(false).finish(finished("a.hl7", List.of(answer("AA"))));
        assertThat(inbox.resolve(".done")).doesNotExist();
        assertThat(inbox.resolve(".failed")).doesNotExist();
    }

    @Test
    void keepDoneCopiesAnAcceptedFileWhole() throws Exception {
        new Hl7FolderOutcome(true).finish(finished("b.hl7", List.of(answer("AA"), answer("AA"))));
        assertThat(Files.readString(inbox.resolve(".done/b.hl7"))).isEqualTo("MSH|^~\\&|A|B\r");
        assertThat(Files.list(inbox.resolve(".done")).map(p -> p.getFileName().toString()).toList())
                .containsExactly("b.hl7");
    }

    @Test
    void aFileWithAnErrorIsCopiedToFailedBesideItsOutcome() throws Exception {
        new Hl7FolderOutcome(false).finish(finished("c.hl7", List.of(answer("AA"), answer("AE"))));
        assertThat(Files.readString(inbox.resolve(".failed/c.hl7"))).isEqualTo("MSH|^~\\&|A|B\r");
        assertThat(Files.readString(inbox.resolve(".failed/c.hl7.outcome.json"))).contains("\"accepted\" : 1");
        assertThat(inbox.resolve(".done")).doesNotExist();
    }
}
