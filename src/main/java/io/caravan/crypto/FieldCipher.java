package io.caravan.crypto;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Map;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;

/**
 * AES-256-GCM encryption of PHI records and HMAC-SHA256 blind indexes for looking them up.
 *
 * <p>A sealed record is {@code [12-byte nonce][ciphertext+tag]}; the caller stores the key id beside it so keys can
 * rotate. The associated data binds a ciphertext to its row (e.g. the contact id), so a blob copied into another row
 * does not decrypt. Thread-safe: a Cipher per call is cheap next to a keystore load, which happens once.
 */
public final class FieldCipher {

    private static final int NONCE_BYTES = 12;
    private static final int TAG_BITS = 128;

    private final Map<String, SecretKey> keys;
    private final String activeKeyId;
    private final SecretKey blindIndexKey;
    private final SecureRandom random = new SecureRandom();
    private final ThreadLocal<Mac> macs;
    // Cipher.getInstance looks up providers on every call; one instance per thread, re-initialised per record
    private final ThreadLocal<Cipher> ciphers = ThreadLocal.withInitial(() -> {
        try {
            return Cipher.getInstance("AES/GCM/NoPadding");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES/GCM unavailable", e);
        }
    });

    public FieldCipher(Map<String, SecretKey> keys, String activeKeyId, SecretKey blindIndexKey) {
        if (!keys.containsKey(activeKeyId)) {
            throw new IllegalArgumentException("active key id not in keystore: " + activeKeyId);
        }
        this.keys = Map.copyOf(keys);
        this.activeKeyId = activeKeyId;
        this.blindIndexKey = blindIndexKey;
        this.macs = ThreadLocal.withInitial(() -> {
            try {
                Mac mac = Mac.getInstance("HmacSHA256");
                mac.init(this.blindIndexKey);
                return mac;
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("HmacSHA256 unavailable", e);
            }
        });
    }

    public String activeKeyId() {
        return activeKeyId;
    }

    public byte[] seal(byte[] plaintext, String associatedData) {
        try {
            byte[] nonce = new byte[NONCE_BYTES];
            random.nextBytes(nonce);
            Cipher cipher = ciphers.get();
            cipher.init(Cipher.ENCRYPT_MODE, keys.get(activeKeyId), new GCMParameterSpec(TAG_BITS, nonce));
            cipher.updateAAD(associatedData.getBytes(StandardCharsets.UTF_8));
            byte[] sealed = cipher.doFinal(plaintext);
            return ByteBuffer.allocate(NONCE_BYTES + sealed.length).put(nonce).put(sealed).array();
        } catch (GeneralSecurityException e) {
            throw new CryptoException("encryption failed", e);
        }
    }

    public byte[] open(String keyId, byte[] sealed, String associatedData) {
        SecretKey key = keys.get(keyId);
        if (key == null) {
            throw new CryptoException("no key with id " + keyId + " in the keystore", null);
        }
        try {
            Cipher cipher = ciphers.get();
            cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, sealed, 0, NONCE_BYTES));
            cipher.updateAAD(associatedData.getBytes(StandardCharsets.UTF_8));
            return cipher.doFinal(sealed, NONCE_BYTES, sealed.length - NONCE_BYTES);
        } catch (GeneralSecurityException e) {
            throw new CryptoException("decryption failed (wrong key or tampered record)", e);
        }
    }

    /**
     * Deterministic keyed hash for equality lookups (identifiers, dedupe keys) without storing the value. Domain
     * separates kinds so the same text in two roles gives two indexes.
     */
    public String blindIndex(String domain, String value) {
        Mac mac = macs.get();
        mac.update(domain.getBytes(StandardCharsets.UTF_8));
        mac.update((byte) 0);
        return HexFormat.of().formatHex(mac.doFinal(value.getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * A keyed MAC over {@code data} (HMAC-SHA256 with the blind-index key, domain separated): for the audit chain,
     * whose MACs must not be recomputable by someone who can only write to the database.
     */
    public byte[] mac(String domain, byte[] data) {
        Mac mac = macs.get();
        mac.update(domain.getBytes(StandardCharsets.UTF_8));
        mac.update((byte) 0);
        return mac.doFinal(data);
    }

    /** A failure to seal or open a record. Never carries the data. */
    public static final class CryptoException extends RuntimeException {
        CryptoException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
