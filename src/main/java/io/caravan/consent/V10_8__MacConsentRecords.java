package io.caravan.consent;

import io.caravan.crypto.FieldCipher;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.flywaydb.core.api.migration.BaseJavaMigration;
import org.flywaydb.core.api.migration.Context;
import org.springframework.stereotype.Component;

/**
 * MACs the consent records written before the {@code mac} column existed (V10_7), once, as Flyway records. Runs as a
 * Spring bean (Spring Boot hands Flyway every {@code JavaMigration} bean) because the MAC key is in the keystore, not
 * the database. Never runs again: a row whose MAC is removed later stays untrusted.
 */
@Component
class V10_8__MacConsentRecords extends BaseJavaMigration {

    private final FieldCipher cipher;

    V10_8__MacConsentRecords(FieldCipher cipher) {
        this.cipher = cipher;
    }

    @Override
    public void migrate(Context context) throws Exception {
        Connection c = context.getConnection();
        List<ConsentStore.MacUpdate> rows = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT id, contact_id, kind, purpose, channel, form,"
                + " remuneration, source, recorded_by, effective_at, expires_at, revoked_at, recorded_at, key_id"
                + " FROM consent_record WHERE mac IS NULL"); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                ConsentRecord r = new ConsentRecord(rs.getObject(1, UUID.class), rs.getObject(2, UUID.class),
                        rs.getString(3), rs.getString(4), rs.getString(5), rs.getString(6), rs.getBoolean(7),
                        rs.getString(8), rs.getString(9), instant(rs.getTimestamp(10)), instant(rs.getTimestamp(11)),
                        instant(rs.getTimestamp(12)), instant(rs.getTimestamp(13)), null);
                rows.add(new ConsentStore.MacUpdate(r.id(), ConsentStore.mac(cipher, r, rs.getString(14))));
            }
        }
        try (PreparedStatement ps = c.prepareStatement("UPDATE consent_record SET mac = ? WHERE id = ?")) {
            for (ConsentStore.MacUpdate row : rows) {
                ps.setBytes(1, row.mac());
                ps.setObject(2, row.id());
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    private static java.time.Instant instant(Timestamp t) {
        return t == null ? null : t.toInstant();
    }
}
