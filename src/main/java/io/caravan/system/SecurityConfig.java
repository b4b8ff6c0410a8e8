package io.caravan.system;

import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.security.config.Customizer;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.core.userdetails.User;
import org.springframework.security.crypto.factory.PasswordEncoderFactories;
import org.springframework.security.crypto.password.PasswordEncoder;
import org.springframework.security.provisioning.InMemoryUserDetailsManager;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.authentication.www.BasicAuthenticationFilter;
import org.springframework.web.cors.CorsConfiguration;
import org.springframework.web.cors.CorsConfigurationSource;

/**
 * HTTP Basic for the API, the metrics and the Hawtio console alike; only {@code /actuator/health} is open. No
 * sessions, so no CSRF token to manage and nothing to steal from a cookie.
 */
@Configuration(proxyBeanMethods = false)
class SecurityConfig {

    private static final Logger log = LoggerFactory.getLogger(SecurityConfig.class);
    static final String ADMIN_PASSWORD_ENV = "CARAVAN_ADMIN_PASSWORD";

    @Bean
    SecurityFilterChain api(HttpSecurity http, LoginThrottle throttle) throws Exception {
        // Who may do what (README "Roles"): one table, which the API description reads too
        http.authorizeHttpRequests(a -> {
            for (AccessRules.Rule r : AccessRules.RULES) {
                String[] patterns = r.patterns().toArray(String[]::new);
                var matched = r.method() == null ? a.requestMatchers(patterns) : a.requestMatchers(r.method(), patterns);
                switch (r.kind()) {
                    case PUBLIC -> matched.permitAll();
                    case AUTHENTICATED -> matched.authenticated();
                    case ROLES -> matched.hasAnyRole(r.roles().toArray(String[]::new));
                }
            }
        })
                .httpBasic(Customizer.withDefaults())
                .addFilterBefore(new LoginThrottleFilter(throttle), BasicAuthenticationFilter.class)
                // Browsers send Basic credentials they hold for the hub along with a foreign page's requests: no
                // origin but the hub's own may call the API or the console (403, and no CORS grant ever).
                .cors(c -> c.configurationSource(sameOriginOnly()))
                .sessionManagement(s -> s.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
                .csrf(c -> c.disable())
                .headers(h -> h.frameOptions(f -> f.sameOrigin()));
        return http.build();
    }

    /**
     * No allowed origin: every cross-origin request to the API or the console is refused. Matched on the full path:
     * Spring's URL-based source looks at the path within the servlet, which for Jolokia's own servlet is empty.
     */
    static CorsConfigurationSource sameOriginOnly() {
        CorsConfiguration none = new CorsConfiguration();
        return request -> {
            String path = request.getRequestURI().substring(request.getContextPath().length());
            return path.startsWith("/api/") || path.equals("/api") || path.startsWith("/actuator")
                    || path.startsWith("/hawtio") ? none : null;
        };
    }

    @Bean
    LoginThrottle loginThrottle(LoginThrottleProperties props, InMemoryUserDetailsManager users) {
        return new LoginThrottle(props, java.time.Clock.systemUTC(), users::userExists);
    }

    @Bean
    PasswordEncoder passwordEncoder() {
        return new VerifiedPasswordCache(PasswordEncoderFactories.createDelegatingPasswordEncoder(),
                java.time.Clock.systemUTC());
    }

    /**
     * {@code admin} holds every role; its password comes from the environment or a generated 0600 file. Other users
     * come from {@code caravan.security.users} with hashed passwords or passwords named by environment variables.
     */
    @Bean
    InMemoryUserDetailsManager users(HubProperties hub, UsersProperties configured, PasswordEncoder encoder) {
        Path file = hub.dataDir().resolve("admin-password");
        boolean fromEnv = SecretFiles.fromEnv(ADMIN_PASSWORD_ENV);
        String password = SecretFiles.fromEnvOrFile(ADMIN_PASSWORD_ENV, file, 18);
        if (!fromEnv) {
            log.info("Admin password (user 'admin') is in {}; set {} to choose it", file.toAbsolutePath(),
                    ADMIN_PASSWORD_ENV);
        }
        InMemoryUserDetailsManager users = new InMemoryUserDetailsManager(User.withUsername("admin")
                .password(encoder.encode(password))
                .roles("ADMIN", "INTEGRATION", "OPERATOR", "COMPLIANCE")
                .build());
        for (UsersProperties.User u : configured.users()) {
            String hash = u.passwordHash();
            if (hash == null) {
                String secret = System.getenv(u.passwordEnv());
                if (secret == null || secret.isBlank()) {
                    throw new IllegalStateException("user " + u.name() + ": environment variable " + u.passwordEnv()
                            + " is not set");
                }
                hash = encoder.encode(secret);
            }
            users.createUser(User.withUsername(u.name()).password(hash).roles(u.springRoles()).build());
        }
        return users;
    }
}
