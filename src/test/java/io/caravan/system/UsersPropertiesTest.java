package io.caravan.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Users from configuration: hashed or env-named passwords only, known roles only, admin reserved. */
class UsersPropertiesTest {

    static UsersProperties.User user(String name, List<String> roles, String hash, String env) {
        return new UsersProperties.User(name, roles, hash, env);
    }

    @Test
    void aWellFormedUserListIsAccepted() {
        UsersProperties p = new UsersProperties(List.of(user("carol", List.of("compliance"), "{bcrypt}$2a$04$x", null),
                user("ops", List.of("operator", "integration"), null, "OPS_PASSWORD")));
        assertThat(p.users()).hasSize(2);
        assertThat(p.users().get(1).springRoles()).containsExactly("OPERATOR", "INTEGRATION");
    }

    @Test
    void badUsersFailTheStart() {
        assertThatThrownBy(() -> new UsersProperties(List.of(user("admin", List.of("operator"), "{bcrypt}x", null))))
                .hasMessageContaining("reserved");
        assertThatThrownBy(() -> new UsersProperties(List.of(user("eve", List.of("superuser"), "{bcrypt}x", null))))
                .hasMessageContaining("roles");
        assertThatThrownBy(() -> new UsersProperties(List.of(user("eve", List.of("operator"), "plaintext", null))))
                .as("a clear-text password is not a hash").hasMessageContaining("encoder");
        assertThatThrownBy(() -> new UsersProperties(List.of(user("eve", List.of("operator"), null, null))))
                .hasMessageContaining("exactly one");
        assertThatThrownBy(() -> new UsersProperties(List.of(user("eve", List.of("operator"), "{bcrypt}x", "PW"))))
                .hasMessageContaining("exactly one");
    }

    /** Issue 15 item 10: {@code {noop}} (and fast unsalted digests) kept the password in clear in configuration. */
    @Test
    void aClearTextOrFastHashIsRefusedAtStart() {
        for (String hash : new String[] {"{noop}secret", "{MD5}5ebe2294ecd0e0f08eab7690d2a6ee69",
                "{SHA-256}2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b", "{sha256}abc",
                "{ldap}{SSHA}abc", "{MD4}abc", "{SHA-1}abc"}) {
            assertThatThrownBy(() -> new UsersProperties(List.of(user("eve", List.of("operator"), hash, null))))
                    .as(hash).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("eve").hasMessageContaining("{bcrypt}")
                    .hasMessageNotContaining(hash.substring(hash.indexOf('}') + 1));
        }
        for (String hash : new String[] {"{bcrypt}$2a$10$x", "{argon2@SpringSecurity_v5_8}x", "{pbkdf2}x",
                "{scrypt}x"}) {
            assertThat(new UsersProperties(List.of(user("eve", List.of("operator"), hash, null))).users()).hasSize(1);
        }
    }
}
