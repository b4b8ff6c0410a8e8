package io.caravan.consent;

import io.caravan.crypto.FieldCipher;
import io.caravan.crypto.OpaqueTokens;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.UUID;
import org.springframework.stereotype.Component;

/**
 * One-click unsubscribe tokens (RFC 8058): the contact id and the scope in an {@link OpaqueTokens} token, so the
 * link names no contact and cannot be forged or altered.
 */
@Component
public class UnsubscribeTokens {

    private static final String USE = "unsubscribe-v1";

    private final OpaqueTokens tokens;

    public UnsubscribeTokens(FieldCipher cipher) {
        this.tokens = new OpaqueTokens(cipher);
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
        return tokens.issue(USE, b.array());
    }

    /** The scope of a genuine token; empty for anything else. */
    public Optional<Scope> open(String token) {
        return tokens.open(USE, token).flatMap(bytes -> {
            try {
                ByteBuffer b = ByteBuffer.wrap(bytes);
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
        });
    }
}
