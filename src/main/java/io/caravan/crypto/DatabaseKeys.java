package io.caravan.crypto;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.crypto.KeyGenerator;
import javax.crypto.SecretKey;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The keys of every node in the shared database ({@code crypto_key}), wrapped by the master key.
 *
 * <p>At first load: a data directory's PKCS#12 keystore from before is imported (each key inserted if absent; a key
 * of the same id with other material stops the start, since records sealed with either would become unreadable), the
 * blind-index key and the configured active key are created if absent. Every insert is insert-if-absent on the
 * primary key, then everything is read back: when two nodes start at once on an empty database the database decides
 * whose random key is kept, and both use that one. No lock of our own.
 */
final class DatabaseKeys implements FieldCipher.KeySource {

    private static final Logger log = LoggerFactory.getLogger(DatabaseKeys.class);
    static final String DEK = "dek";
    static final String BLIND_INDEX = "blind-index";
    static final String BLIND_INDEX_ID = "bidx-1";
    private static final String UNIQUE_VIOLATION = "23505";

    private record Row(String keyId, String kind, String wrapping, byte[] salt, byte[] wrapped, boolean active,
            Instant createdAt) {
    }

    private final DataSource dataSource;
    private final KeyWrap wrap;
    private final String configuredActive;
    private final Path keystore;
    private final char[] keystorePassword;

    DatabaseKeys(DataSource dataSource, char[] masterKey, String configuredActive, Path keystore) {
        this.dataSource = dataSource;
        this.wrap = new KeyWrap(masterKey);
        this.configuredActive = configuredActive;
        this.keystore = keystore;
        this.keystorePassword = masterKey.clone();
    }

