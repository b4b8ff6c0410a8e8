package io.caravan.channel.sms;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.support.HubProcess;
import io.caravan.support.Hl7Messages;
import io.caravan.support.MllpTestClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * STOP's one confirmation survives a crash: the SMSC throttles while the hub answers a STOP, the hub is killed with
 * SIGKILL before it could send the confirmation, and the hub started again sends it - once - as soon as the SMSC
 * takes submits again (within TCPA's five minutes).
 */
class SmsReplyKillNineIT {

    @Test
    void aStopConfirmationNotYetSentWhenTheHubDiesIsSentOnceAfterTheRestart() throws Exception {
        Path dir = Files.createTempDirectory("caravan-sms-reply-kill");
        Path data = dir.resolve("data");
        try (TestSmsc smsc = new TestSmsc(TestSmsc.freePort()).start()) {
            Path adapters = SmsHub.adapterFile(dir.resolve("adapters"), "test-smsc", smsc.port, SmsHub.CLUSTER_SMPP);
            String[] args = {"--caravan.mapping.adapters-dir=" + adapters, "--caravan.sms.adapter=test-smsc",
                "--caravan.event-log.poll-interval=50ms"};
            try (HubProcess hub = new HubProcess(data, null, args)) {
                hub.start();
                Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> smsc.boundNow() == 1);
                try (MllpTestClient c = new MllpTestClient(hub.mllpPort)) {
                    assertThat(MllpTestClient.msa1(c.exchange(Hl7Messages.a04(Hl7Messages.controlId(), "SRK-1",
                            "Replykill", "Sam", "srk-1@example.org").replace("^PRN^CP^^1^217^5550199",
                                    "^PRN^CP^^1^217^5550601"), 10_000))).isEqualTo("AA");
                }
                smsc.refuse = 0x58; // ESME_RTHROTTLED: the confirmation waits
                smsc.mo("12175550601", "STOP");
                Awaitility.await().atMost(Duration.ofSeconds(20))
                        .until(() -> Files.readString(hub.log()).contains("SMS keyword reply not sent"));
                hub.kill9();
            }
            assertThat(smsc.submitted).as("nothing went before the kill").isEmpty();

            smsc.refuse = 0;
            try (HubProcess hub = new HubProcess(data, null, args)) {
                hub.start();
                Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> smsc.submitted.size() == 1);
                Thread.sleep(3000);
                assertThat(smsc.submitted).as("one confirmation").hasSize(1);
                assertThat(smsc.submitted.get(0).destination()).isEqualTo("12175550601");
                assertThat(SmsText.decodeGsm7(smsc.submitted.get(0).shortMessage())).contains("unsubscribed");
                assertThat(Files.readAllLines(hub.log()).stream()
                        .filter(l -> l.contains("Replykill") || l.contains("21755506")).toList())
                        .as("PHI in the log").isEmpty();
            }
        }
    }
}
