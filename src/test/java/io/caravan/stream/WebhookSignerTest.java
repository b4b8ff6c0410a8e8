package io.caravan.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Signatures as the Standard Webhooks libraries compute them, and the retry schedule. */
class WebhookSignerTest {

    @Test
    void theConventionsOwnExampleSignsAlike() {
        // the example of the Standard Webhooks specification and its reference libraries
        WebhookSigner s = new WebhookSigner("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        assertThat(s.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330L,
                "{\"test\": 2432232314}".getBytes(StandardCharsets.UTF_8)))
                .isEqualTo("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    @Test
    void aShortOrMissingSecretIsRefused() {
        assertThatThrownBy(() -> new WebhookSigner(null)).hasMessageContaining("empty");
        assertThatThrownBy(() -> new WebhookSigner("short")).hasMessageContaining("shorter than 16");
    }

    @Test
    void theBackoffDoublesUpToItsCeiling() {
        StreamProperties.Webhook w = new StreamProperties.Webhook(Duration.ofSeconds(5), Duration.ofHours(1),
                Duration.ofDays(3));
        assertThat(w.backoff(1)).isEqualTo(Duration.ofSeconds(5));
        assertThat(w.backoff(2)).isEqualTo(Duration.ofSeconds(10));
        assertThat(w.backoff(5)).isEqualTo(Duration.ofSeconds(80));
        assertThat(w.backoff(12)).isEqualTo(Duration.ofHours(1));
        assertThat(w.backoff(500)).isEqualTo(Duration.ofHours(1));
    }
}