    @Override
    public FieldCipher.Ring load() {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(true);
            importKeystore(c);
            ensure(c);
            return read(c);
        } catch (SQLException | IOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot load the data-encryption keys from the database: "
                    + e.getMessage(), e);
        }
    }

    @Override
    public FieldCipher.Ring reload() {
        try (Connection c = dataSource.getConnection()) {
            return read(c);
        } catch (SQLException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot reload the data-encryption keys: " + e.getMessage(), e);
        }
    }

    /** The upgrade path: a single node's keystore file becomes rows; from then on the database is where keys live. */
    private void importKeystore(Connection c) throws SQLException, IOException, GeneralSecurityException {
        if (keystore == null || !Files.exists(keystore)) {
            return;
        }
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keystore)) {
            ks.load(in, keystorePassword);
        }
        Map<String, Row> rows = rows(c);
        int imported = 0;
        for (String alias : Collections.list(ks.aliases())) {
            SecretKey key = (SecretKey) ks.getKey(alias, keystorePassword);
            String kind = BLIND_INDEX_ID.equals(alias) ? BLIND_INDEX : DEK;
            if (!rows.containsKey(alias) && insertIfAbsent(c, alias, kind, key, salt(rows))) {
                imported++;
                continue;
            }
            Row row = rows(c).get(alias);
            SecretKey stored = wrap.unwrap(row.kind(), row.keyId(), row.wrapping(), row.salt(), row.wrapped());
            if (!row.kind().equals(kind) || !MessageDigest.isEqual(stored.getEncoded(), key.getEncoded())) {
                throw new GeneralSecurityException("the keystore " + keystore + " holds a key " + alias + " that"
                        + " differs from the database's key of that id: records sealed with one would not open with"
                        + " the other. Was this data directory used with another database? See README \"Keys\"");
            }
        }
        if (imported > 0) {
            log.info("Imported {} keys from the keystore {} into the database; keys are read from the database now and"
                    + " the file is no longer needed (keep it with your backups or delete it)", imported, keystore);
        }
    }

    private void ensure(Connection c) throws SQLException, GeneralSecurityException {
        Map<String, Row> rows = rows(c);
        if (!rows.containsKey(BLIND_INDEX_ID)) {
            insertIfAbsent(c, BLIND_INDEX_ID, BLIND_INDEX, generate("HmacSHA256"), salt(rows));
        }
        if (!rows.containsKey(configuredActive)) {
            if (insertIfAbsent(c, configuredActive, DEK, generate("AES"), salt(rows))) {
                try (PreparedStatement ps = c.prepareStatement(
                        "UPDATE crypto_key SET active = (key_id = ?) WHERE kind = ?")) {
                    ps.setString(1, configuredActive);
                    ps.setString(2, DEK);
                    ps.executeUpdate();
                }
                log.info("Created data-encryption key {} in the database; it seals new records on this node now and"
                        + " on the others when they restart", configuredActive);
            }
        } else {
            // imported keys arrive inactive: the configured one becomes active unless another already is
            try (PreparedStatement ps = c.prepareStatement("UPDATE crypto_key SET active = TRUE WHERE key_id = ?"
                    + " AND kind = ? AND NOT EXISTS (SELECT 1 FROM crypto_key k WHERE k.active)")) {
                ps.setString(1, configuredActive);
                ps.setString(2, DEK);
                ps.executeUpdate();
            }
        }
    }

    private FieldCipher.Ring read(Connection c) throws SQLException, GeneralSecurityException {
        Map<String, SecretKey> keys = new HashMap<>();
        SecretKey blind = null;
        Row newestActive = null;
        for (Row row : rows(c).values()) {
            SecretKey key = wrap.unwrap(row.kind(), row.keyId(), row.wrapping(), row.salt(), row.wrapped());
            if (BLIND_INDEX.equals(row.kind())) {
                if (BLIND_INDEX_ID.equals(row.keyId())) {
                    blind = key;
                }
                continue;
            }
            keys.put(row.keyId(), key);
            if (row.active() && (newestActive == null || row.createdAt().isAfter(newestActive.createdAt()))) {
                newestActive = row;
            }
        }
        if (blind == null) {
            throw new GeneralSecurityException("the database holds no blind-index key " + BLIND_INDEX_ID);
        }
        String active = newestActive != null ? newestActive.keyId() : configuredActive;
        if (!active.equals(configuredActive) && keys.containsKey(configuredActive)) {
            log.debug("caravan.crypto.active-key-id names {}, the database's active key is {}", configuredActive,
                    active);
        }
        return new FieldCipher.Ring(keys, active, blind);
    }

    private Map<String, Row> rows(Connection c) throws SQLException {
        Map<String, Row> rows = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT key_id, kind, wrapping, salt, wrapped, active, created_at FROM crypto_key");
                ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                rows.put(rs.getString(1), new Row(rs.getString(1), rs.getString(2), rs.getString(3), rs.getBytes(4),
                        rs.getBytes(5), rs.getBoolean(6), rs.getTimestamp(7).toInstant()));
            }
        }
        return rows;
    }

    /** The salt of the rows already there (one key derivation per start), or a new one on an empty table. */
    private static byte[] salt(Map<String, Row> rows) {
        List<Row> all = new ArrayList<>(rows.values());
        return all.isEmpty() ? KeyWrap.newSalt() : all.get(0).salt();
    }

    /** True when this node's row went in; false when another node's insert of the same id won. */
    private boolean insertIfAbsent(Connection c, String keyId, String kind, SecretKey key, byte[] salt)
            throws SQLException, GeneralSecurityException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO crypto_key"
                + " (key_id, kind, wrapping, salt, wrapped, created_at, active) VALUES (?, ?, ?, ?, ?, ?, FALSE)")) {
            ps.setString(1, keyId);
            ps.setString(2, kind);
            ps.setString(3, KeyWrap.WRAPPING);
            ps.setBytes(4, salt);
            ps.setBytes(5, wrap.wrap(kind, keyId, salt, key));
            ps.setTimestamp(6, Timestamp.from(Instant.now()));
            ps.executeUpdate();
            return true;
        } catch (SQLException e) {
            if (UNIQUE_VIOLATION.equals(e.getSQLState())) {
                return false;
            }
            throw e;
        }
    }

    private static SecretKey generate(String algorithm) throws GeneralSecurityException {
        KeyGenerator gen = KeyGenerator.getInstance(algorithm);
        gen.init(256);
        return gen.generateKey();
    }
}
