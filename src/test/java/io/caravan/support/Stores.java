package io.caravan.support;

import io.caravan.crypto.FieldCipher;
import java.security.GeneralSecurityException;
import java.util.Map;
import java.util.UUID;
import javax.crypto.KeyGenerator;
import org.flywaydb.core.Flyway;
import org.h2.jdbcx.JdbcDataSource;

/** For tests of one store class: the hub's schema on a private in-memory H2, and a cipher with keys of its own. */
public final class Stores {

    private Stores() {
    }

    /** A new in-memory database (named after {@code name}, made unique) with every migration applied. */
    public static JdbcDataSource migrated(String name) {
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL("jdbc:h2:mem:" + name + "-" + UUID.randomUUID()
                + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DB_CLOSE_DELAY=-1");
        Flyway.configure().dataSource(ds).locations("classpath:db/migration").load().migrate();
        return ds;
    }

    /** A field cipher with a fresh AES-256 data key ({@code dek-1}) and a fresh blind-index key. */
    public static FieldCipher cipher() throws GeneralSecurityException {
        KeyGenerator aes = KeyGenerator.getInstance("AES");
        aes.init(256);
        return new FieldCipher(Map.of("dek-1", aes.generateKey()), "dek-1",
                KeyGenerator.getInstance("HmacSHA256").generateKey());
    }
}
