package io.caravan.crypto;

import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Pattern;
import java.nio.file.Path;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/**
 * Keys that encrypt PHI at rest.
 *
 * @param keystore     PKCS#12 keystore of an earlier version, imported into the database's key table at start when
 *                     the file exists; default {@code <data-dir>/keys/caravan.p12}. Keys live in the database now.
 * @param activeKeyId  key id used for new records; naming an id the database lacks creates that key and makes it the
 *                     cluster's active key (rotation). Older records keep naming the key that sealed them.
 * @param masterKeyEnv environment variable holding the master key that wraps the keys in the database, the same on
 *                     every node. When unset, the embedded default generates one into {@code <data-dir>/master-key}
 *                     (0600).
 */
@Validated
@ConfigurationProperties("caravan.crypto")
public record CryptoProperties(
        Path keystore,
        @NotBlank @Pattern(regexp = "[a-z0-9-]{1,32}") String activeKeyId,
        @NotBlank String masterKeyEnv) {

    public CryptoProperties {
        if (activeKeyId == null) {
            activeKeyId = "dek-1";
        }
        if (masterKeyEnv == null) {
            masterKeyEnv = "CARAVAN_MASTER_KEY";
        }
    }
}
