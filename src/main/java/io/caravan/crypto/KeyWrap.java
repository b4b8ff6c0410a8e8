package io.caravan.crypto;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.Map;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Wraps keys for the shared key table with a key-encryption key derived from the master key.
 *
 * <p>The JDK's AES-256-GCM rather than AES key wrap (RFC 3394/5649, also in the JDK): GCM takes associated data, and
 * binding each wrapped key to its row's kind and id means someone who can write to the database cannot swap the
 * blind-index key into a record key's row or rename one key as another — the unwrap fails. Nothing here needs
 * BouncyCastle. The key-encryption key is PBKDF2-HMAC-SHA256 over the master key with the row's salt: the master key
 * may be a passphrase an operator chose, not 256 random bits. The iteration count is part of {@link #WRAPPING}, stored
 * with each row, so it can be raised later without losing the rows wrapped before.
 */
final class KeyWrap {

    static final int ITERATIONS = 310_000;
    static final String WRAPPING = "pbkdf2-sha256-" + ITERATIONS + "/aes-256-gcm";
    private static final int NONCE_BYTES = 12;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final char[] masterKey;
    /** One derivation per salt: the rows a node writes share the salt of the rows it found. */
    private final Map<String, SecretKey> keks = new HashMap<>();

    KeyWrap(char[] masterKey) {
        this.masterKey = masterKey.clone();
    }

    static byte[] newSalt() {
        byte[] salt = new byte[16];
        RANDOM.nextBytes(salt);
        return salt;
    }

    byte[] wrap(String kind, String keyId, byte[] salt, SecretKey key) throws GeneralSecurityException {
        byte[] nonce = new byte[NONCE_BYTES];
        RANDOM.nextBytes(nonce);
        Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
        c.init(Cipher.ENCRYPT_MODE, kek(WRAPPING, salt), new GCMParameterSpec(128, nonce));
        c.updateAAD(aad(kind, keyId));
        byte[] sealed = c.doFinal(key.getEncoded());
        return ByteBuffer.allocate(NONCE_BYTES + sealed.length).put(nonce).put(sealed).array();
    }

    /** The key in a row; {@link WrongMasterKey} when the tag fails (another master key, or an edited row). */
    SecretKey unwrap(String kind, String keyId, String wrapping, byte[] salt, byte[] wrapped)
            throws GeneralSecurityException {
        Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
        c.init(Cipher.DECRYPT_MODE, kek(wrapping, salt), new GCMParameterSpec(128, wrapped, 0, NONCE_BYTES));
        c.updateAAD(aad(kind, keyId));
        try {
            byte[] raw = c.doFinal(wrapped, NONCE_BYTES, wrapped.length - NONCE_BYTES);
            return new SecretKeySpec(raw, DatabaseKeys.BLIND_INDEX.equals(kind) ? "HmacSHA256" : "AES");
        } catch (AEADBadTagException e) {
            throw new WrongMasterKey(keyId);
        }
    }

    private synchronized SecretKey kek(String wrapping, byte[] salt) throws GeneralSecurityException {
        if (!wrapping.startsWith("pbkdf2-sha256-") || !wrapping.endsWith("/aes-256-gcm")) {
            throw new GeneralSecurityException("unknown key wrapping " + wrapping);
        }
        int iterations = Integer.parseInt(wrapping.substring("pbkdf2-sha256-".length(), wrapping.indexOf('/')));
        String cacheKey = iterations + ":" + java.util.HexFormat.of().formatHex(salt);
        SecretKey kek = keks.get(cacheKey);
        if (kek == null) {
            byte[] raw = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256")
                    .generateSecret(new PBEKeySpec(masterKey, salt, iterations, 256)).getEncoded();
            kek = new SecretKeySpec(raw, "AES");
            keks.put(cacheKey, kek);
        }
        return kek;
    }

    private static byte[] aad(String kind, String keyId) {
        return ("caravan-key-v1\0" + kind + "\0" + keyId).getBytes(StandardCharsets.UTF_8);
    }

    /** A wrapped key that does not open: never carries key material, names the key id only. */
    static final class WrongMasterKey extends GeneralSecurityException {
        WrongMasterKey(String keyId) {
            super("key " + keyId + " in the database does not unwrap with this node's master key: every node needs"
                    + " the same master key (the variable named by caravan.crypto.master-key-env), or the row was"
                    + " altered");
        }
    }
}
