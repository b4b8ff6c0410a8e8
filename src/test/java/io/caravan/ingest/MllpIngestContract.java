package io.caravan.ingest;

import static io.caravan.support.MllpTestClient.field;
import static io.caravan.support.MllpTestClient.msa1;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ca.uhn.hl7v2.DefaultHapiContext;
import ca.uhn.hl7v2.HapiContext;
import ca.uhn.hl7v2.app.Connection;
import ca.uhn.hl7v2.model.Message;
import ca.uhn.hl7v2.util.Terser;
import ca.uhn.hl7v2.validation.impl.ValidationContextFactory;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.support.Hl7Messages;
import io.caravan.support.MllpTestClient;
import io.caravan.support.TestHub;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.http.ResponseEntity;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The MLLP feed as a hospital's interface engine sees it, against the running hub, on each store. Valid traffic goes
 * through HAPI's own MLLP client; what HAPI will not send (garbage, pipelined frames) through a raw socket.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
abstract class MllpIngestContract {

    static final HapiContext HAPI = new DefaultHapiContext();
    static final ObjectMapper JSON = new ObjectMapper();
    static final Path HOSTILE = Path.of("src/test/resources/hl7-hostile");

    static {
        HAPI.setValidationContext(ValidationContextFactory.noValidation());
    }

    @Autowired
    TestRestTemplate rest;
    @Autowired
    JdbcTemplate jdbc;

    abstract TestHub hub();

    @AfterAll
    static void closeHapi() throws IOException {
        HAPI.getConnectionHub().discardAll();
    }

    Message sendWithHapi(String raw) throws Exception {
        Connection c = HAPI.newClient("127.0.0.1", hub().mllpPort, false);
        c.getInitiator().setTimeout(20, java.util.concurrent.TimeUnit.SECONDS);
        return c.getInitiator().sendAndReceive(HAPI.getPipeParser().parse(raw));
    }

    JsonNode get(String path, Object... vars) throws IOException {
        ResponseEntity<String> r = rest.withBasicAuth("admin", hub().adminPassword())
                .getForEntity(path, String.class, vars);
        assertThat(r.getStatusCode().is2xxSuccessful()).as(path + " -> " + r.getStatusCode()).isTrue();
        return JSON.readTree(r.getBody());
    }

    JsonNode contactByMrn(String mrn) throws IOException {
        return get("/api/contacts?identifier={id}", "MERCY|" + mrn);
    }

    @Test
    void anAdtIsAcknowledgedAaOnlyOnceStoredAndTheContactAndEventAreReadable() throws Exception {
        String mrn = "MRN-" + Hl7Messages.controlId();
        String ctl = Hl7Messages.controlId();
        Message ack = sendWithHapi(Hl7Messages.a04(ctl, mrn, "Lovelace", "Ada", "Ada.Lovelace@Example.ORG"));
        Terser t = new Terser(ack);
        assertThat(t.get("/MSA-1")).isEqualTo("AA");
        assertThat(t.get("/MSA-2")).isEqualTo(ctl);
        // AA means committed: the contact is there at once, no waiting
        JsonNode contacts = contactByMrn(mrn);
        assertThat(contacts).hasSize(1);
        JsonNode c = contacts.get(0);
        assertThat(c.at("/name/family").asText()).isEqualTo("Lovelace");
        assertThat(c.at("/email").asText()).isEqualTo("ada.lovelace@example.org");
        assertThat(c.at("/phone").asText()).isEqualTo("+12175550199");
        assertThat(c.at("/language").asText()).isEqualTo("en");
        assertThat(c.at("/birthDate").asText()).isEqualTo("1980-01-01");
        JsonNode events = get("/api/contacts/" + c.get("id").asText() + "/events");
        assertThat(events).hasSize(1);
        assertThat(events.get(0).get("type").asText()).isEqualTo("patient.registered");
        assertThat(events.get(0).at("/source/messageControlId").asText()).isEqualTo(ctl);
        assertThat(events.get(0).get("occurredAt").asText()).isEqualTo("2026-03-01T09:00:00-05:00");
        assertThat(get("/api/contacts/" + c.get("id").asText()).at("/name/given/0").asText()).isEqualTo("Ada");
    }

