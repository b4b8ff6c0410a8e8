package io.caravan.consent;

import io.caravan.crypto.FieldCipher;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;
import java.util.UUID;
import org.springframework.stereotype.Component;

/**
 * Opaque one-click unsubscribe tokens (RFC 8058): the contact id and the scope, sealed with AES-GCM under the data
 * key. A token names no contact in clear, cannot be forged or altered (the GCM tag), and needs no lookup table.
 * Form: {@code <key id>.<base64url of nonce|ciphertext|tag>}.
 */
@Component
public class UnsubscribeTokens {

    private static final String AAD = "unsubscribe-v1";
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder B64D = Base64.getUrlDecoder();

    private final FieldCipher cipher;

    public UnsubscribeTokens(FieldCipher cipher) {
        this.cipher = cipher;
    }

    /** What a token unsubscribes from. */
    public record Scope(UUID contactId, String channel, String purpose) {
    }

    public String issue(UUID contactId, String channel, String purpose) {
        byte[] ch = channel.getBytes(StandardCharsets.UTF_8);
        byte[] pu = purpose.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(16 + 2 + ch.length + pu.length);
        b.putLong(contactId.getMostSignificantBits()).putLong(contactId.getLeastSignificantBits());
        b.put((byte) ch.length).put(ch).put((byte) pu.length).put(pu);
        return cipher.activeKeyId() + "." + B64.encodeToString(cipher.seal(b.array(), AAD));
    }

    /** The scope of a genuine token; empty for anything else (never says why). */
    public Optional<Scope> open(String token) {
        try {
            int dot = token.indexOf('.');
            if (dot <= 0 || token.length() > 512) {
                return Optional.empty();
            }
            ByteBuffer b = ByteBuffer.wrap(cipher.open(token.substring(0, dot), B64D.decode(token.substring(dot + 1)),
                    AAD));
            UUID id = new UUID(b.getLong(), b.getLong());
            byte[] ch = new byte[b.get()];
            b.get(ch);
            byte[] pu = new byte[b.get()];
            b.get(pu);
            return Optional.of(new Scope(id, new String(ch, StandardCharsets.UTF_8),
                    new String(pu, StandardCharsets.UTF_8)));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }
}
