package io.caravan.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.support.Hl7Messages;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.http.ResponseEntity;

/** HL7 v2 files dropped into the watched folder, as an integration engineer's script drops them. */
class FolderIntakeIT extends IntakeHub {

    static final ObjectMapper JSON = new ObjectMapper();

    @Autowired
    TestRestTemplate rest;

    Path inbox() {
        return hub().dataDir.resolve("inbox/hl7v2");
    }

    /** Drops a file the safe way (written under a hidden name, then renamed), as the README recommends. */
    void drop(String name, String text) throws Exception {
        Files.createDirectories(inbox());
        Path tmp = inbox().resolve("." + name);
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, inbox().resolve(name));
    }

    int eventsOf(String mrn) throws Exception {
        JsonNode found = get("/api/contacts?identifier={id}", "MERCY|" + mrn);
        if (found.isEmpty()) {
            return 0;
        }
        return get("/api/contacts/{id}/events", found.get(0).get("id").asText()).size();
    }

    JsonNode contact(String mrn) throws Exception {
        return get("/api/contacts?identifier={id}", "MERCY|" + mrn).get(0);
    }

    JsonNode get(String path, Object... vars) throws Exception {
        ResponseEntity<String> r = rest.withBasicAuth("admin", hub().adminPassword())
                .getForEntity(path, String.class, vars);
        assertThat(r.getStatusCode().is2xxSuccessful()).as(path + " -> " + r.getStatusCode()).isTrue();
        return JSON.readTree(r.getBody());
    }

    static String a04(String ctl, String mrn, String family) {
        return Hl7Messages.a04(ctl, mrn, family, "Pat", "pat@example.org");
    }

    @Test
    void aBatchWithOneBrokenMessageCommitsTheOthersAndFailsTheFileWithItsOutcome() throws Exception {
        String ok1 = Hl7Messages.controlId();
        String bad = Hl7Messages.controlId();
        String ok2 = Hl7Messages.controlId();
        // the broken one has no patient identifier in PID-3: the hub cannot do without it (AE, stored as failed)
        String broken = a04(bad, "FB-" + bad, "Brokenfamily").replace("PID|1||FB-" + bad + "^^^MERCY^MR|", "PID|1|||");
        String file = "FHS|^~\\&|REGADT|MERCY\r\nBHS|^~\\&|REGADT|MERCY\r\n"
                + a04(ok1, "FB-" + ok1, "Firstfamily") + broken + a04(ok2, "FB-" + ok2, "Lastfamily")
                + "BTS|3\r\nFTS|1\r\n";
        drop("batch-" + ok1 + ".hl7", file);

        Path failed = inbox().resolve(".failed/batch-" + ok1 + ".hl7");
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(failed)
                && !Files.exists(inbox().resolve("batch-" + ok1 + ".hl7")));
        assertThat(Files.readString(failed)).as("the operator gets the file as it was, to fix").isEqualTo(file);
        assertThat(inbox().resolve(".done/batch-" + ok1 + ".hl7")).doesNotExist();
        assertThat(eventsOf("FB-" + ok1)).isEqualTo(1);
        assertThat(eventsOf("FB-" + ok2)).isEqualTo(1);

        String outcomeText = Files.readString(inbox().resolve(".failed/batch-" + ok1 + ".hl7.outcome.json"));
        JsonNode outcome = JSON.readTree(outcomeText);
        assertThat(outcome.get("messages").asInt()).isEqualTo(3);
        assertThat(outcome.get("accepted").asInt()).isEqualTo(2);
        JsonNode each = outcome.get("outcomes");
        assertThat(each.get(0).get("controlId").asText()).isEqualTo(ok1);
        assertThat(each.get(0).get("outcome").asText()).isEqualTo("accepted");
        assertThat(each.get(1).get("controlId").asText()).isEqualTo(bad);
        assertThat(each.get(1).get("ack").asText()).isEqualTo("AE");
        assertThat(each.get(1).get("errorCode").asText()).isNotBlank();
        assertThat(each.get(1).has("location")).as(outcomeText).isTrue();
        assertThat(each.get(2).get("outcome").asText()).isEqualTo("accepted");
        // no PHI: names, identifiers, addresses stay in the message
        assertThat(outcomeText).doesNotContain("Brokenfamily", "Firstfamily", "FB-", "example.org", "Main St");
    }

    /** The hub keeps each message sealed; a plaintext copy of the file would be PHI at rest in the clear. */
    @Test
    void aFileOfAcceptedMessagesIsDeletedAndNoPlaintextCopyIsKept() throws Exception {
        String ctl = Hl7Messages.controlId();
        String family = "Donefam" + ctl.replaceAll("[^0-9]", "");
        drop("single-" + ctl + ".hl7", a04(ctl, "FD-" + ctl, family).replace("\r", "\n"));
        await().atMost(Duration.ofSeconds(30)).until(() -> !Files.exists(inbox().resolve("single-" + ctl + ".hl7")));
        assertThat(eventsOf("FD-" + ctl)).isEqualTo(1);
        assertThat(contact("FD-" + ctl).toString()).contains(family);
        assertThat(inbox().resolve(".done/single-" + ctl + ".hl7")).doesNotExist();
        assertThat(inbox().resolve(".failed/single-" + ctl + ".hl7.outcome.json")).doesNotExist();
        byte[] needle = family.getBytes(StandardCharsets.UTF_8);
        try (var files = Files.walk(hub().dataDir)) {
            assertThat(files.filter(Files::isRegularFile).filter(f -> contains(f, needle)).toList())
                    .as("files under the data dir holding the family name in the clear").isEmpty();
        }
    }

    static boolean contains(Path file, byte[] needle) {
        try {
            return io.caravan.support.Bytes.contains(Files.readAllBytes(file), needle);
        } catch (java.io.IOException gone) {
            return false; // a file rotated away while we walked
        }
    }

    @Test
    void aFileWrittenSlowlyInPiecesIsNotReadHalfWay() throws Exception {
        String c1 = Hl7Messages.controlId();
        String c2 = Hl7Messages.controlId();
        String text = a04(c1, "FS-" + c1, "Slowone") + a04(c2, "FS-" + c2, "Slowtwofamilyname");
        // the first piece ends inside the second message's family name: read then, it would be a valid message
        // with a truncated name, and the rest of the file a broken one
        int cut = text.indexOf("Slowtwo") + 4;
        String[] pieces = {text.substring(0, cut), text.substring(cut, cut + 3), text.substring(cut + 3, cut + 6),
            text.substring(cut + 6)};
        Files.createDirectories(inbox());
        Path file = inbox().resolve("slow-" + c1 + ".hl7");
        for (String piece : pieces) {
            Files.writeString(file, piece, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
            Thread.sleep(700); // shorter than min-age, longer than the folder's poll and the lock's check interval
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> !Files.exists(file));
        assertThat(inbox().resolve(".failed")).satisfiesAnyOf(
                p -> assertThat(p).doesNotExist(),
                p -> assertThat(Files.list(p).filter(f -> f.getFileName().toString().startsWith("slow-" + c1)))
                        .isEmpty());
        assertThat(file).doesNotExist();
        assertThat(eventsOf("FS-" + c1)).isEqualTo(1);
        assertThat(eventsOf("FS-" + c2)).isEqualTo(1);
        assertThat(contact("FS-" + c2).toString()).contains("Slowtwofamilyname");
    }
}
