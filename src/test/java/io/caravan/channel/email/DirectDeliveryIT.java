package io.caravan.channel.email;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.caravan.channel.email.protection.Protection;
import io.caravan.support.HubApi;
import io.caravan.support.TestHub;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Direct delivery to the recipients' MX hosts, with a real DNS server (loopback UDP) and an HTTPS server for MTA-STS
 * policies: enforced TLS when the MX host proves STARTTLS with a certificate for its name, the portal when it cannot,
 * and an MTA-STS {@code enforce} policy honoured - MX hosts it does not name are not used, and a domain whose named
 * hosts fail verification gets nothing (deferred), not even a PHI-free notice.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@DirtiesContext
class DirectDeliveryIT {

    static final TestHub HUB = TestHub.named("direct");
    static final Map<String, Object> VISIT = Map.of("appointmentDate", "2026-12-03", "appointmentTime", "09:30",
            "provider", "Dr Oseifrancis", "clinicPhone", "+1 217 555 0100");
    static final Path CERTS;
    static final int SMTP_PORT;
    static final TestSmtpServers.StartTls TRUSTED;
    static final TestSmtpServers.StartTls SELF_SIGNED;
    static final HttpsServer POLICIES;
    static final AtomicInteger POLICY_FETCHES = new AtomicInteger();
    static final TestDns DNS;

    static {
        try {
            CERTS = Files.createTempDirectory("caravan-direct-certs");
            TestSmtpServers.caAndServer(CERTS, ",DNS:mx.good.test,DNS:evil.other.test,DNS:mx.sts-good.test,"
                    + "DNS:mta-sts.strict.test,DNS:mta-sts.sts-good.test");
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.2"))) {
                SMTP_PORT = s.getLocalPort();
            }
            TRUSTED = new TestSmtpServers.StartTls(TestSmtpServers.tls(CERTS.resolve("server.p12")),
                    InetAddress.getByName("127.0.0.2"), SMTP_PORT);
            SELF_SIGNED = new TestSmtpServers.StartTls(TestSmtpServers.tls(CERTS.resolve("selfsigned.p12")),
                    InetAddress.getByName("127.0.0.3"), SMTP_PORT);
            POLICIES = HttpsServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.5"), 0), 10);
            POLICIES.setHttpsConfigurator(new HttpsConfigurator(TestSmtpServers.tls(CERTS.resolve("server.p12"))));
            POLICIES.createContext("/.well-known/mta-sts.txt", x -> {
                POLICY_FETCHES.incrementAndGet();
                String host = x.getRequestHeaders().getFirst("Host");
                String body = host.equals("mta-sts.strict.test")
                        ? "version: STSv1\nmode: enforce\nmx: mx.strict.test\nmax_age: 86400\n"
                        : "version: STSv1\nmode: enforce\nmx: *.sts-good.test\nmax_age: 86400\n";
                byte[] b = body.getBytes(StandardCharsets.US_ASCII);
                x.getResponseHeaders().add("Content-Type", "text/plain");
                x.sendResponseHeaders(200, b.length);
                x.getResponseBody().write(b);
                x.close();
            });
            POLICIES.start();
            DNS = new TestDns();
            // good.test: one MX with a valid certificate, no MTA-STS
            DNS.mx("good.test", 10, "mx.good.test");
            DNS.a("mx.good.test", "127.0.0.2");
            // selfsigned.test: its MX shows a certificate nobody vouches for
            DNS.mx("selfsigned.test", 10, "mx.selfsigned.test");
            DNS.a("mx.selfsigned.test", "127.0.0.3");
            // strict.test: MTA-STS enforce naming only mx.strict.test (self-signed); the preferred MX is not named
            DNS.mx("strict.test", 10, "evil.other.test");
            DNS.mx("strict.test", 20, "mx.strict.test");
            DNS.a("evil.other.test", "127.0.0.2");
            DNS.a("mx.strict.test", "127.0.0.3");
            DNS.txt("_mta-sts.strict.test", "v=STSv1; id=20261128T1");
            DNS.a("mta-sts.strict.test", "127.0.0.5");
            // sts-good.test: MTA-STS enforce and a named MX with a valid certificate
            DNS.mx("sts-good.test", 10, "mx.sts-good.test");
            DNS.a("mx.sts-good.test", "127.0.0.2");
            DNS.txt("_mta-sts.sts-good.test", "v=STSv1; id=1");
            DNS.a("mta-sts.sts-good.test", "127.0.0.5");
            // slow.test: a domain whose server takes its time over each message (its MX has its own connections)
            DNS.mx("slow.test", 10, "evil.other.test");
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        HUB.register(r);
        r.add("caravan.email.direct.enabled", () -> "true");
        r.add("caravan.email.direct.dns-server", DNS::server);
        r.add("caravan.email.direct.port", () -> SMTP_PORT);
        r.add("caravan.email.direct.mta-sts-port", () -> POLICIES.getAddress().getPort());
        r.add("caravan.email.direct.trust-certificates", () -> CERTS.resolve("ca.pem").toString());
        r.add("caravan.email.retry.backoff", () -> "1h");
        // one connection per MX host (so two sends under way per domain), and a bulk lane of four senders
        r.add("caravan.email.direct.connections", () -> "1");
        r.add("caravan.send.bulk-consumers", () -> "4");
    }

