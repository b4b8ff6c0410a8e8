package io.caravan.stream;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Standard Webhooks signatures (standardwebhooks.com): {@code webhook-signature: v1,<base64 HMAC-SHA256 of
 * "<webhook-id>.<webhook-timestamp>.<body>">}. A secret written {@code whsec_<base64>} (the convention's own form) is
 * the decoded bytes; any other value is used as its UTF-8 bytes (what {@code openssl dgst -sha256 -hmac} takes).
 */
public final class WebhookSigner {

    private final byte[] key;

    public WebhookSigner(String secret) {
        if (secret == null || secret.isBlank()) {
            throw new IllegalArgumentException("empty webhook secret");
        }
        this.key = secret.startsWith("whsec_") ? Base64.getDecoder().decode(secret.substring(6))
                : secret.getBytes(StandardCharsets.UTF_8);
        if (key.length < 16) {
            // a short key makes the signature guessable; the convention asks for 24 to 64 bytes
            throw new IllegalArgumentException("webhook secret shorter than 16 bytes");
        }
    }

    /** The header value: {@code v1,<base64>}. */
    public String sign(String id, long timestampSeconds, byte[] body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            mac.update((id + "." + timestampSeconds + ".").getBytes(StandardCharsets.UTF_8));
            return "v1," + Base64.getEncoder().encodeToString(mac.doFinal(body));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }
}