    @Test
    void aResendOfTheSameMessageIsAcknowledgedAgainAndChangesNothing() throws Exception {
        String mrn = "MRN-" + Hl7Messages.controlId();
        String msg = Hl7Messages.a04(Hl7Messages.controlId(), mrn, "Hopper", "Grace", "grace@example.org");
        assertThat(new Terser(sendWithHapi(msg)).get("/MSA-1")).isEqualTo("AA");
        JsonNode before = contactByMrn(mrn).get(0);
        assertThat(new Terser(sendWithHapi(msg)).get("/MSA-1")).isEqualTo("AA");
        JsonNode after = contactByMrn(mrn).get(0);
        assertThat(after).isEqualTo(before);
        assertThat(get("/api/contacts/" + after.get("id").asText() + "/events")).hasSize(1);
        Integer rows = jdbc.queryForObject(
                "SELECT COUNT(*) FROM inbound_message WHERE contact_id = ?", Integer.class,
                java.util.UUID.fromString(after.get("id").asText()));
        assertThat(rows).isEqualTo(1);
    }

    @Test
    void unsupportedTypeVersionOrProcessingIdIsRejectedWithAnErrSegment() throws Exception {
        String base = Hl7Messages.a04("X", "MRN-R", "Reject", "Me", "r@example.org");
        try (MllpTestClient c = new MllpTestClient(hub().mllpPort)) {
            String mdm = c.exchange(base.replace("ADT^A04^ADT_A01|X|", "MDM^T02^MDM_T02|R1|"), 5000);
            assertThat(msa1(mdm)).isEqualTo("AR");
            assertThat(field(mdm, "MSA", 2)).isEqualTo("R1");
            assertThat(field(mdm, "ERR", 3)).startsWith("200^");
            String version = c.exchange(base.replace("|X|P|2.5.1", "|R2|P|9.9"), 5000);
            assertThat(msa1(version)).isEqualTo("AR");
            assertThat(field(version, "ERR", 3)).startsWith("203^");
            String debug = c.exchange(base.replace("|X|P|2.5.1", "|R3|D|2.5.1"), 5000);
            assertThat(msa1(debug)).isEqualTo("AR");
            assertThat(field(debug, "ERR", 3)).startsWith("202^");
            String noControlId = c.exchange(base.replace("|X|P|2.5.1", "||P|2.5.1"), 5000);
            assertThat(msa1(noControlId)).isEqualTo("AR");
            // longer than the store keeps: refused at once, not ACKed and then failed at the store
            String longTrigger = c.exchange(base.replace("ADT^A04^ADT_A01|X|", "ADT^A04XXXXXXXXXXXX^ADT_A01|R4|"),
                    5000);
            assertThat(msa1(longTrigger)).isEqualTo("AR");
            assertThat(field(longTrigger, "ERR", 3)).startsWith("201^").contains("16 characters");
            String longControlId = c.exchange(base.replace("|X|P|2.5.1", "|" + "R".repeat(200) + "|P|2.5.1"), 5000);
            assertThat(msa1(longControlId)).isEqualTo("AR");
            assertThat(field(longControlId, "ERR", 3)).startsWith("101^");
        }
        assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM inbound_message WHERE control_id IN ('R4', ?)",
                Integer.class, "R".repeat(200))).isZero();
        assertThat(contactByMrn("MRN-R")).isEmpty();
    }

    @Test
    void aMessageThatCannotBeMappedGetsAeWithTheFieldAndIsKeptForReplay() throws Exception {
        String ctl = Hl7Messages.controlId();
        String noPid3 = Hl7Messages.a04(ctl, "MRN-GONE", "No", "Id", "n@example.org")
                .replace("MRN-GONE^^^MERCY^MR", "");
        try (MllpTestClient c = new MllpTestClient(hub().mllpPort)) {
            String ack = c.exchange(noPid3, 5000);
            assertThat(msa1(ack)).isEqualTo("AE");
            assertThat(field(ack, "ERR", 2)).isEqualTo("PID^1^3");
            assertThat(field(ack, "ERR", 3)).startsWith("101^");
            assertThat(ack).doesNotContain("No^Id");
        }
        assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM inbound_message WHERE status = 'failed' "
                + "AND error_code = 'mapping:101'", Integer.class)).isGreaterThanOrEqualTo(1);
    }

    @Test
    void framesPipelinedInOneWriteAreAllProcessedAndAcknowledgedInOrder() throws Exception {
        List<String> ids = new ArrayList<>();
        List<String> msgs = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            String ctl = Hl7Messages.controlId();
            ids.add(ctl);
            msgs.add(Hl7Messages.a04(ctl, "MRN-P" + ctl, "Pipe", "Line" + i, "p" + i + "@example.org"));
        }
        try (MllpTestClient c = new MllpTestClient(hub().mllpPort)) {
            c.sendPipelined(msgs.toArray(String[]::new));
            for (String ctl : ids) {
                String ack = c.readAck(10_000);
                assertThat(ack).as("ACK for " + ctl).isNotNull();
                assertThat(msa1(ack)).isEqualTo("AA");
                assertThat(field(ack, "MSA", 2)).isEqualTo(ctl);
            }
        }
        for (String ctl : ids) {
            assertThat(contactByMrn("MRN-P" + ctl)).hasSize(1);
        }
    }

    @Test
    void aFrameDribbledByteByByteAndStrayBytesBetweenFramesAreHandled() throws Exception {
        String ctl = Hl7Messages.controlId();
        byte[] frame = MllpTestClient.frame(Hl7Messages.a04(ctl, "MRN-S" + ctl, "Slow", "Sender", "s@example.org"));
        try (MllpTestClient c = new MllpTestClient(hub().mllpPort)) {
            c.write("\r\n\n".getBytes());
            for (int i = 0; i < frame.length; i += 40) {
                c.write(java.util.Arrays.copyOfRange(frame, i, Math.min(frame.length, i + 40)));
                Thread.sleep(5);
            }
            String ack = c.readAck(10_000);
            assertThat(msa1(ack)).isEqualTo("AA");
            assertThat(field(ack, "MSA", 2)).isEqualTo(ctl);
        }
    }

    @Test
    void enhancedModeAnswersWithACommitAckEvenWhenMsh15SaysNever() throws Exception {
        String al = Hl7Messages.controlId();
        String ne = Hl7Messages.controlId();
        String er = Hl7Messages.controlId();
        String base = Hl7Messages.a04("CTL", "MRN-E", "Enhanced", "Mode", "e@example.org");
        try (MllpTestClient c = new MllpTestClient(hub().mllpPort)) {
            String ack = c.exchange(base.replace("|CTL|P|2.5.1", "|" + al + "|P|2.5.1|||AL|NE")
                    .replace("MRN-E", "MRN-E" + al), 5000);
            assertThat(msa1(ack)).isEqualTo("CA");
            // NE (public ELR samples send NE/NE) and ER: an MLLP sender still waits for a frame - it gets the
            // commit ACK at once instead of waiting for its timeout, and the message is committed before it
            assertThat(msa1(c.exchange(base.replace("|CTL|P|2.5.1", "|" + ne + "|P|2.5.1|||NE|NE")
                    .replace("MRN-E", "MRN-E" + ne), 5000))).isEqualTo("CA");
            assertThat(msa1(c.exchange(base.replace("|CTL|P|2.5.1", "|" + er + "|P|2.5.1|||ER|NE")
                    .replace("MRN-E", "MRN-E" + er), 5000))).isEqualTo("CA");
            // a rejection in enhanced mode is a commit reject, NE or not
            assertThat(msa1(c.exchange(base.replace("|CTL|P|2.5.1", "|" + Hl7Messages.controlId()
                    + "|P|9.9|||NE|NE"), 5000))).isEqualTo("CR");
        }
        assertThat(contactByMrn("MRN-E" + al)).hasSize(1);
        assertThat(contactByMrn("MRN-E" + ne)).hasSize(1);
        assertThat(contactByMrn("MRN-E" + er)).hasSize(1);
    }

    @Test
    void hostileInputsGetAnAnswerOrAClosedConnectionAndNeverWedgeTheListener() throws Exception {
        List<Path> files;
        try (Stream<Path> s = Files.walk(HOSTILE)) {
            files = s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith("SOURCES"))
                    .sorted().toList();
        }
        assertThat(files).isNotEmpty();
        for (Path f : files) {
            byte[] body = Files.readAllBytes(f);
            try (MllpTestClient c = new MllpTestClient(hub().mllpPort)) {
                java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
                b.write(0x0b);
                b.writeBytes(body);
                b.write(0x1c);
                b.write(0x0d);
                c.write(b.toByteArray());
                String ack = c.readAck(10_000);
                if (ack != null) {
                    assertThat(msa1(ack)).as(f.toString()).isIn("AA", "AE", "AR", "CA", "CE", "CR");
                }
            }
        }
        // the listener still serves valid traffic
        String ctl = Hl7Messages.controlId();
        assertThat(new Terser(sendWithHapi(Hl7Messages.a04(ctl, "MRN-H" + ctl, "After", "Fuzz", "a@example.org")))
                .get("/MSA-1")).isEqualTo("AA");
    }

    @Test
    void idleConnectionsAreClosedAndTruncatedFramesDropTheConnectionWithoutStoringAnything() throws Exception {
        try (MllpTestClient idle = new MllpTestClient(hub().mllpPort)) {
            assertThat(idle.closedByHub(8_000)).isTrue();
        }
        try (MllpTestClient cut = new MllpTestClient(hub().mllpPort)) {
            byte[] f = MllpTestClient.frame(Hl7Messages.a04("CUT1", "MRN-CUT", "Cut", "Short", "c@example.org"));
            cut.write(java.util.Arrays.copyOf(f, f.length / 2));
            assertThat(cut.closedByHub(8_000)).isTrue();
        }
        assertThat(contactByMrn("MRN-CUT")).isEmpty();
    }

    @Test
    void aHundredConcurrentConnectionsAreServedWithBoundedThreads() throws Exception {
        int connections = 100;
        ExecutorService pool = Executors.newFixedThreadPool(connections);
        try {
            List<Callable<Integer>> senders = new ArrayList<>();
            for (int i = 0; i < connections; i++) {
                senders.add(() -> {
                    int ok = 0;
                    try (MllpTestClient c = new MllpTestClient(hub().mllpPort)) {
                        for (int m = 0; m < 5; m++) {
                            String ctl = Hl7Messages.controlId();
                            String ack = c.exchange(Hl7Messages.a04(ctl, "MRN-C" + ctl, "Con", "Current",
                                    "c@example.org"), 30_000);
                            if (ack != null && msa1(ack).equals("AA") && field(ack, "MSA", 2).equals(ctl)) {
                                ok++;
                            }
                        }
                        long mllpThreads = Thread.getAllStackTraces().keySet().stream()
                                .filter(t -> t.getName().startsWith("mllp-connection-" + hub().mllpPort + "-"))
                                .count();
                        assertThat(mllpThreads).isLessThanOrEqualTo(128);
                    }
                    return ok;
                });
            }
            int total = 0;
            for (Future<Integer> f : pool.invokeAll(senders)) {
                total += f.get();
            }
            assertThat(total).isEqualTo(connections * 5);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aMergeKeepsBothIdentifiersResolvableToTheSurvivorWithAllEvents() throws Exception {
        String survivor = "MRN-A" + Hl7Messages.controlId();
        String prior = "MRN-B" + Hl7Messages.controlId();
        assertThat(new Terser(sendWithHapi(Hl7Messages.a04(Hl7Messages.controlId(), survivor, "Keep", "Me",
                "k@example.org"))).get("/MSA-1")).isEqualTo("AA");
        assertThat(new Terser(sendWithHapi(Hl7Messages.s12(Hl7Messages.controlId(), prior, "20260401100000-0500")))
                .get("/MSA-1")).isEqualTo("AA");
        String priorId = contactByMrn(prior).get(0).get("id").asText();
        assertThat(new Terser(sendWithHapi(Hl7Messages.a40(Hl7Messages.controlId(), survivor, prior)))
                .get("/MSA-1")).isEqualTo("AA");
        JsonNode a = contactByMrn(survivor).get(0);
        JsonNode b = contactByMrn(prior).get(0);
        assertThat(b.get("id")).isEqualTo(a.get("id"));
        assertThat(a.get("identifiers").findValuesAsText("value")).contains(survivor, prior);
        assertThat(get("/api/contacts/" + priorId).get("id")).isEqualTo(a.get("id"));
        List<String> types = get("/api/contacts/" + a.get("id").asText() + "/events").findValuesAsText("type");
        assertThat(types).containsExactly("patient.registered", "appointment.booked", "patient.merged");
    }

    @Test
    void anOlderUpdateDoesNotOverwriteNewerDemographics() throws Exception {
        String mrn = "MRN-O" + Hl7Messages.controlId();
        OffsetDateTime newer = OffsetDateTime.parse("2026-05-02T10:00:00Z");
        OffsetDateTime older = OffsetDateTime.parse("2026-05-01T10:00:00Z");
        sendWithHapi(Hl7Messages.adt("A08", Hl7Messages.controlId(), mrn, "Newer", "Name", "new@example.org", newer));
        sendWithHapi(Hl7Messages.adt("A08", Hl7Messages.controlId(), mrn, "Older", "Name", "old@example.org", older));
        JsonNode c = contactByMrn(mrn).get(0);
        assertThat(c.at("/name/family").asText()).isEqualTo("Newer");
        assertThat(c.at("/email").asText()).isEqualTo("new@example.org");
        // both events are kept, oldest first
        assertThat(get("/api/contacts/" + c.get("id").asText() + "/events").findValuesAsText("occurredAt"))
                .containsExactly("2026-05-01T10:00:00Z", "2026-05-02T10:00:00Z");
    }
}
