package io.caravan.crypto;

import java.util.Base64;
import java.util.Optional;

/**
 * Opaque URL tokens: a small payload sealed with AES-GCM under the data key, {@code <key id>.<base64url>}. They put
 * nothing readable in a URL (no PHI, no contact id), cannot be forged or altered (the GCM tag), need no lookup table,
 * and a token made for one use (the associated data) does not open for another.
 */
public final class OpaqueTokens {

    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder B64D = Base64.getUrlDecoder();
    private static final int MAX_LENGTH = 4096;

    private final FieldCipher cipher;

    public OpaqueTokens(FieldCipher cipher) {
        this.cipher = cipher;
    }

    /** A token carrying {@code payload} for {@code use} (e.g. {@code unsubscribe-v1}). */
    public String issue(String use, byte[] payload) {
        return cipher.activeKeyId() + "." + B64.encodeToString(cipher.seal(payload, use));
    }

    /** The payload of a genuine token for {@code use}; empty for anything else (never says why). */
    public Optional<byte[]> open(String use, String token) {
        try {
            int dot = token.indexOf('.');
            if (dot <= 0 || token.length() > MAX_LENGTH) {
                return Optional.empty();
            }
            return Optional.of(cipher.open(token.substring(0, dot), B64D.decode(token.substring(dot + 1)), use));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }
}
