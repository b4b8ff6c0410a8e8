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

    /**
     * Where the keys come from when they are not handed over whole: the database every node shares. {@link #load} runs
     * once, at first use (after the schema migrations); {@link #reload} when a record names a key id this node has not
     * seen, as after a rotation made on another node.
     */
    interface KeySource {
        Ring load();

        Ring reload();
    }

    /** The keys one node knows: record keys by id, the one new records are sealed with, the blind-index key. */
    record Ring(Map<String, SecretKey> keys, String activeKeyId, SecretKey blindIndexKey) {
        Ring {
            if (!keys.containsKey(activeKeyId)) {
                throw new IllegalArgumentException("active key id not in keystore: " + activeKeyId);
            }
            keys = Map.copyOf(keys);
        }
    }

    private static final long RELOAD_MIN_MILLIS = 1_000;

    private final KeySource source;
    private volatile Ring ring;
    private long lastReload;
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
        this(new Ring(keys, activeKeyId, blindIndexKey), null);
    }

    /** Keys loaded from {@code source} at first use, and again when a record names a key this node lacks. */
    FieldCipher(KeySource source) {
        this(null, source);
    }

    private FieldCipher(Ring ring, KeySource source) {
        this.ring = ring;
        this.source = source;
        this.macs = ThreadLocal.withInitial(() -> {
            try {
                Mac mac = Mac.getInstance("HmacSHA256");
                mac.init(ring().blindIndexKey());
                return mac;
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("HmacSHA256 unavailable", e);
            }
        });
    }

    private Ring ring() {
        Ring r = ring;
        if (r == null) {
            synchronized (this) {
                r = ring;
                if (r == null) {
                    r = source.load();
                    ring = r;
                }
            }
        }
        return r;
    }

    /**
     * The key named {@code keyId}, reading the shared key table again when this node does not know it. The active key
     * does not change here, only at start: callers take {@link #activeKeyId()} and {@link #seal} separately, and a
     * switch between the two would label a record with one key and seal it with another. Ids that cannot be key ids
     * (a forged token) and misses within a second of the last reload do not reach the database.
     */
    private SecretKey key(String keyId) {
        if (keyId == null) {
            return null;
        }
        Ring r = ring();
        SecretKey key = r.keys().get(keyId);
        if (key != null || source == null || !keyId.matches("[a-z0-9-]{1,32}")) {
            return key;
        }
        synchronized (this) {
            key = ring.keys().get(keyId);
            long now = System.currentTimeMillis();
            if (key == null && now - lastReload >= RELOAD_MIN_MILLIS) {
                lastReload = now;
                Ring fresh = source.reload();
                ring = new Ring(fresh.keys(), ring.activeKeyId(), ring.blindIndexKey());
                key = ring.keys().get(keyId);
            }
            return key;
        }
    }

    public String activeKeyId() {
        return ring().activeKeyId();
    }

    public byte[] seal(byte[] plaintext, String associatedData) {
        try {
            byte[] nonce = new byte[NONCE_BYTES];
            random.nextBytes(nonce);
            Ring r = ring();
            Cipher cipher = ciphers.get();
            cipher.init(Cipher.ENCRYPT_MODE, r.keys().get(r.activeKeyId()), new GCMParameterSpec(TAG_BITS, nonce));
            cipher.updateAAD(associatedData.getBytes(StandardCharsets.UTF_8));
            byte[] sealed = cipher.doFinal(plaintext);
            return ByteBuffer.allocate(NONCE_BYTES + sealed.length).put(nonce).put(sealed).array();
        } catch (GeneralSecurityException e) {
            throw new CryptoException("encryption failed", e);
        }
    }

    public byte[] open(String keyId, byte[] sealed, String associatedData) {
        SecretKey key = key(keyId);
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
