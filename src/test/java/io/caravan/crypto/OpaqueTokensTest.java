package io.caravan.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import javax.crypto.KeyGenerator;
import org.junit.jupiter.api.Test;

class OpaqueTokensTest {

    @Test
    void aTokenOpensOnlyForItsUseAndOnlyUnaltered() throws Exception {
        KeyGenerator aes = KeyGenerator.getInstance("AES");
        aes.init(256);
        OpaqueTokens tokens = new OpaqueTokens(new FieldCipher(Map.of("dek-1", aes.generateKey()), "dek-1",
                KeyGenerator.getInstance("HmacSHA256").generateKey()));
        byte[] payload = "contact-42|email|marketing".getBytes(StandardCharsets.UTF_8);
        String token = tokens.issue("unsubscribe-v1", payload);
        assertThat(token).startsWith("dek-1.").doesNotContain("contact-42").matches("[A-Za-z0-9._-]+");
        assertThat(tokens.open("unsubscribe-v1", token)).hasValueSatisfying(p -> assertThat(p).isEqualTo(payload));
        assertThat(tokens.open("tracking-v1", token)).as("made for another use").isEmpty();
        char last = token.charAt(token.length() - 1);
        assertThat(tokens.open("unsubscribe-v1", token.substring(0, token.length() - 1) + (last == 'A' ? 'B' : 'A')))
                .as("altered").isEmpty();
        assertThat(tokens.open("unsubscribe-v1", "dek-9." + token.substring(6))).as("unknown key").isEmpty();
        assertThat(tokens.open("unsubscribe-v1", "garbage")).isEmpty();
        assertThat(tokens.open("unsubscribe-v1", "dek-1.%%%")).isEmpty();
    }
}
