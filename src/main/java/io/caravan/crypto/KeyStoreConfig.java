package io.caravan.crypto;

import io.caravan.system.HubProperties;
import io.caravan.system.SecretFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.HashMap;
import java.util.Map;
import javax.crypto.KeyGenerator;
import javax.crypto.SecretKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Loads (once) the PKCS#12 keystore of data-encryption keys, creating it on first start. Key ids starting with
 * {@code dek-} are AES-256 record keys; {@code bidx-1} is the HMAC key of the blind indexes (not rotated: the indexes
 * would have to be rebuilt).
 */
@Configuration(proxyBeanMethods = false)
class KeyStoreConfig {

    private static final Logger log = LoggerFactory.getLogger(KeyStoreConfig.class);
    static final String BLIND_INDEX_KEY = "bidx-1";

    @Bean
    FieldCipher fieldCipher(CryptoProperties props, HubProperties hub) throws IOException, GeneralSecurityException {
        Path file = props.keystore() != null ? props.keystore() : hub.dataDir().resolve("keys").resolve("caravan.p12");
        char[] password = SecretFiles.fromEnvOrFile(props.masterKeyEnv(), hub.dataDir().resolve("master-key"), 32)
                .toCharArray();
        KeyStore ks = KeyStore.getInstance("PKCS12");
        boolean changed = false;
        if (Files.exists(file)) {
            try (InputStream in = Files.newInputStream(file)) {
                ks.load(in, password);
            }
        } else {
            ks.load(null, password);
            changed = true;
        }
        if (!ks.containsAlias(BLIND_INDEX_KEY)) {
            ks.setEntry(BLIND_INDEX_KEY, new KeyStore.SecretKeyEntry(generate("HmacSHA256", 256)),
                    new KeyStore.PasswordProtection(password));
            changed = true;
        }
        if (!ks.containsAlias(props.activeKeyId())) {
            ks.setEntry(props.activeKeyId(), new KeyStore.SecretKeyEntry(generate("AES", 256)),
                    new KeyStore.PasswordProtection(password));
            log.info("Created data-encryption key {} in {}", props.activeKeyId(), file);
            changed = true;
        }
        if (changed) {
            store(ks, file, password);
        }
        Map<String, SecretKey> keys = new HashMap<>();
        SecretKey blind = null;
        for (String alias : java.util.Collections.list(ks.aliases())) {
            SecretKey key = (SecretKey) ks.getKey(alias, password);
            if (alias.equals(BLIND_INDEX_KEY)) {
                blind = key;
            } else {
                keys.put(alias, key);
            }
        }
        return new FieldCipher(keys, props.activeKeyId(), blind);
    }

    private static SecretKey generate(String algorithm, int bits) throws GeneralSecurityException {
        KeyGenerator gen = KeyGenerator.getInstance(algorithm);
        gen.init(bits);
        return gen.generateKey();
    }

    private static void store(KeyStore ks, Path file, char[] password) throws IOException, GeneralSecurityException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try (OutputStream out = Files.newOutputStream(tmp)) {
            ks.store(out, password);
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
