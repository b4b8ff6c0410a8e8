package io.caravan.contact;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.audit.AuditLog;
import io.caravan.audit.AuditProperties;
import io.caravan.crypto.FieldCipher;
import io.caravan.ingest.JsonLineSource;
import io.caravan.system.HubProperties;
import io.caravan.system.Ids;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.crypto.spec.SecretKeySpec;
import org.flywaydb.core.Flyway;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.support.StaticListableBeanFactory;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * After a crash the writer reads each journaled message again through the intake source of the kind recorded with
 * it - a source the store knows nothing about - and keeps a message whose kind is not installed as failed, for
 * replay, instead of failing its start.
 */
class JournalRecoveryBySourceKindTest {

    @TempDir
    Path dir;

    final FieldCipher cipher = new FieldCipher(Map.of("k1", new SecretKeySpec(random(32), "AES")), "k1",
            new SecretKeySpec(random(32), "HmacSHA256"));

    static byte[] random(int n) {
        byte[] b = new byte[n];
        new SecureRandom().nextBytes(b);
        return b;
    }

    /** A message a source accepted: journaled (so ACKed), not yet in the database. */
    Journal.Entry journaled(String kind, String json) {
        UUID id = Ids.next();
        byte[] sealed = cipher.seal(json.getBytes(StandardCharsets.UTF_8), id.toString());
        return new Journal.Entry(0, id, kind, cipher.blindIndex("inbound", id.toString()), "json", "person",
                InboundMessage.Status.PROCESSED, null, "k1", Instant.now(), Ids.next(), sealed);
    }

    @Test
    void journaledMessagesAreReadAgainByTheSourceOfTheirKind() throws Exception {
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL("jdbc:h2:mem:recovery-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
        Flyway.configure().dataSource(ds).locations("classpath:db/migration").load().migrate();
        Journal.Entry mapped = journaled(JsonLineSource.KIND,
                "{\"ref\":\"r1\",\"mrn\":\"M-RECOVER\",\"email\":\"recover@example.org\"}");
        Journal.Entry unmappable = journaled(JsonLineSource.KIND, "{\"ref\":\"r2\",\"patientId\":\"P2\"}");
        Journal.Entry retired = journaled("retired-kind", "{\"ref\":\"r3\",\"mrn\":\"M-RETIRED\"}");
        Path journal = dir.resolve("journal");
        try (Journal j = new Journal(journal, false, 0)) {
            j.append(List.of(mapped, unmappable, retired));
        }

        StaticListableBeanFactory beans = new StaticListableBeanFactory();
        beans.addBean("jsonLineSource", new JsonLineSource());
        ObjectProvider<IntakeSource> sources = beans.getBeanProvider(IntakeSource.class);
        ObjectProvider<ContactWriter.MergeFollower> none = new StaticListableBeanFactory()
                .getBeanProvider(ContactWriter.MergeFollower.class);
        ContactWriter writer = new ContactWriter(ds, cipher,
                new StoreProperties(new StoreProperties.Journal(true, false, journal), 1), new HubProperties(dir),
                sources, new AuditLog(ds, cipher, Clock.systemUTC(), new AuditProperties(null, false, false)), none,
                new LogPartitions(new org.springframework.jdbc.core.JdbcTemplate(ds), 16));
        writer.start();
        writer.awaitVisible();
        writer.stop();

        JdbcTemplate jdbc = new JdbcTemplate(ds);
        Map<String, Object> first = jdbc.queryForMap("SELECT status, source_kind, control_id, contact_id"
                + " FROM inbound_message WHERE id = ?", mapped.id());
        assertThat(first).containsEntry("STATUS", "processed").containsEntry("SOURCE_KIND", JsonLineSource.KIND)
                .containsEntry("CONTROL_ID", "r1");
        assertThat(first.get("CONTACT_ID")).isNotNull();
        assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM trigger_event WHERE id = ?", Long.class,
                mapped.eventId())).as("its trigger event, under its journaled id").isEqualTo(1L);

        assertThat(jdbc.queryForMap("SELECT status, error_code, source_kind FROM inbound_message WHERE id = ?",
                unmappable.id())).containsEntry("STATUS", "failed").containsEntry("ERROR_CODE", "mapping:mrn")
                .containsEntry("SOURCE_KIND", JsonLineSource.KIND);
        assertThat(jdbc.queryForMap("SELECT status, error_code, source_kind, contact_id FROM inbound_message"
                + " WHERE id = ?", retired.id())).containsEntry("STATUS", "failed")
                .containsEntry("ERROR_CODE", "source:unknown").containsEntry("SOURCE_KIND", "retired-kind")
                .containsEntry("CONTACT_ID", null);
        assertThat(jdbc.queryForObject("SELECT applied_seq FROM journal_state", Long.class)).isEqualTo(3L);
    }
}
