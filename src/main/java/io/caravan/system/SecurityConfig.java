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
        http.authorizeHttpRequests(a -> a
                        .requestMatchers("/actuator/health", "/actuator/health/liveness", "/actuator/health/readiness")
                        .permitAll()
                        .requestMatchers("/error").permitAll()
                        .requestMatchers("/api/**").hasRole("ADMIN")
                        .requestMatchers("/actuator/prometheus", "/hawtio/**", "/actuator/hawtio/**",
                                "/actuator/jolokia/**")
                        .hasAnyRole("ADMIN", "OPERATOR")
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

    /** {@code admin} holds every role. Its password comes from the environment or a generated 0600 file. */
    @Bean
    UserDetailsService users(HubProperties hub, PasswordEncoder encoder) {
        Path file = hub.dataDir().resolve("admin-password");
        boolean fromEnv = SecretFiles.fromEnv(ADMIN_PASSWORD_ENV);
        String password = SecretFiles.fromEnvOrFile(ADMIN_PASSWORD_ENV, file, 18);
        if (!fromEnv) {
            log.info("Admin password (user 'admin') is in {}; set {} to choose it", file.toAbsolutePath(),
                    ADMIN_PASSWORD_ENV);
        }
        return new InMemoryUserDetailsManager(User.withUsername("admin")
                .password(encoder.encode(password))
                .roles("ADMIN", "INTEGRATION", "OPERATOR", "COMPLIANCE")
                .build());
    }
}
