package io.caravan.channel.email;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.stereotype.Component;

/**
 * Email metrics an operator alerts on. Labels are bounded and PHI-free: a fixed stage name and a three-digit SMTP
 * code, never an address or the server's text.
 */
@Component
public class EmailMetrics {

    private final MeterRegistry registry;

    public EmailMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    /** The SMTP server refused the hub itself (TLS, AUTH, relaying, sender policy): no message can go until fixed. */
    void relayRefused(String stage, int code) {
        Counter.builder("caravan.email.relay.refusals")
                .description("SMTP refusals of the hub itself (TLS, AUTH, relaying, sender): configuration to fix")
                .tag("stage", stage).tag("code", String.valueOf(code)).register(registry).increment();
    }
}
