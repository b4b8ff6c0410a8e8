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
}