    @AfterAll
    static void stop() {
        TRUSTED.close();
        SELF_SIGNED.close();
        POLICIES.stop(0);
        DNS.close();
    }

    @Autowired
    TestRestTemplate rest;
    @Autowired
    io.caravan.channel.Messages messages;
    @Autowired
    io.caravan.channel.MessageStore store;

    UUID patient(String mrn, String email) throws Exception {
        return HubApi.register(HUB, rest, mrn, "Quenby", "Marisol", email, "");
    }

    long receivedBy(TestSmtpServers.StartTls server, String to) {
        return server.received.stream().filter(x -> x.to().equals(to)).count();
    }

    @Test
    void anMxHostWithAValidCertificateForItsNameGetsPhiOverEnforcedTls() throws Exception {
        UUID id = patient("DIRECT-1", "reader@good.test");
        JsonNode m = new EmailApi(rest).sendAndSettle(id, "appointment-reminder", "treatment", VISIT);
        assertThat(m.get("status").asText()).as(m.toString()).isEqualTo("sent");
        assertThat(m.get("protection").asText()).isEqualTo("tls");
        assertThat(TRUSTED.received.stream().filter(x -> x.to().equals("reader@good.test")).findFirst().orElseThrow()
                .text()).contains("Oseifrancis").contains("X-Caravan-Protection: tls");
    }

    @Test
    void anMxHostWithASelfSignedCertificateGetsOnlyThePortalNotice() throws Exception {
        UUID id = patient("DIRECT-2", "reader@selfsigned.test");
        JsonNode m = new EmailApi(rest).sendAndSettle(id, "appointment-reminder", "treatment", VISIT);
        assertThat(m.get("protection").asText()).as(m.toString()).isEqualTo("portal");
        assertThat(SELF_SIGNED.received.stream().filter(x -> x.to().equals("reader@selfsigned.test")).findFirst()
                .orElseThrow().text()).contains("/portal/").doesNotContain("Oseifrancis");
    }

    @Test
    void anEnforcedMtaStsPolicyKeepsMailFromUnnamedOrUnverifiedHostsEvenPhiFreeMail() throws Exception {
        UUID id = patient("DIRECT-3", "reader@strict.test");
        EmailApi api = new EmailApi(rest);
        JsonNode m = api.settled(api.send(TestHub.INTEGRATION, id, "appointment-reminder-notice", "treatment",
                Map.of("clinicPhone", "+1 217 555 0100")), Set.of("planned"));
        assertThat(m.get("status").asText()).as(m.toString()).isEqualTo("deferred");
        assertThat(m.get("reasons").toString()).contains("mta-sts-unsatisfied");
        assertThat(receivedBy(TRUSTED, "reader@strict.test")).as("the MX the policy does not name").isZero();
        assertThat(receivedBy(SELF_SIGNED, "reader@strict.test")).as("the named MX failing verification").isZero();
        assertThat(POLICY_FETCHES.get()).isPositive();
    }

