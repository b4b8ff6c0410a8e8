package io.caravan.channel.sms;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.support.FreePorts;
import io.caravan.support.Hl7Messages;
import io.caravan.support.HubProcess;
import io.caravan.support.MllpTestClient;
import io.caravan.support.PostgresSupport;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.springframework.kafka.test.EmbeddedKafkaKraftBroker;

/**
 * The SMPP bind's holder dies (SIGKILL, no leaving the group, its socket cut by the kernel): after the Kafka session
 * timeout the other node takes the role and binds, the texts planned meanwhile go out from it, and every text is
 * submitted once. {@link SmsBindClusterIT} shows the same for a holder that stops.
 */
class SmsBindKillNineIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String ROLE = "kafka/sms-bind";

    @Test
    void whenTheBindsHolderIsKilledTheOtherNodeBindsAndSendsWhatIsPlannedEachTextOnce() throws Exception {
        Path tmp = Path.of("target", "sms-bind-kill", UUID.randomUUID().toString()).toAbsolutePath();
        TestSmsc smsc = new TestSmsc(TestSmsc.freePort());
        smsc.start();
        int port = FreePorts.next();
        EmbeddedKafkaKraftBroker broker = new EmbeddedKafkaKraftBroker(1, 1);
        broker.brokerProperty("listeners", "EXTERNAL://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:0");
        broker.brokerProperty("group.initial.rebalance.delay.ms", "0");
        broker.afterPropertiesSet();
        List<HubProcess> nodes = new ArrayList<>();
        try {
            Path adapters = SmsHub.adapterFile(tmp.resolve("adapters"), "test-smsc", smsc.port, SmsHub.CLUSTER_SMPP);
            String url = PostgresSupport.newDatabase();
            String masterKey = "sms-kill-master-key-" + UUID.randomUUID();
            for (String n : List.of("a", "b")) {
                Path data = HubProcess.nodeDirs(tmp, masterKey, n).get(0);
                nodes.add(new HubProcess(data, url, "--spring.profiles.include=cluster",
                        "--caravan.event-log.kafka.bootstrap-servers=127.0.0.1:" + port,
                        "--caravan.event-log.kafka.topic=caravan.it-sms-kill",
                        "--caravan.event-log.kafka.session-timeout=6s",
                        "--caravan.mapping.adapters-dir=" + adapters, "--caravan.sms.adapter=test-smsc",
                        "--caravan.sms.quiet-hours.window=00:00-23:59:59",
                        "--caravan.sms.treatment-cap.per-day=1000", "--caravan.sms.treatment-cap.per-week=1000")
                        .withJvmOptions("-Xmx384m", "-XX:ActiveProcessorCount=1"));
            }
            // the first alone (it migrates the database), then the second
            nodes.get(0).start();
            nodes.get(1).start();

            // the holder binds as it takes the role; both nodes in the role's group first: a node joining later
            // takes the role over (and a role that moved while the nodes started counts a bind more)
            Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                    .until(() -> SmsHub.bindRoleMembers("127.0.0.1:" + port) == 2 && holders(nodes).size() == 1
                            && smsc.boundNow() == 1);
            int settled = smsc.binds.get();
            HubProcess holder = holders(nodes).get(0);
            HubProcess other = nodes.get(0) == holder ? nodes.get(1) : nodes.get(0);

            // texts through both nodes go out from the holder
            List<String> before = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                before.add(text(holder, "SKH" + i, String.format("55511%02d", i)));
                before.add(text(other, "SKO" + i, String.format("55512%02d", i)));
            }
            awaitSent(other, before);
            assertThat(smsc.binds.get()).as("one bind for the cluster").isEqualTo(settled);

            holder.kill9();
            // planned while the dead node still holds the role in the broker's eyes: they wait in the store
            List<String> after = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                after.add(text(other, "SKA" + i, String.format("55513%02d", i)));
            }
            Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                    .until(() -> holders(List.of(other)).size() == 1);
            awaitSent(other, after);

            assertThat(smsc.binds.get()).as("binds: the first holder's, then the survivor's").isEqualTo(settled + 1);
            assertThat(smsc.mostBoundAtOnce.get()).as("never two binds at once").isEqualTo(1);
            assertThat(smsc.submitted).as("each text submitted once").hasSize(before.size() + after.size());
            assertThat(smsc.submitted.stream().map(TestSmsc.Submitted::destination).distinct().count())
                    .isEqualTo(before.size() + after.size());
            JsonNode role = role(other);
            assertThat(role.get("heldHere").asBoolean()).isTrue();
            // no log line names a patient
            for (HubProcess n : nodes) {
                assertThat(Files.readAllLines(n.log()).stream()
                        .filter(l -> l.contains("Bindkill") || l.contains("@example.org")
                                || l.contains("21755511") || l.contains("21755513"))
                        .toList()).as("PHI in %s", n.log()).isEmpty();
            }
        } finally {
            for (HubProcess n : nodes) {
                n.close();
            }
            broker.destroy();
            smsc.close();
        }
    }

    private static List<HubProcess> holders(List<HubProcess> nodes) {
        List<HubProcess> out = new ArrayList<>();
        for (HubProcess n : nodes) {
            try {
                if (n.isAlive() && role(n).get("heldHere").asBoolean()) {
                    out.add(n);
                }
            } catch (Exception notAnswering) {
                // starting, or gone
            }
        }
        return out;
    }

    private static JsonNode role(HubProcess n) throws Exception {
        for (JsonNode s : JSON.readTree(n.get("/api/cluster")).get("singletons")) {
            if (ROLE.equals(s.get("name").asText())) {
                return s;
            }
        }
        throw new AssertionError("no " + ROLE + " among the singletons");
    }

    /** A patient registered through {@code node} with mobile +1 217 {@code line}, and a reminder planned there. */
    private static String text(HubProcess node, String mrn, String line) throws Exception {
        String msg = Hl7Messages.a04(Hl7Messages.controlId(), mrn, "Bindkill", "Sam", mrn.toLowerCase()
                + "@example.org").replace("^PRN^CP^^1^217^5550199", "^PRN^CP^^1^217^" + line);
        try (MllpTestClient c = new MllpTestClient(node.mllpPort)) {
            assertThat(MllpTestClient.msa1(c.exchange(msg, 10_000))).isEqualTo("AA");
        }
        String contact = JSON.readTree(node.get("/api/contacts?identifier=MERCY%7C" + mrn)).get(0).get("id")
                .asText();
        HttpResponse<String> r = node.post("/api/messages", JSON.writeValueAsString(Map.of("contactId", contact,
                "template", "appointment-reminder", "channel", "sms", "purpose", "treatment", "data",
                SmsHub.REMINDER)));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        return JSON.readTree(r.body()).get("id").asText();
    }

    private static void awaitSent(HubProcess node, List<String> ids) {
        Awaitility.await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            for (String id : ids) {
                assertThat(JSON.readTree(node.get("/api/messages/" + id)).get("status").asText())
                        .as("message %s", id).isIn("sent", "delivered");
            }
        });
    }
}
