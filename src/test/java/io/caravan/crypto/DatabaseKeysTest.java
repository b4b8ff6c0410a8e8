package io.caravan.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The shared key table on the embedded database (the same SQL runs on PostgreSQL, see SharedKeysPostgresIT): nodes
 * starting together agree on one set of keys, a single node's keystore file from before is imported so its records
 * keep opening, and a node with the wrong master key or an edited row stops with a clear message.
 */
class DatabaseKeysTest {

    static final char[] MASTER = "test-master-key".toCharArray();

    @TempDir
    Path dir;

    static DataSource database() {
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL("jdbc:h2:mem:keys-" + UUID.randomUUID() + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DB_CLOSE_DELAY=-1");
        ds.setUser("sa");
        Flyway.configure().dataSource(ds).locations("classpath:db/migration").load().migrate();
        return ds;
    }

    @Test
    void nodesStartingAtTheSameMomentAgreeOnOneSetOfKeys() throws Exception {
        DataSource db = database();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            Callable<FieldCipher> node = () -> {
                FieldCipher c = new FieldCipher(new DatabaseKeys(db, MASTER, "dek-1", dir.resolve("none.p12")));
                c.activeKeyId();
                return c;
            };
            List<Future<FieldCipher>> started = pool.invokeAll(List.of(node, node, node, node));
            FieldCipher first = started.get(0).get();
            byte[] sealed = first.seal("Jane Canary".getBytes(StandardCharsets.UTF_8), "row-1");
            for (Future<FieldCipher> f : started) {
                FieldCipher other = f.get();
                assertThat(other.blindIndex("mrn", "MERCY|123")).isEqualTo(first.blindIndex("mrn", "MERCY|123"));
                assertThat(new String(other.open("dek-1", sealed, "row-1"), StandardCharsets.UTF_8))
                        .isEqualTo("Jane Canary");
            }
        } finally {
            pool.shutdownNow();
        }
        JdbcTemplate jdbc = new JdbcTemplate(db);
        assertThat(jdbc.queryForList("SELECT key_id FROM crypto_key ORDER BY key_id", String.class))
                .containsExactly("bidx-1", "dek-1");
        // wrapped: the raw key is not in the row
        assertThat(jdbc.queryForObject("SELECT wrapping FROM crypto_key WHERE key_id = 'dek-1'", String.class))
                .isEqualTo(KeyWrap.WRAPPING);
    }

    @Test
    void aKeystoreFileFromBeforeIsImportedAndItsRecordsStillOpen() throws Exception {
        // what KeyStoreConfig wrote into <data-dir>/keys/caravan.p12 up to now, with two keys after a rotation
        Path file = dir.resolve("caravan.p12");
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, MASTER);
        var dek1 = FieldCipherTest.aes();
        var dek2 = FieldCipherTest.aes();
        var bidx = FieldCipherTest.hmac();
        KeyStore.PasswordProtection pw = new KeyStore.PasswordProtection(MASTER);
        ks.setEntry("bidx-1", new KeyStore.SecretKeyEntry(bidx), pw);
        ks.setEntry("dek-1", new KeyStore.SecretKeyEntry(dek1), pw);
        ks.setEntry("dek-2", new KeyStore.SecretKeyEntry(dek2), pw);
        try (OutputStream out = Files.newOutputStream(file)) {
            ks.store(out, MASTER);
        }
        FieldCipher before = new FieldCipher(java.util.Map.of("dek-1", dek1, "dek-2", dek2), "dek-2", bidx);
        byte[] old = before.seal("Old Record".getBytes(StandardCharsets.UTF_8), "row-1");

        DataSource db = database();
        FieldCipher after = new FieldCipher(new DatabaseKeys(db, MASTER, "dek-2", file));
        assertThat(after.activeKeyId()).isEqualTo("dek-2");
        assertThat(new String(after.open("dek-2", old, "row-1"), StandardCharsets.UTF_8)).isEqualTo("Old Record");
        assertThat(after.blindIndex("mrn", "MERCY|1")).isEqualTo(before.blindIndex("mrn", "MERCY|1"));