    @Test
    void underAnEnforcedPolicyEvenPhiFreeMailGoesOnlyOverVerifiedTlsToANamedHost() throws Exception {
        UUID id = patient("DIRECT-4", "reader@sts-good.test");
        JsonNode m = new EmailApi(rest).sendAndSettle(id, "appointment-reminder-notice", "treatment",
                Map.of("clinicPhone", "+1 217 555 0100"));
        assertThat(m.get("status").asText()).as(m.toString()).isEqualTo("sent");
        assertThat(receivedBy(TRUSTED, "reader@sts-good.test")).isEqualTo(1);
    }

    /**
     * A run of bulk messages to a domain whose server is slow, with messages to another domain after them: the slow
     * domain gets its two sends under way (a connection and one waiting for it), the rest of its messages wait in the
     * store, and the bulk lane's other senders deliver the other domain's messages meanwhile - before, every sender
     * sat waiting for the slow domain's connection, up to a minute each.
     */
    @Test
    void aSlowDomainHoldsOnlyItsOwnSendsNotTheBulkLane() throws Exception {
        java.util.List<UUID> slow = new java.util.ArrayList<>();
        for (int i = 0; i < 5; i++) {
            slow.add(patient("DIRECT-SLOW-" + i, "reader" + i + "@slow.test"));
        }
        java.util.List<UUID> quick = java.util.List.of(patient("DIRECT-QUICK-1", "quick1@good.test"),
                patient("DIRECT-QUICK-2", "quick2@good.test"));
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        TRUSTED.verdict = r -> {
            if (r.to().endsWith("@slow.test")) {
                try {
                    release.await(90, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return 0;
        };
        try {
            java.util.List<io.caravan.channel.Messages.Request> run = new java.util.ArrayList<>();
            for (UUID c : slow) {
                run.add(new io.caravan.channel.Messages.Request(c, "appointment-reminder-notice", "email",
                        "treatment", Map.of("clinicPhone", "+1 217 555 0100")));
            }
            for (UUID c : quick) {
                run.add(new io.caravan.channel.Messages.Request(c, "appointment-reminder-notice", "email",
                        "treatment", Map.of("clinicPhone", "+1 217 555 0100")));
            }
            java.util.List<io.caravan.channel.OutboundMessage> planned = messages.planAll(run, "test");
            java.util.List<UUID> slowIds = planned.subList(0, 5).stream().map(m -> m.id()).toList();
            java.util.List<UUID> quickIds = planned.subList(5, 7).stream().map(m -> m.id()).toList();

            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20))
                    .until(() -> quickIds.stream().allMatch(id -> status(id).equals("sent")));
            assertThat(receivedBy(TRUSTED, "quick1@good.test") + receivedBy(TRUSTED, "quick2@good.test"))
                    .isEqualTo(2);
            assertThat(slowIds.stream().filter(id -> store.find(id).orElseThrow().reasons()
                    .contains(io.caravan.channel.Deliveries.DESTINATION_BUSY)).count())
                    .as("the slow domain's messages beyond its two wait in the store").isPositive();
            assertThat(slowIds.stream().filter(id -> status(id).equals("sent")).count()).isZero();
        } finally {
            release.countDown();
        }
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(60))
                .until(() -> slow.stream().allMatch(c -> receivedBy(TRUSTED, "reader" + slow.indexOf(c)
                        + "@slow.test") == 1));
        TRUSTED.verdict = r -> 0;
    }

    String status(UUID message) {
        return store.find(message).orElseThrow().status().value();
    }
}
