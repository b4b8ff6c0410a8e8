package io.caravan.channel.sms;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.support.TestHub;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * A dropped bind is bound again with exponential backoff: the waits between bind attempts double from the adapter's
 * {@code reconnectSeconds} up to {@code reconnectMaxSeconds}, so an SMSC that is restarting is not hammered, and the
 * hub binds again by itself - receipts and MO texts come back on that bind - without a text having to go first.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@DirtiesContext
class SmsReconnectIT {

    static final TestHub HUB = TestHub.named("sms-reconnect");
    static final TestSmsc SMSC = new TestSmsc(TestSmsc.freePort());

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) throws IOException {
        HUB.register(r);
        SMSC.start();
        SmsHub.adapter(HUB, r, "backoff-smsc", SMSC.port, """
                throughput: 200
                reconnectSeconds: 1
                reconnectMaxSeconds: 8
                """);
        SmsHub.anyHourNoCap(r);
    }

    @AfterAll
    static void down() throws IOException {
        SMSC.close();
    }

    @Autowired
    TestRestTemplate rest;

    @Test
    void aDroppedBindIsBoundAgainWithWaitsThatDoubleAndTheDeferredTextGoesThen() throws Exception {
        UUID contact = SmsHub.patient(HUB, rest, "SMS-RC-1", "Backoff", "5550901");
        String first = SmsHub.plan(HUB, rest, contact, "appointment-reminder", "treatment", SmsHub.REMINDER);
        SmsHub.awaitStatus(HUB, rest, first, "sent");

        // the SMSC restarts and refuses binds for a while
        SMSC.refuseBinds = true;
        long dropped = System.nanoTime();
        SMSC.dropBinds();
        String during = SmsHub.plan(HUB, rest, contact, "appointment-reminder", "treatment", SmsHub.REMINDER);
        SmsHub.awaitStatus(HUB, rest, during, "deferred");
        Thread.sleep(14_000);
        List<Long> attempts = SMSC.bindAttempts.stream().filter(t -> t > dropped).toList();
        List<Long> gaps = new ArrayList<>();
        for (int i = 1; i < attempts.size(); i++) {
            gaps.add(TimeUnit.NANOSECONDS.toMillis(attempts.get(i) - attempts.get(i - 1)));
        }
        // one try at once, then after 1 s, 2 s, 4 s, 8 s...: 4 tries in 14 s (a fixed interval: as many as fit),
        // each wait clearly longer than the one before
        assertThat(attempts).as("bind attempts in 14 s, gaps %s ms", gaps).hasSizeBetween(3, 5);
        for (int i = 1; i < gaps.size(); i++) {
            assertThat(gaps.get(i)).as("wait %d after %d, gaps %s ms", i, i - 1, gaps)
                    .isGreaterThan(gaps.get(i - 1) * 14 / 10);
        }

        // the SMSC takes binds again: the hub binds by itself within the capped wait, and the deferred text goes
        int binds = SMSC.binds.get();
        SMSC.refuseBinds = false;
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> SMSC.binds.get() > binds);
        SmsHub.awaitStatus(HUB, rest, during, "sent");
    }
}
