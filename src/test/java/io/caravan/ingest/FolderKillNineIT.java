package io.caravan.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.support.Hl7Messages;
import io.caravan.support.HubProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of the packaged hub while it applies a batch file from the watched folder: after a restart the file is
 * finished, and every message in it - including a resend inside the file - is applied exactly once.
 */
class FolderKillNineIT {

    static final int MESSAGES = 1500;

    @Test
    void aBatchInterruptedByKillNineIsFinishedAfterRestartWithEachMessageOnce(@TempDir Path tmp) throws Exception {
        Path data = tmp.resolve("data");
        Path inbox = data.resolve("inbox/hl7v2");
        Files.createDirectories(inbox);
        List<String> mrns = new ArrayList<>();
        StringBuilder batch = new StringBuilder("FHS|^~\\&|REGADT|MERCY\rBHS|^~\\&|REGADT|MERCY\r");
        String resent = null;
        for (int i = 0; i < MESSAGES; i++) {
            String ctl = Hl7Messages.controlId();
            String mrn = "FK-" + ctl;
            mrns.add(mrn);
            String msg = Hl7Messages.a04(ctl, mrn, "Folder", "Kill", "fk@example.org");
            batch.append(msg);
            if (i == 10) {
                resent = msg;
            }
        }
        batch.append(resent).append("BTS|").append(MESSAGES + 1).append("\rFTS|1\r");

        try (HubProcess hub = new HubProcess(data, null, "--caravan.intake.hl7v2-folder.min-age=300ms",
                "--caravan.intake.hl7v2-folder.poll=200ms")) {
            hub.start();
            Path file = inbox.resolve("big-batch.hl7");
            Files.writeString(inbox.resolve(".big-batch.hl7"), batch);
            Files.move(inbox.resolve(".big-batch.hl7"), file);

            long deadline = System.currentTimeMillis() + 60_000;
            while (answered(hub) < 100 && System.currentTimeMillis() < deadline) {
                Thread.sleep(20);
            }
            hub.kill9();
            assertThat(file).as("killed while the batch was being applied").exists();
            assertThat(inbox.resolve(".done/big-batch.hl7")).doesNotExist();

            hub.start();
            assertThat(file).as("the hub is ready (health UP) while it still finishes the file").exists();
            deadline = System.currentTimeMillis() + 180_000;
            while (Files.exists(file) && System.currentTimeMillis() < deadline) {
                Thread.sleep(200);
            }
            assertThat(file).as("the file finished after restart (deleted: every message accepted)").doesNotExist();
            assertThat(inbox.resolve(".done")).as("no plaintext copy kept by default").doesNotExist();
            assertThat(inbox.resolve(".failed")).doesNotExist();
            KillNineContract.eventsOfEach(hub, mrns).forEach((mrn, n) -> assertThat(n).as(mrn).isEqualTo(1));
        }
    }

    /** Messages answered so far, from the hub's own metrics. */
    static long answered(HubProcess hub) throws Exception {
        long n = 0;
        for (String line : hub.get("/actuator/prometheus").split("\n")) {
            if (line.startsWith("caravan_hl7_messages_total{")) {
                n += (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return n;
    }
}
