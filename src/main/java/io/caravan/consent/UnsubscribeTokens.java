package io.caravan.consent;

import io.caravan.crypto.FieldCipher;
import io.caravan.crypto.OpaqueTokens;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.UUID;
import org.springframework.stereotype.Component;

/**
 * One-click unsubscribe tokens (RFC 8058): the contact id, the scope and the message that carried the link in an
 * {@link OpaqueTokens} token, so the link names no contact and cannot be forged or altered. Links sent before the
 * message was added still open, without one.
 */
@Component
public class UnsubscribeTokens {

    private static final String USE = "unsubscribe-v1";

    private final OpaqueTokens tokens;

    public UnsubscribeTokens(FieldCipher cipher) {
        this.tokens = new OpaqueTokens(cipher);
    }

    /**
     * What a token unsubscribes from, and the message whose link it was ({@code null} for a link issued without one):
     * the campaign report and the streams count the unsubscribe against that message.
     */
    public record Scope(UUID contactId, String channel, String purpose, UUID messageId) {
    }

    public String issue(UUID contactId, String channel, String purpose) {
        return issue(contactId, channel, purpose, null);
    }

    public String issue(UUID contactId, String channel, String purpose, UUID messageId) {
        byte[] ch = channel.getBytes(StandardCharsets.UTF_8);
        byte[] pu = purpose.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(16 + 2 + ch.length + pu.length + (messageId == null ? 0 : 16));
        b.putLong(contactId.getMostSignificantBits()).putLong(contactId.getLeastSignificantBits());
        b.put((byte) ch.length).put(ch).put((byte) pu.length).put(pu);
        if (messageId != null) {
            b.putLong(messageId.getMostSignificantBits()).putLong(messageId.getLeastSignificantBits());
        }
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
                UUID message = b.remaining() == 16 ? new UUID(b.getLong(), b.getLong()) : null;
                if (b.hasRemaining()) {
                    return Optional.empty();
                }
                return Optional.of(new Scope(id, new String(ch, StandardCharsets.UTF_8),
                        new String(pu, StandardCharsets.UTF_8), message));
            } catch (RuntimeException e) {
                return Optional.empty();
            }
        });
    }
}
