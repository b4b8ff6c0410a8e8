package io.caravan.channel.sms;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.caravan.support.MovableClockConfig;
import io.caravan.support.MutableClock;
import io.caravan.support.TestHub;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.context.annotation.Import;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * TCPA policy with the hub's clock moved on: a treatment text outside 08:00-21:00 in the recipient's zone (Illinois,
 * from the address) waits deferred until the window opens, then goes; treatment texts to one number are capped at one
 * a day and three a week, the next waiting until the cap allows it.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@Import(MovableClockConfig.class)
@DirtiesContext
class SmsPolicyIT {

    static final TestHub HUB = TestHub.named("sms-policy");
    static final TestSmsc SMSC = new TestSmsc(TestSmsc.freePort());
    static final ZoneId CHICAGO = ZoneId.of("America/Chicago");

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) throws IOException {
        HUB.register(r);
        SMSC.start();
        SmsHub.adapter(HUB, r, "policy-smsc", SMSC.port, "timeZone: America/Los_Angeles\n");
    }

    @AfterAll
    static void down() throws IOException {
        SMSC.close();
    }

    @Autowired
    TestRestTemplate rest;
    @Autowired
    MutableClock clock;

    JsonNode message(String id) throws IOException {
        return SmsHub.message(HUB, rest, id);
    }

    void awaitStatus(String id, String status) {
        SmsHub.awaitStatus(HUB, rest, id, status);
    }

    String plan(UUID c) throws IOException {
        return SmsHub.plan(HUB, rest, c, "appointment-reminder", "treatment", SmsHub.REMINDER);
    }

    /** Moves the hub's clock on to the next {@code time} in Chicago. */
    void moveTo(LocalTime time) {
        Instant now = clock.instant();
        ZonedDateTime t = now.atZone(CHICAGO).with(time);
        if (!t.toInstant().isAfter(now)) {
            t = t.plusDays(1);
        }
        clock.ahead = clock.ahead.plus(Duration.between(now, t.toInstant()));
    }

    UUID patient(String mrn, String line) throws Exception {
        // the address is in Springfield, IL: Chicago time, whatever the adapter's zone (Los Angeles)
        return SmsHub.patient(HUB, rest, mrn, "Policy", line);
    }

    @Test
    void quietHoursDeferUntilTheWindowOpensAndTreatmentTextsAreCappedPerDayAndWeek() throws Exception {
        UUID c = patient("POL-1", "5550301");
        moveTo(LocalTime.of(21, 30)); // 21:30 in Springfield (19:30 in the adapter's Los Angeles: the address wins)
        String night = plan(c);
        awaitStatus(night, "deferred");
        assertThat(message(night).get("reasons").toString()).contains("quiet-hours");
        Thread.sleep(6000); // a retry round passes: still waiting
        assertThat(message(night).get("status").asText()).isEqualTo("deferred");
        assertThat(SMSC.submitted).isEmpty();

        moveTo(LocalTime.of(8, 1));
        awaitStatus(night, "sent");

        String sameDay = plan(c);
        awaitStatus(sameDay, "deferred");
        assertThat(message(sameDay).get("reasons").toString()).contains("treatment-cap");
        clock.ahead = clock.ahead.plus(Duration.ofDays(1)).plusMinutes(1);
        awaitStatus(sameDay, "sent"); // second of the week, day 2

        clock.ahead = clock.ahead.plus(Duration.ofDays(1)).plusMinutes(1);
        String third = plan(c);
        awaitStatus(third, "sent"); // third of the week, day 3

        clock.ahead = clock.ahead.plus(Duration.ofDays(1)).plusMinutes(1);
        String fourth = plan(c);
        awaitStatus(fourth, "deferred"); // a fourth within seven days waits
        assertThat(message(fourth).get("reasons").toString()).contains("treatment-cap");
        assertThat(SMSC.submitted).hasSize(3);
    }
}