        // the file is no longer needed: a node without it reads the same keys from the database
        Files.delete(file);
        FieldCipher later = new FieldCipher(new DatabaseKeys(db, MASTER, "dek-2", file));
        assertThat(new String(later.open("dek-2", old, "row-1"), StandardCharsets.UTF_8)).isEqualTo("Old Record");
        byte[] older = new FieldCipher(java.util.Map.of("dek-1", dek1), "dek-1", bidx).seal(new byte[] {1}, "r");
        assertThat(later.open("dek-1", older, "r")).containsExactly(1);
    }

    @Test
    void aKeystoreWhoseKeyDiffersFromTheDatabasesStopsTheStart() throws Exception {
        DataSource db = database();
        new FieldCipher(new DatabaseKeys(db, MASTER, "dek-1", dir.resolve("none.p12"))).activeKeyId();
        // another node's own keystore, as today's hubs each generated one
        Path file = dir.resolve("other.p12");
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, MASTER);
        ks.setEntry("dek-1", new KeyStore.SecretKeyEntry(FieldCipherTest.aes()),
                new KeyStore.PasswordProtection(MASTER));
        try (OutputStream out = Files.newOutputStream(file)) {
            ks.store(out, MASTER);
        }
        assertThatThrownBy(() -> new FieldCipher(new DatabaseKeys(db, MASTER, "dek-1", file)).activeKeyId())
                .hasMessageContaining("differs from the database's key");
    }

    @Test
    void aNodeWithAnotherMasterKeyStopsWithAMessageNamingIt() {
        DataSource db = database();
        new FieldCipher(new DatabaseKeys(db, MASTER, "dek-1", dir.resolve("none.p12"))).activeKeyId();
        assertThatThrownBy(() -> new FieldCipher(new DatabaseKeys(db, "another".toCharArray(), "dek-1",
                dir.resolve("none.p12"))).activeKeyId())
                .hasMessageContaining("same master key").hasMessageContaining("caravan.crypto.master-key-env");
    }

    @Test
    void aWrappedKeyMovedToAnotherRowDoesNotOpen() {
        DataSource db = database();
        new FieldCipher(new DatabaseKeys(db, MASTER, "dek-1", dir.resolve("none.p12"))).activeKeyId();
        JdbcTemplate jdbc = new JdbcTemplate(db);
        // someone with write access to the database makes the blind-index key a record key
        jdbc.update("UPDATE crypto_key SET kind = 'dek', key_id = 'dek-9' WHERE key_id = 'bidx-1'");
        jdbc.update("INSERT INTO crypto_key (key_id, kind, wrapping, salt, wrapped, created_at, active)"
                + " SELECT 'bidx-1', 'blind-index', wrapping, salt, wrapped, created_at, FALSE FROM crypto_key"
                + " WHERE key_id = 'dek-1'");
        assertThatThrownBy(() -> new FieldCipher(new DatabaseKeys(db, MASTER, "dek-1", dir.resolve("none.p12")))
                .activeKeyId()).hasMessageContaining("or the row was altered");
    }

    @Test
    void aKeyCreatedByAnotherNodeIsFoundWhenARecordNamesIt() throws Exception {
        DataSource db = database();
        FieldCipher a = new FieldCipher(new DatabaseKeys(db, MASTER, "dek-1", dir.resolve("none.p12")));
        assertThat(a.activeKeyId()).isEqualTo("dek-1");
        FieldCipher b = new FieldCipher(new DatabaseKeys(db, MASTER, "dek-2", dir.resolve("none.p12")));
        assertThat(b.activeKeyId()).isEqualTo("dek-2");
        byte[] sealed = b.seal("New Record".getBytes(StandardCharsets.UTF_8), "row-9");
        assertThat(new String(a.open("dek-2", sealed, "row-9"), StandardCharsets.UTF_8)).isEqualTo("New Record");
        // a keeps sealing with the key it started with until it restarts; then with the cluster's active key
        assertThat(a.activeKeyId()).isEqualTo("dek-1");
        FieldCipher aRestarted = new FieldCipher(new DatabaseKeys(db, MASTER, "dek-1", dir.resolve("none.p12")));
        assertThat(aRestarted.activeKeyId()).isEqualTo("dek-2");
        // an id no node ever made is still an error, not a loop of reloads
        assertThatThrownBy(() -> a.open("dek-7", sealed, "row-9")).isInstanceOf(FieldCipher.CryptoException.class);
    }
}
