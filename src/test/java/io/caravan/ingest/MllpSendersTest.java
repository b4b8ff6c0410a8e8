package io.caravan.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.caravan.mapping.MappingCatalog;
import io.caravan.mapping.Msh;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.security.auth.x500.X500Principal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MllpSendersTest {

    static final Path MAPPINGS = Path.of("mappings/hl7v2");

    @TempDir
    Path adapters;

    static MllpProperties props(boolean requireKnownSender) {
        return new MllpProperties(null, 0, 0, 0, null, null, null, java.util.List.of("2.5.1"), java.util.List.of("P"),
                null, null, null, requireKnownSender, 0);
    }

    void adapter(String id, String app, String mllp) throws Exception {
        Files.writeString(adapters.resolve(id + ".yaml"), """
                id: %s
                kind: hl7v2-mllp
                match: { sendingApplication: %s }
                baa: { status: not-applicable }
                %s
                """.formatted(id, app, mllp));
    }

    MllpSenders senders(boolean requireKnownSender) {
        return new MllpSenders(new MappingCatalog(MAPPINGS, adapters, "US", "UTC"), props(requireKnownSender));
    }

    static Msh from(String app) {
        return Msh.read("MSH|^~\\&|" + app + "|FAC|HUB|HUB|20260101||ADT^A04|C1|P|2.5.1\r");
    }

    @Test
    void aSourceThatIsNoAddressOrCidrBlockFailsTheStartNamingTheAdapter() throws Exception {
        adapter("lab", "LAB", "mllp: { allowedSources: [lab.example.org] }");
        assertThatThrownBy(() -> senders(false)).hasMessageContaining("adapter lab")
                .hasMessageContaining("lab.example.org");
    }

    @Test
    void addressesAndCertificatesAreMatchedPerAdapterAndOtherFeedsAreLeftAlone() throws Exception {
        adapter("lab", "LAB", "mllp: { allowedSources: [10.1.0.0/16, 192.0.2.7] }");
        adapter("epic", "EPIC", "mllp: { clientCertificateSubjects: [\"CN=epic,O=Example\"] }");
        MllpSenders s = senders(false);
        InetAddress inside = InetAddress.getByName("10.1.200.3");
        InetAddress outside = InetAddress.getByName("10.2.0.1");
        assertThat(s.check(from("LAB"), inside, null)).isNull();
        assertThat(s.check(from("LAB"), InetAddress.getByName("192.0.2.7"), null)).isNull();
        assertThat(s.check(from("LAB"), outside, null).adapter()).isEqualTo("lab");
        assertThat(s.check(from("EPIC"), outside, new X500Principal("CN=epic, O=Example"))).isNull();
        assertThat(s.check(from("EPIC"), outside, new X500Principal("CN=other,O=Example")).reason())
                .contains("client certificate");
        assertThat(s.check(from("EPIC"), outside, null)).isNotNull();
        // a sender no adapter claims is not checked unless known senders are required
        assertThat(s.check(from("SOMEONE"), outside, null)).isNull();
        assertThat(senders(true).check(from("SOMEONE"), outside, null).reason()).contains("no adapter");
        // one adapter open to any address: every address may connect
        assertThat(senders(true).mayConnect(outside)).isTrue();
    }

    @Test
    void withKnownSendersRequiredAndEveryFeedPinnedOtherAddressesCannotConnect() throws Exception {
        adapter("lab", "LAB", "mllp: { allowedSources: [10.1.0.0/16] }");
        adapter("adt", "ADT", "mllp: { allowedSources: [\"2001:db8::/32\"] }");
        assertThat(senders(true).mayConnect(InetAddress.getByName("10.1.0.9"))).isTrue();
        assertThat(senders(true).mayConnect(InetAddress.getByName("2001:db8::1"))).isTrue();
        assertThat(senders(true).mayConnect(InetAddress.getByName("10.2.0.9"))).isFalse();
        assertThat(senders(false).mayConnect(InetAddress.getByName("10.2.0.9"))).isTrue();
    }
}
