package io.caravan.channel.email;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** MTA-STS policy files (RFC 8461 3.2) and MX pattern matching (4.1). */
class MtaStsTest {

    @Test
    void parsesAPolicyAndMatchesMxPatternsAsTheRfcSays() {
        MtaSts.Policy p = MtaSts.parse("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n"
                + "mx: *.example.net\r\nmax_age: 604800\r\n", "id1");
        assertThat(p.enforced()).isTrue();
        assertThat(p.maxAge()).isEqualTo(Duration.ofDays(7));
        assertThat(p.allows("mail.example.com")).isTrue();
        assertThat(p.allows("MAIL.Example.com")).isTrue();
        assertThat(p.allows("mx1.example.net")).isTrue();
        assertThat(p.allows("a.b.example.net")).as("a wildcard covers one label only").isFalse();
        assertThat(p.allows("example.net")).isFalse();
        assertThat(p.allows("evil.example.com")).isFalse();
        assertThat(MtaSts.parse("version: STSv1\nmode: testing\nmx: x.example\nmax_age: 10\n", "i").enforced())
                .isFalse();
    }

    @Test
    void refusesWhatIsNotAPolicy() {
        assertThatThrownBy(() -> MtaSts.parse("<html>not found</html>", "i"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> MtaSts.parse("version: STSv1\nmode: enforce\nmax_age: 10\n", "i"))
                .as("enforce without mx").isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> MtaSts.parse("version: STSv2\nmode: enforce\nmx: a\nmax_age: 10\n", "i"))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
