package io.caravan.channel.email;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

/**
 * Issue 15 item 10: portal pages (PHI, the birth date asked as a second factor, the one-time code) are reached through
 * {@code caravan.email.public-base-url}; plain http to any other host than this machine put them on the wire in
 * clear. Bound as at start-up.
 */
class PublicBaseUrlTest {

    static EmailProperties bind(String url) {
        return new Binder(new MapConfigurationPropertySource(Map.of("caravan.email.public-base-url", url)))
                .bind("caravan.email", EmailProperties.class).get();
    }

    @Test
    void plainHttpToAnotherHostIsRefusedAtStart() {
        for (String url : new String[] {"http://hub.example.org", "http://10.1.2.3:8080", "http://localhost.evil.org",
                "ftp://hub.example.org", "hub.example.org", "http://[2001:db8::1]/"}) {
            assertThatThrownBy(() -> bind(url)).as(url).rootCause()
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("caravan.email.public-base-url").hasMessageContaining("https://");
        }
    }

    @Test
    void httpsAnywhereAndHttpOnThisMachineAreAccepted() {
        for (String url : new String[] {"https://hub.example.org", "https://hub.example.org:8443/caravan/",
                "http://localhost:8080", "http://127.0.0.1:18080", "http://[::1]:8080", "http://127.1.2.3"}) {
            assertThat(bind(url).publicBaseUrl()).as(url).isEqualTo(url.replaceAll("/+$", ""));
        }
    }
}
