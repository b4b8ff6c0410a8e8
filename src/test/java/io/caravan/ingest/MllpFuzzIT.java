package io.caravan.ingest;

import static io.caravan.support.MllpTestClient.field;
import static io.caravan.support.MllpTestClient.msa1;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.caravan.crypto.FieldCipher;
import io.caravan.mapping.Msh;
import io.caravan.support.Hl7Messages;
import io.caravan.support.MllpTestClient;
import io.caravan.support.TestHub;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Fuzzes the MLLP framing and the HL7 intake of a running hub over real sockets. Each connection carries valid
 * messages (generated, and public samples with a fresh MSH-10) interleaved with mutated frames (bytes flipped, cut,
 * duplicated, envelope bytes inserted or lost), the hostile samples and garbage, written in random pieces. Whatever
 * the noise: the listener stays up, the frame memory stays within its budget and is given back, and every valid
 * message is ACKed AA and stored exactly once. jqwik generates the traffic from a logged seed; rerun a failure with
 * {@code -Dfuzz.seed=<seed>}.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class MllpFuzzIT {

    static final Path SEEDS = Path.of("src/test/resources/hl7-fuzz-seeds");
    static final Path HOSTILE = Path.of("src/test/resources/hl7-hostile");
    static final int CONNECTIONS = 40;
    static final long BUDGET = 4L << 20;

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        TestHub.named("fuzz").register(r);
        r.add("caravan.mllp.max-frame-bytes", () -> 1 << 20);
        r.add("caravan.mllp.memory-budget", () -> BUDGET);
    }

    @Autowired
    MeterRegistry registry;
    @Autowired
    JdbcTemplate jdbc;
    @Autowired
    FieldCipher cipher;

    /** One thing written to the connection. {@code controlId} is set for valid messages that must be ACKed AA. */
    record Item(byte[] bytes, String controlId, String dedupe) {
    }

    static List<String> read(Path dir, boolean hl7Only) throws Exception {
        try (Stream<Path> s = Files.walk(dir)) {
            List<String> out = new ArrayList<>();
            for (Path p : s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith("SOURCES"))
                    .sorted().toList()) {
                if (!hl7Only || p.toString().endsWith(".hl7")) {
                    out.add(new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1));
                }
            }
            return out;
        }
    }

    /** The sample with MSH-10 replaced (ISO-8859-1 keeps every byte as it was). */
    static String withControlId(String message, String ctl) {
        int end = message.indexOf('\r');
        String[] f = message.substring(0, end < 0 ? message.length() : end).split("\\|", -1);
        f[9] = ctl;
        return String.join("|", f) + (end < 0 ? "" : message.substring(end));
    }

    static byte[] frame(byte[] body) {
        ByteArrayOutputStream b = new ByteArrayOutputStream(body.length + 3);
        b.write(0x0b);
        b.writeBytes(body);
        b.write(0x1c);
        b.write(0x0d);
        return b.toByteArray();
    }

    static final byte[] ENVELOPE = {0x0b, 0x1c, 0x0d, 0x0a, 0x00, '|', '^', '~', '\\', '&'};

    /** A frame mutated the ways real links and hostile senders damage them. */
    static Arbitrary<byte[]> mutated(List<String> bases) {
        Arbitrary<byte[]> base = Arbitraries.of(bases).map(s -> s.getBytes(StandardCharsets.ISO_8859_1));
        Arbitrary<Integer> kind = Arbitraries.integers().between(0, 8);
        Arbitrary<Long> seed = Arbitraries.longs();
        return Combinators.combine(base, kind, seed).as((b, k, sd) -> {
            Random r = new Random(sd);
            byte[] f = frame(b);
            int at = 1 + r.nextInt(Math.max(1, f.length - 2));
            ByteArrayOutputStream o = new ByteArrayOutputStream();
            switch (k) {
                case 0 -> { // bit flips
                    for (int i = 0; i < 1 + r.nextInt(8); i++) {
                        f[1 + r.nextInt(f.length - 1)] ^= (byte) (1 << r.nextInt(8));
                    }
                    return f;
                }
                case 1 -> { // cut short: no end of frame
                    o.write(f, 0, at);
                }
                case 2 -> { // an envelope or delimiter byte inserted
                    o.write(f, 0, at);
                    o.write(ENVELOPE[r.nextInt(ENVELOPE.length)]);
                    o.write(f, at, f.length - at);
                }
                case 3 -> { // a byte lost (the VT, the FS, the CR or any other)
                    o.write(f, 0, at);
                    o.write(f, at + 1, f.length - at - 1);
                }
                case 4 -> { // the body repeated inside one frame
                    o.write(f, 0, f.length - 2);
                    o.write(f, 1, f.length - 1);
                }
                case 5 -> { // garbage before the frame
                    byte[] g = new byte[1 + r.nextInt(64)];
                    r.nextBytes(g);
                    o.writeBytes(g);
                    o.writeBytes(f);
                }
                case 6 -> { // segment separators turned into LF or CRLF
                    String s = new String(f, StandardCharsets.ISO_8859_1);
                    s = s.replace("\r", r.nextBoolean() ? "\n" : "\r\n");
                    return s.getBytes(StandardCharsets.ISO_8859_1);
                }
                case 7 -> { // a random slice of the message as its own frame
                    int from = r.nextInt(b.length);
                    o.write(0x0b);
                    o.write(b, from, r.nextInt(b.length - from + 1));
                    o.write(0x1c);
                    o.write(0x0d);
                }
                default -> { // pure noise, sometimes framed
                    byte[] g = new byte[r.nextInt(2048)];
                    r.nextBytes(g);
                    return r.nextBoolean() ? frame(g) : g;
                }
            }
            return o.toByteArray();
        });
    }

    @Test
    void randomAndMutatedFramesNeverStopTheListenerAndEveryValidMessageIsAckedAndStoredOnce() throws Exception {
        long seed = Long.getLong("fuzz.seed", System.nanoTime());
        System.out.println("MllpFuzzIT seed " + seed);
        Random random = new Random(seed);
        List<String> samples = read(SEEDS, true);
        List<String> hostile = read(HOSTILE, false);
        List<String> bases = new ArrayList<>(samples);
        bases.add(Hl7Messages.a04("FUZZBASE", "MRN-FUZZBASE", "Fuzz", "Base", "f@example.org"));
        var mutations = mutated(bases).generator(1000);
        var hostiles = Arbitraries.of(hostile).map(s -> frame(s.getBytes(StandardCharsets.ISO_8859_1)))
                .generator(1000);
        // samples of a type the hub takes (ORM is answered AR) are the valid ones; all are mutated. Those in enhanced
        // mode (MSH-15/16 valued, NE/NE included) are answered with the commit ACK, CA
        List<String> validSamples = samples.stream()
                .filter(m -> Set.of("ADT", "ORU", "SIU").contains(Msh.read(m).messageType())).toList();
        assertThat(validSamples).hasSizeGreaterThanOrEqualTo(3);

        Map<String, String> valid = new LinkedHashMap<>(); // control id -> dedupe key
        long deadline = System.currentTimeMillis() + 45_000;
        int connections = 0;
        double maxMemory = 0;
        for (; connections < CONNECTIONS && System.currentTimeMillis() < deadline; connections++) {
            List<Item> items = new ArrayList<>();
            int n = 3 + random.nextInt(10);
            for (int i = 0; i < n; i++) {
                int what = random.nextInt(10);
                if (what < 4) {
                    String ctl = "FZ" + seed % 100_000 + "-" + connections + "-" + i;
                    String msg;
                    if (random.nextBoolean()) {
                        msg = Hl7Messages.a04(ctl, "MRN-" + ctl, "Fuzz", "Valid", "v@example.org");
                    } else {
                        msg = withControlId(validSamples.get(random.nextInt(validSamples.size())), ctl);
                    }
                    Msh msh = Msh.read(msg);
                    String dedupe = cipher.blindIndex(Intake.DEDUPE_DOMAIN,
                            msh.sendingApplication() + "|" + msh.sendingFacility() + "|" + msh.controlId());
                    Item item = new Item(frame(msg.getBytes(StandardCharsets.ISO_8859_1)), ctl, dedupe);
                    items.add(item);
                    if (random.nextInt(5) == 0) {
                        items.add(item); // a resend: ACKed again, stored once
                    }
                } else if (what < 8) {
                    items.add(new Item(mutations.next(random).value(), null, null));
                } else {
                    items.add(new Item(hostiles.next(random).value(), null, null));
                }
            }
            // the last valid message tells us when every answer is in
            String last = "FZEND" + seed % 100_000 + "-" + connections;
            Msh lastMsh = Msh.read(Hl7Messages.a04(last, "MRN-" + last, "Fuzz", "Last", "l@example.org"));
            items.add(new Item(frame(Hl7Messages.a04(last, "MRN-" + last, "Fuzz", "Last", "l@example.org")
                    .getBytes(StandardCharsets.UTF_8)), last, cipher.blindIndex(Intake.DEDUPE_DOMAIN,
                    lastMsh.sendingApplication() + "|" + lastMsh.sendingFacility() + "|" + last)));

            ByteArrayOutputStream stream = new ByteArrayOutputStream();
            Set<String> expected = new HashSet<>();
            for (Item it : items) {
                stream.writeBytes(it.bytes);
                if (it.controlId != null) {
                    expected.add(it.controlId);
                    valid.put(it.controlId, it.dedupe);
                }
            }
            byte[] all = stream.toByteArray();
            Set<String> aa = new HashSet<>();
            try (MllpTestClient c = new MllpTestClient(TestHub.named("fuzz").mllpPort)) {
                for (int off = 0; off < all.length;) {
                    int len = Math.min(all.length - off, 1 + random.nextInt(4096));
                    c.write(java.util.Arrays.copyOfRange(all, off, off + len));
                    off += len;
                }
                String ack;
                while ((ack = c.readAck(20_000)) != null) {
                    String ctl = field(ack, "MSA", 2);
                    if (expected.contains(ctl)) {
                        assertThat(msa1(ack)).as("seed %d, connection %d, %s", seed, connections, ctl)
                                .isIn("AA", "CA");
                        aa.add(ctl);
                    }
                    if (ctl.equals(last)) {
                        break;
                    }
                }
            }
            assertThat(aa).as("seed %d, connection %d: valid messages ACKed", seed, connections)
                    .containsExactlyInAnyOrderElementsOf(expected);
            maxMemory = Math.max(maxMemory, gauge("caravan.mllp.memory.used"));
        }
        assertThat(connections).as("connections fuzzed in the time given").isGreaterThanOrEqualTo(10);
        assertThat(maxMemory).isLessThanOrEqualTo(BUDGET);
        // stored exactly once each, resends included (the embedded store applies its journal to H2 just after the
        // ACK, so the table may lag a moment behind)
        for (Map.Entry<String, String> v : valid.entrySet()) {
            byte[] key = java.util.HexFormat.of().parseHex(v.getValue());
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(jdbc.queryForObject(
                    "SELECT COUNT(*) FROM inbound_message WHERE dedupe_key = ? AND status = 'processed'",
                    Integer.class, (Object) key)).as("seed %d: %s stored", seed, v.getKey()).isEqualTo(1));
        }
        // still up, and every connection's frame memory given back
        String ctl = Hl7Messages.controlId();
        try (MllpTestClient c = new MllpTestClient(TestHub.named("fuzz").mllpPort)) {
            assertThat(msa1(c.exchange(Hl7Messages.a04(ctl, "MRN-" + ctl, "After", "Fuzz", "a@example.org"),
                    10_000))).isEqualTo("AA");
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> gauge("caravan.mllp.connections.open") == 0
                && gauge("caravan.mllp.memory.used") == 0);
    }

    @Test
    void aFrameTooShortToHoldAHeaderIsRejectedAndTheFramesBehindItAreServed() throws Exception {
        // found by the fuzz: camel-mllp read byte 3 of such a frame, threw, and reset the connection
        String ctl = Hl7Messages.controlId();
        try (MllpTestClient c = new MllpTestClient(TestHub.named("fuzz").mllpPort)) {
            c.sendPipelined("x", Hl7Messages.a04(ctl, "MRN-" + ctl, "Behind", "Short", "b@example.org"));
            String first = c.readAck(10_000);
            assertThat(msa1(first)).isEqualTo("AR");
            assertThat(first).contains("ERR|");
            String second = c.readAck(10_000);
            assertThat(msa1(second)).isEqualTo("AA");
            assertThat(field(second, "MSA", 2)).isEqualTo(ctl);
        }
    }

    double gauge(String name) {
        Gauge g = registry.find(name).gauge();
        return g == null ? -1 : g.value();
    }
}
