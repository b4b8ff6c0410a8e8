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
 */
@ConfigurationProperties("caravan.sms")
public record SmsProperties(Path templatesDir, String adapter, List<Duration> backoff) {

    public SmsProperties {
        templatesDir = templatesDir == null ? Path.of("config/templates/sms") : templatesDir;
        backoff = backoff == null || backoff.isEmpty() ? List.of(Duration.ofMinutes(1), Duration.ofMinutes(5),
                Duration.ofMinutes(30), Duration.ofHours(2)) : List.copyOf(backoff);
    }
}
