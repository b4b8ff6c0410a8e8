package io.caravan.system;

import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/**
 * Users besides {@code admin}, from configuration. A password is given as a hash ({@code {bcrypt}…}, from
 * {@code htpasswd -bnBC 10 "" PASSWORD | tr -d ':'} prefixed with {@code {bcrypt}}) or named by an environment
 * variable; never in clear in a file.
 *
 * <p>Roles: {@code integration} (feeds, mappings, routes; reads contacts to check a feed), {@code operator} (Hawtio
 * and metrics — never PHI), {@code compliance} (audit, decisions, consent records, disclosures). {@code admin} has
 * every role.
 */
@Validated
@ConfigurationProperties("caravan.security")
public record UsersProperties(List<User> users) {

    public static final Set<String> ROLES = Set.of("integration", "operator", "compliance", "admin");
    /**
     * Spring's encoders that are salted and deliberately slow; {@code {noop}}, {@code {MD5}}, {@code {SHA-256}} and
     * the like are refused at start.
     */
    static final Set<String> SLOW_ENCODERS = Set.of("{bcrypt}", "{argon2}", "{argon2@SpringSecurity_v5_8}",
            "{scrypt}", "{scrypt@SpringSecurity_v5_8}", "{pbkdf2}", "{pbkdf2@SpringSecurity_v5_8}");

    static String encoder(String hash) {
        int end = hash.indexOf('}');
        return end < 0 ? hash : hash.substring(0, end + 1);
    }

    public UsersProperties {
        users = users == null ? List.of() : List.copyOf(users);
        for (User u : users) {
            if (u.name() == null || !u.name().matches("[a-z0-9][a-z0-9._-]{0,63}") || "admin".equals(u.name())) {
                throw new IllegalArgumentException("caravan.security.users: bad or reserved user name");
            }
            if (u.roles() == null || u.roles().isEmpty() || !ROLES.containsAll(u.roles())) {
                throw new IllegalArgumentException("caravan.security.users " + u.name()
                        + ": roles must be some of " + ROLES);
            }
            if ((u.passwordHash() == null) == (u.passwordEnv() == null)) {
                throw new IllegalArgumentException("caravan.security.users " + u.name()
                        + ": give exactly one of password-hash or password-env");
            }
            if (u.passwordHash() != null && !u.passwordHash().startsWith("{")) {
                throw new IllegalArgumentException("caravan.security.users " + u.name()
                        + ": password-hash must name its encoder, e.g. {bcrypt}$2a$10$...");
            }
            if (u.passwordHash() != null && !SLOW_ENCODERS.contains(encoder(u.passwordHash()))) {
                // the id only: what follows it is the password itself with {noop}
                throw new IllegalArgumentException("caravan.security.users " + u.name() + ": password-hash "
                        + encoder(u.passwordHash()) + " keeps the password in clear or as a fast digest anyone with "
                        + "the file can reverse; give a {bcrypt} hash (htpasswd -bnBC 10 \"\" PASSWORD | tr -d ':'), "
                        + "or {argon2}, {scrypt}, {pbkdf2}, or password-env");
            }
        }
    }

    /** One user. */
    public record User(String name, List<String> roles, String passwordHash, String passwordEnv) {

        String[] springRoles() {
            return roles.stream().map(r -> r.toUpperCase(Locale.ROOT)).toArray(String[]::new);
        }
    }
}
