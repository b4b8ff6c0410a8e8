package io.caravan.channel.email.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.caravan.channel.email.TestDns;
import io.caravan.channel.email.TestSmtpServers;
import io.caravan.support.MutableClock;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** MTA-STS policy files (RFC 8461 3.2) and MX pattern matching (4.1). */
class MtaStsTest {

    @Test
    void parsesAPolicyAndMatchesMxPatternsAsTheRfcSays() {
        MtaSts.Policy p = MtaSts.parse("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n"
                + "mx: *.example.net\r\nmax_age: 604800\r\n", "id1");
        assertThat(p.enforced()).isTrue();
        assertThat(p.maxAge()).isEqualTo(Duration.ofDays(7));
        assertThat(p.allows("mail.example.com")).isTrue();
        assertThat(p.allows("MAIL.Example.com")).isTrue();
        assertThat(p.allows("mx1.example.net")).isTrue();
        assertThat(p.allows("a.b.example.net")).as("a wildcard covers one label only").isFalse();
        assertThat(p.allows("example.net")).isFalse();
        assertThat(p.allows("evil.example.com")).isFalse();
        assertThat(MtaSts.parse("version: STSv1\nmode: testing\nmx: x.example\nmax_age: 10\n", "i").enforced())
                .isFalse();
    }

    @Test
    void refusesWhatIsNotAPolicy() {
        assertThatThrownBy(() -> MtaSts.parse("<html>not found</html>", "i"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> MtaSts.parse("version: STSv1\nmode: enforce\nmax_age: 10\n", "i"))
                .as("enforce without mx").isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> MtaSts.parse("version: STSv2\nmode: enforce\nmx: a\nmax_age: 10\n", "i"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * RFC 8461 5.1 with a real resolver and policy server: an attacker who strips the TXT record or breaks DNS must
     * not turn a cached {@code enforce} policy off before its {@code max_age}; the policy is fetched again only when
     * the TXT id changes.
     */
    @Test
    void aCachedPolicyOutlivesAVanishingTxtRecordOrFailingDnsAndIsRefetchedOnlyForANewId(@TempDir Path dir)
            throws Exception {
        Path ca = TestSmtpServers.caAndServer(dir, ",DNS:mta-sts.cache.test");
        AtomicReference<String> body = new AtomicReference<>(
                "version: STSv1\nmode: enforce\nmx: mx.cache.test\nmax_age: 604800\n");
        AtomicInteger fetches = new AtomicInteger();
        HttpsServer policies = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 10);
        policies.setHttpsConfigurator(new HttpsConfigurator(TestSmtpServers.tls(dir.resolve("server.p12"))));
        policies.createContext("/.well-known/mta-sts.txt", x -> {
            fetches.incrementAndGet();
            byte[] b = body.get().getBytes(StandardCharsets.US_ASCII);
            x.sendResponseHeaders(200, b.length);
            x.getResponseBody().write(b);
            x.close();
        });
        policies.start();
        try (TestDns dns = new TestDns()) {
            dns.txt("_mta-sts.cache.test", "v=STSv1; id=1");
            dns.a("mta-sts.cache.test", "127.0.0.1");
            SSLContext strict = SSLContext.getInstance("TLS");
            strict.init(null, new TrustManager[] {SmtpRelay.trustManager(ca.toString())}, null);
            MutableClock clock = new MutableClock(Instant.parse("2026-11-29T00:00:00Z"));
            MtaSts sts = new MtaSts(new Dns(dns.server()), strict, policies.getAddress().getPort(), clock);

            assertThat(sts.policy("cache.test")).hasValueSatisfying(p -> assertThat(p.enforced()).isTrue());

            dns.remove("_mta-sts.cache.test");
            clock.now = clock.now.plus(Duration.ofDays(2));
            assertThat(sts.policy("cache.test")).as("TXT record gone, max_age not over")
                    .hasValueSatisfying(p -> assertThat(p.enforced()).isTrue());

            dns.failing(true);
            clock.now = clock.now.plus(Duration.ofHours(1));
            assertThat(sts.policy("cache.test")).as("DNS failing")
                    .hasValueSatisfying(p -> assertThat(p.enforced()).isTrue());
            dns.failing(false);

            // the same id again: the server's new text is not fetched
            dns.txt("_mta-sts.cache.test", "v=STSv1; id=1");
            body.set("version: STSv1\nmode: testing\nmx: mx.cache.test\nmax_age: 86400\n");
            clock.now = clock.now.plus(Duration.ofHours(1));
            assertThat(sts.policy("cache.test")).hasValueSatisfying(p -> assertThat(p.enforced()).isTrue());
            assertThat(fetches.get()).isEqualTo(1);

            // a new id: fetched again
            dns.remove("_mta-sts.cache.test");
            dns.txt("_mta-sts.cache.test", "v=STSv1; id=2");
            clock.now = clock.now.plus(Duration.ofHours(1));
            assertThat(sts.policy("cache.test")).hasValueSatisfying(p -> assertThat(p.mode()).isEqualTo("testing"));
            assertThat(fetches.get()).isEqualTo(2);

            // its max_age over and no record published: no policy any more
            dns.remove("_mta-sts.cache.test");
            clock.now = clock.now.plus(Duration.ofDays(2));
            assertThat(sts.policy("cache.test")).isEmpty();
        } finally {
            policies.stop(0);
        }
    }
}
