package io.caravan.crypto;

import io.caravan.system.HubProperties;
import io.caravan.system.SecretFiles;
import java.nio.file.Path;
import javax.sql.DataSource;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The data-encryption keys, from the database every node shares ({@link DatabaseKeys}), unwrapped with the master key
 * from the environment (or, in the embedded default's first try, {@code <data-dir>/master-key}). Key ids starting
 * with {@code dek-} are AES-256 record keys; {@code bidx-1} is the HMAC key of the blind indexes and the audit chain
 * (not rotated: the indexes would have to be rebuilt). A keystore file left by an earlier version is imported once.
 */
@Configuration(proxyBeanMethods = false)
class KeyStoreConfig {

    @Bean
    FieldCipher fieldCipher(CryptoProperties props, HubProperties hub, DataSource dataSource) {
        Path file = props.keystore() != null ? props.keystore() : hub.dataDir().resolve("keys").resolve("caravan.p12");
        char[] master = SecretFiles.fromEnvOrFile(props.masterKeyEnv(), hub.dataDir().resolve("master-key"), 32)
                .toCharArray();
        // loaded at first use, not here: the Flyway migration that needs a MAC key (V10_8) is a bean built before the
        // migrations run, and the key table is one of them
        return new FieldCipher(new DatabaseKeys(dataSource, master, props.activeKeyId(), file));
    }

    /**
     * Loads the keys before anything else starts, so a node with another master key than the cluster's stops at start
     * with one line saying so, not at its first registration.
     */
    @Bean
    SmartLifecycle keysLoadedAtStart(FieldCipher cipher) {
        return new SmartLifecycle() {
            private volatile boolean running;

            @Override
            public void start() {
                cipher.activeKeyId();
                running = true;
            }

            @Override
            public void stop() {
                running = false;
            }

            @Override
            public boolean isRunning() {
                return running;
            }

            @Override
            public int getPhase() {
                return Integer.MIN_VALUE;
            }
        };
    }
}
