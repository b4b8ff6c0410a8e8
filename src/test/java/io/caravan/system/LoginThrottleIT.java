package io.caravan.system;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.support.TestHub;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Issue 15 item 10: failed Basic logins were never throttled - a password could be guessed at full speed. After a few
 * failures for one user from one address that pair is locked (429, the password not even checked); many failures
 * from one address across user names lock the address. Each client plays its own host by binding a loopback address.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@ExtendWith(OutputCaptureExtension.class)
class LoginThrottleIT {

    static final TestHub HUB = TestHub.named("login-throttle");

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        HUB.register(r);
        r.add("caravan.security.login-throttle.max-failures", () -> "3");
        r.add("caravan.security.login-throttle.max-failures-per-address", () -> "8");
        r.add("caravan.security.login-throttle.lockout", () -> "5m");
    }

    @LocalServerPort
    int port;

    RawHttp.Response workflows(String from, String user, String password) throws Exception {
        return RawHttp.send(port, from, "GET", "/api/workflows", Map.of("Authorization", RawHttp.basic(user,
                password)), null);
    }

    @Test
    void aUserIsLockedFromAnAddressAfterRepeatedFailuresEvenWithTheRightPassword(CapturedOutput output)
            throws Exception {
        String guess = "guess-Zq81";
        for (int i = 0; i < 3; i++) {
            assertThat(workflows("127.0.0.2", TestHub.INTEGRATION, guess + i).status()).isEqualTo(401);
        }
        RawHttp.Response locked = workflows("127.0.0.2", TestHub.INTEGRATION, TestHub.USER_PASSWORD);
        assertThat(locked.status()).as(locked.toString()).isEqualTo(429);
        assertThat(Long.parseLong(locked.header("Retry-After"))).isBetween(1L, 300L);
        assertThat(locked.header("Content-Type")).startsWith("application/problem+json");
        assertThat(workflows("127.0.0.2", TestHub.INTEGRATION, guess).status()).isEqualTo(429);

        // the same user from elsewhere, and another user from that address, are not locked out
        assertThat(workflows("127.0.0.3", TestHub.INTEGRATION, TestHub.USER_PASSWORD).status()).isEqualTo(200);
        assertThat(workflows("127.0.0.2", TestHub.OPERATOR, TestHub.USER_PASSWORD).status()).isEqualTo(200);

        assertThat(output.getOut()).contains("Basic login locked").contains(TestHub.INTEGRATION)
                .doesNotContain(guess).doesNotContain(TestHub.USER_PASSWORD);
    }

    @Test
    void anAddressTryingManyUserNamesIsLocked() throws Exception {
        for (int i = 0; i < 8; i++) {
            assertThat(workflows("127.0.0.4", "nobody" + i, "pw" + i).status()).isEqualTo(401);
        }
        assertThat(workflows("127.0.0.4", TestHub.COMPLIANCE, TestHub.USER_PASSWORD).status()).isEqualTo(429);
        assertThat(workflows("127.0.0.5", TestHub.COMPLIANCE, TestHub.USER_PASSWORD).status()).isEqualTo(200);
    }

    @Test
    void aSuccessfulLoginStartsTheCountAgain() throws Exception {
        for (int round = 0; round < 3; round++) {
            assertThat(workflows("127.0.0.6", TestHub.OPERATOR, "typo").status()).isEqualTo(401);
            assertThat(workflows("127.0.0.6", TestHub.OPERATOR, "typo").status()).isEqualTo(401);
            assertThat(workflows("127.0.0.6", TestHub.OPERATOR, TestHub.USER_PASSWORD).status()).isEqualTo(200);
        }
    }
}
