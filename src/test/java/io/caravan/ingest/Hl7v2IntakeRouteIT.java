package io.caravan.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.support.Hl7Messages;
import io.caravan.support.MllpTestClient;
import io.caravan.support.TestHub;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.AdviceWith;
import org.apache.camel.test.spring.junit5.CamelSpringBootTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The HL7 v2 intake route (routes/hl7v2-intake.yaml), advised by route id: the message type is chosen in the route
 * (an unsupported type never reaches the map step), a parse failure is stored and answered AE, and no MSH value is
 * left in a header, where Hawtio would show it.
 */
@CamelSpringBootTest
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@DirtiesContext
class Hl7v2IntakeRouteIT {

    static final TestHub HUB = TestHub.named("hl7v2-route");

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        HUB.register(r);
    }

    @Autowired
    CamelContext camel;
    @Autowired
    ProducerTemplate producer;
    @Autowired
    JdbcTemplate jdbc;
    @Autowired
    io.caravan.contact.ContactWriter writer;

    /** Every header, and the state property's text, as the route leaves them. */
    static final List<Map<String, Object>> headersAfter = new CopyOnWriteArrayList<>();
    static final List<String> stateAfter = new CopyOnWriteArrayList<>();
    static final AtomicInteger mapped = new AtomicInteger();
    /** PID-5.1 of each message the map step got, as HAPI parsed it. */
    static final List<String> parsedFamilyNames = new CopyOnWriteArrayList<>();
    static boolean advised;

    @BeforeEach
    void advise() throws Exception {
        if (advised) {
            return;
        }
        AdviceWith.adviceWith(camel, "hl7v2-intake", a -> {
            a.weaveById("hl7v2-map").before().process(e -> {
                mapped.incrementAndGet();
                parsedFamilyNames.add(new ca.uhn.hl7v2.util.Terser(e.getIn().getBody(ca.uhn.hl7v2.model.Message.class))
                        .get("/.PID-5-1"));
            });
            a.weaveAddLast().process(e -> {
                headersAfter.add(new java.util.HashMap<>(e.getIn().getHeaders()));
                stateAfter.add(String.valueOf(e.getProperty(Hl7Ingest.STATE)));
            });
        });
        advised = true;
    }

    Hl7Ingest.Received send(String er7) {
        return producer.requestBody("direct:hl7v2-intake", er7, Hl7Ingest.Received.class);
    }

    @Test
    void noMshValueIsLeftInAHeaderAfterTheRoute() throws Exception {
        String controlId = Hl7Messages.controlId();
        String msg = Hl7Messages.a04(controlId, "HDR-" + controlId, "Headerfam", "Headergiv", "hdr@example.org")
                .replace("|REGADT|MERCY|", "|HDRSENDAPP|HDRSENDFAC|");
        headersAfter.clear();
        stateAfter.clear();
        try (MllpTestClient c = new MllpTestClient(HUB.mllpPort)) {
            assertThat(MllpTestClient.msa1(c.exchange(msg, 10_000))).isEqualTo("AA");
        }
        assertThat(headersAfter).as("the advised last step ran").hasSize(1);
        Map<String, Object> headers = headersAfter.get(0);
        assertThat(headers.keySet()).noneMatch(k -> k.startsWith("CamelHL7"));
        for (Object v : headers.values()) {
            assertThat(String.valueOf(v)).doesNotContain(controlId).doesNotContain("HDRSENDAPP")
                    .doesNotContain("HDRSENDFAC").doesNotContain("ADT^A04").doesNotContain("Headerfam");
        }
        assertThat(stateAfter.get(0)).doesNotContain(controlId).doesNotContain("HDRSENDAPP")
                .doesNotContain("Headerfam");
    }

    @Test
    void anUnsupportedTypeIsAnsweredAr200WithoutTheMapStep() {
        int before = mapped.get();
        Hl7Ingest.Received r = send(Hl7Messages.a04(Hl7Messages.controlId(), "MDM-1", "Doc", "Type", "d@example.org")
                .replace("ADT^A04^ADT_A01", "MDM^T02^MDM_T02"));
        assertThat(r.code()).isEqualTo("AR");
        assertThat(r.errorCode()).isEqualTo("200");
        assertThat(mapped.get()).as("the map step did not run").isEqualTo(before);

        Hl7Ingest.Received ok = send(Hl7Messages.a04(Hl7Messages.controlId(), "MDM-2", "Adt", "Type", "a@example.org"));
        assertThat(ok.code()).isEqualTo("AA");
        assertThat(mapped.get()).as("a supported type is mapped").isEqualTo(before + 1);
    }

    @Test
    void aMessageThatCannotBeParsedIsStoredAsFailedAndAnsweredAe() {
        String controlId = Hl7Messages.controlId();
        // a two-letter segment name: the MSH reads, HAPI refuses the message
        String broken = Hl7Messages.a04(controlId, "PARSE-1", "Parse", "Fail", "p@example.org").replace("\rPID|",
                "\rPI|");
        int before = mapped.get();
        Hl7Ingest.Received r = send(broken);
        assertThat(r.code()).isEqualTo("AE");
        assertThat(r.errorCode()).isEqualTo("102");
        assertThat(r.resend()).isFalse();
        assertThat(mapped.get()).isEqualTo(before);
        writer.awaitVisible();
        assertThat(jdbc.queryForList("SELECT status || ' ' || error_code FROM inbound_message WHERE control_id = ?",
                String.class, controlId)).singleElement().asString().startsWith("failed parse:");
    }

    @Test
    void aTriggerWithoutAMappingIsIgnoredEvenWhenItsBodyCannotBeParsed() {
        String controlId = Hl7Messages.controlId();
        String a02 = Hl7Messages.a04(controlId, "IGN-1", "Ign", "Ored", "i@example.org")
                .replace("ADT^A04^ADT_A01", "ADT^A02^ADT_A02").replace("\rPID|", "\rPI|");
        Hl7Ingest.Received r = send(a02);
        assertThat(r.code()).isEqualTo("AA");
        writer.awaitVisible();
        assertThat(jdbc.queryForList("SELECT status FROM inbound_message WHERE control_id = ?", String.class,
                controlId)).containsExactly("ignored");
    }

    /**
     * The parse decodes the bytes by MSH-18 when it names a character set, else as UTF-8 (the hub's charset): a name
     * with an umlaut reaches the map step intact either way, over MLLP as raw bytes.
     */
    @Test
    void theParseDecodesByMsh18AndByTheHubsCharsetWithout() throws Exception {
        String latin = Hl7Messages.a04(Hl7Messages.controlId(), "CS-1", "M\u00fcller", "Anna", "cs1@example.org")
                .replaceFirst("\\|P\\|2\\.5\\.1\r", "|P|2.5.1||||||8859/1\r");
        String utf8 = Hl7Messages.a04(Hl7Messages.controlId(), "CS-2", "Zo\u00eb-\u0141", "Ben", "cs2@example.org");
        assertThat(latin).contains("|8859/1\r");
        parsedFamilyNames.clear();
        try (MllpTestClient c = new MllpTestClient(HUB.mllpPort)) {
            c.write(frame(latin.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1)));
            assertThat(MllpTestClient.msa1(c.readAck(10_000))).isEqualTo("AA");
            c.write(frame(utf8.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            assertThat(MllpTestClient.msa1(c.readAck(10_000))).isEqualTo("AA");
        }
        assertThat(parsedFamilyNames).containsExactly("M\u00fcller", "Zo\u00eb-\u0141");
    }

    /** camel-hl7's charset table names no Java charset for GB 18030: a Chinese name came back AE 207 before. */
    @Test
    void aMessageInGb18030IsDecodedByItsMsh18() throws Exception {
        java.nio.charset.Charset gb = java.nio.charset.Charset.forName("GB18030");
        String msg = Hl7Messages.a04(Hl7Messages.controlId(), "CS-GB", "\u738b", "\u82b3", "gb@example.org")
                .replaceFirst("\\|P\\|2\\.5\\.1\r", "|P|2.5.1||||||GB 18030-2000\r");
        assertThat(msg).contains("|GB 18030-2000\r");
        parsedFamilyNames.clear();
        try (MllpTestClient c = new MllpTestClient(HUB.mllpPort)) {
            c.write(frame(msg.getBytes(gb)));
            assertThat(MllpTestClient.msa1(c.readAck(10_000))).isEqualTo("AA");
        }
        assertThat(parsedFamilyNames).containsExactly("\u738b");
    }

    private static byte[] frame(byte[] message) {
        byte[] framed = new byte[message.length + 3];
        framed[0] = 0x0b;
        System.arraycopy(message, 0, framed, 1, message.length);
        framed[message.length + 1] = 0x1c;
        framed[message.length + 2] = 0x0d;
        return framed;
    }
}
