package io.caravan.channel.sms;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * SMS.
 *
 * @param templatesDir one folder per template: {@code template.yaml} and {@code <lang>.txt.peb}
 * @param adapter      the id of an {@code adapters/<id>.yaml} of kind {@code smpp}; none: texts wait, deferred,
 *                     until one is configured (nothing is dropped)
 * @param backoff      waits between attempts after a refusal that may pass (the SMSC's queue full); then failed
 * @param quietHours   TCPA: the window texts may go in, recipient's local time ({@code 08:00-21:00}), and stricter
 *                     windows per US state ({@code FL: 08:00-20:00})
 * @param treatmentCap the FCC healthcare exemption as policy: treatment texts per number per day and per week
 */
@ConfigurationProperties("caravan.sms")
public record SmsProperties(Path templatesDir, String adapter, List<Duration> backoff, Quiet quietHours,
        Cap treatmentCap) {

    public record Quiet(String window, java.util.Map<String, String> states) {
        public Quiet {
            window = window == null ? "08:00-21:00" : window;
            states = states == null ? java.util.Map.of() : java.util.Map.copyOf(states);
        }
    }

    public record Cap(Integer perDay, Integer perWeek) {
        public Cap {
            perDay = perDay == null ? 1 : perDay;
            perWeek = perWeek == null ? 3 : perWeek;
        }
    }

    public SmsProperties {
        templatesDir = templatesDir == null ? Path.of("config/templates/sms") : templatesDir;
        backoff = backoff == null || backoff.isEmpty() ? List.of(Duration.ofMinutes(1), Duration.ofMinutes(5),
                Duration.ofMinutes(30), Duration.ofHours(2)) : List.copyOf(backoff);
        quietHours = quietHours == null ? new Quiet(null, null) : quietHours;
        treatmentCap = treatmentCap == null ? new Cap(null, null) : treatmentCap;
    }
}
