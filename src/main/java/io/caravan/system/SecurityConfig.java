package io.caravan.system;

import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpMethod;
import org.springframework.security.config.Customizer;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.core.userdetails.User;
import org.springframework.security.core.userdetails.UserDetailsService;
import org.springframework.security.crypto.factory.PasswordEncoderFactories;
import org.springframework.security.crypto.password.PasswordEncoder;
import org.springframework.security.provisioning.InMemoryUserDetailsManager;
import org.springframework.security.web.SecurityFilterChain;

/**
 * HTTP Basic for the API, the metrics and the Hawtio console alike; only {@code /actuator/health} is open. No
 * sessions, so no CSRF token to manage and nothing to steal from a cookie.
 */
@Configuration(proxyBeanMethods = false)
class SecurityConfig {

    private static final Logger log = LoggerFactory.getLogger(SecurityConfig.class);
    static final String ADMIN_PASSWORD_ENV = "CARAVAN_ADMIN_PASSWORD";

    @Bean
    SecurityFilterChain api(HttpSecurity http) throws Exception {
        // Who may do what (README "Roles"): PHI is read by integration (to check a feed) and compliance; consent
        // records, decisions, disclosures and the audit trail belong to compliance; operators see the console and the
        // metrics, which carry no PHI. admin holds every role.
        http.authorizeHttpRequests(a -> a
                        .requestMatchers("/actuator/health", "/actuator/health/liveness", "/actuator/health/readiness")
                        .permitAll()
                        .requestMatchers("/error").permitAll()
                        // RFC 8058 one-click unsubscribe: the opaque token is the credential
                        .requestMatchers("/unsubscribe/*").permitAll()
                        // engagement pixel and click redirects: opaque sealed tokens, nothing to read
                        .requestMatchers("/t/o/*", "/t/c/*").permitAll()
                        // portal pickup: the reader proves who they are with a code and a second factor
                        .requestMatchers("/portal/*", "/portal/*/code").permitAll()
                        .requestMatchers(HttpMethod.GET, "/api/contacts", "/api/contacts/*")
                        .hasAnyRole("INTEGRATION", "COMPLIANCE")
                        .requestMatchers(HttpMethod.GET, "/api/contacts/*/events").hasRole("INTEGRATION")
                        .requestMatchers("/api/contacts/*/authorizations/**", "/api/contacts/*/consents/**",
                                "/api/contacts/*/opt-outs/**", "/api/contacts/*/consent-records",
                                "/api/contacts/*/decision", "/api/contacts/*/disclosures", "/api/contacts/*/keys/**",
                                "/api/contacts/*/smime-certificate", "/api/contacts/*/pgp-key", "/api/audit/**",
                                "/api/audit")
                        .hasRole("COMPLIANCE")
                        // undoing a wrong identity link: audited, compliance (admin holds every role)
                        .requestMatchers(HttpMethod.POST, "/api/contacts/*/split").hasRole("COMPLIANCE")
                        .requestMatchers(HttpMethod.POST, "/api/messages").hasRole("INTEGRATION")
                        // workflow definitions are configuration, no PHI
                        .requestMatchers(HttpMethod.GET, "/api/workflows", "/api/workflows/*",
                                "/api/workflows/*/report")
                        .hasAnyRole("INTEGRATION", "COMPLIANCE", "OPERATOR")
                        // which journeys a patient is in says something about their health: PHI, audited
                        .requestMatchers(HttpMethod.GET, "/api/contacts/*/journeys")
                        .hasAnyRole("INTEGRATION", "COMPLIANCE")
                        .requestMatchers(HttpMethod.GET, "/api/messages/*", "/api/contacts/*/messages")
                        .hasAnyRole("INTEGRATION", "COMPLIANCE")
                        .requestMatchers("/api/**").hasRole("ADMIN")
                        .requestMatchers("/actuator/prometheus", "/hawtio/**", "/actuator/hawtio/**",
                                "/actuator/jolokia/**")
                        .hasAnyRole("OPERATOR", "INTEGRATION")
                        .anyRequest().hasRole("ADMIN"))
                .httpBasic(Customizer.withDefaults())
                .sessionManagement(s -> s.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
                .csrf(c -> c.disable())
                .headers(h -> h.frameOptions(f -> f.sameOrigin()));
        return http.build();
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
    UserDetailsService users(HubProperties hub, UsersProperties configured, PasswordEncoder encoder) {
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
