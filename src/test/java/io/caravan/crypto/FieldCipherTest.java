package io.caravan.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import javax.crypto.KeyGenerator;
import javax.crypto.SecretKey;
import org.junit.jupiter.api.Test;

class FieldCipherTest {

    static SecretKey aes() throws Exception {
        KeyGenerator g = KeyGenerator.getInstance("AES");
        g.init(256);
        return g.generateKey();
    }

    static SecretKey hmac() throws Exception {
        return KeyGenerator.getInstance("HmacSHA256").generateKey();
    }

    @Test
    void sealedRecordsOpenOnlyWithTheirKeyAndRow() throws Exception {
        FieldCipher c = new FieldCipher(Map.of("dek-1", aes()), "dek-1", hmac());
        byte[] sealed = c.seal("Jane Canary".getBytes(StandardCharsets.UTF_8), "row-1");
        assertThat(new String(sealed, StandardCharsets.ISO_8859_1)).doesNotContain("Canary");
        assertThat(new String(c.open("dek-1", sealed, "row-1"), StandardCharsets.UTF_8)).isEqualTo("Jane Canary");
        // a blob copied into another row does not open
        assertThatThrownBy(() -> c.open("dek-1", sealed, "row-2")).isInstanceOf(FieldCipher.CryptoException.class);
        sealed[sealed.length - 1] ^= 1;
        assertThatThrownBy(() -> c.open("dek-1", sealed, "row-1")).isInstanceOf(FieldCipher.CryptoException.class)
                .hasMessageNotContaining("Canary");
    }

    @Test
    void afterRotationOldRecordsStillOpenAndNewOnesUseTheNewKey() throws Exception {
        SecretKey k1 = aes();
        SecretKey k2 = aes();
        SecretKey bidx = hmac();
        FieldCipher before = new FieldCipher(Map.of("dek-1", k1), "dek-1", bidx);
        byte[] old = before.seal("x".getBytes(), "r");
        FieldCipher after = new FieldCipher(Map.of("dek-1", k1, "dek-2", k2), "dek-2", bidx);
        assertThat(after.open("dek-1", old, "r")).isEqualTo("x".getBytes());
        byte[] fresh = after.seal("y".getBytes(), "r");
        assertThatThrownBy(() -> after.open("dek-1", fresh, "r")).isInstanceOf(FieldCipher.CryptoException.class);
        assertThat(after.open("dek-2", fresh, "r")).isEqualTo("y".getBytes());
        // blind indexes do not change with the record key
        assertThat(after.blindIndex("identifier", "MRN|1")).isEqualTo(before.blindIndex("identifier", "MRN|1"));
    }

    @Test
    void blindIndexesAreKeyedAndSeparatedByDomain() throws Exception {
        FieldCipher a = new FieldCipher(Map.of("dek-1", aes()), "dek-1", hmac());
        FieldCipher b = new FieldCipher(Map.of("dek-1", aes()), "dek-1", hmac());
        assertThat(a.blindIndex("identifier", "S|1")).isEqualTo(a.blindIndex("identifier", "S|1"))
                .isNotEqualTo(a.blindIndex("inbound", "S|1"))
                .isNotEqualTo(b.blindIndex("identifier", "S|1"))
                .doesNotContain("S|1").hasSize(64);
    }
}
