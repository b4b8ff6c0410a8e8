package io.caravan.contact;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.audit.AuditProperties;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.env.PropertySource;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.io.FileSystemResource;

/**
 * An ACK means durable, power loss included (the public contract): the shipped configuration and a configuration that
 * says nothing both flush the journal and the audit trail per group. The process-crash mode is only ever an explicit
 * choice. A test cannot cut the power; {@code JournalTest} shows that a durable journal flushes each group.
 */
class DurableByDefaultTest {

    static Binder shipped() throws Exception {
        List<PropertySource<?>> yaml = new YamlPropertySourceLoader().load("application.yaml",
                new FileSystemResource(Path.of("config/application.yaml")));
        StandardEnvironment env = new StandardEnvironment();
        yaml.forEach(env.getPropertySources()::addFirst);
        return Binder.get(env);
    }

    @Test
    void theShippedConfigurationFlushesTheJournalAndTheAuditTrail() throws Exception {
        Binder b = shipped();
        StoreProperties store = b.bind("caravan.store", StoreProperties.class).get();
        assertThat(store.journal().enabled()).isTrue();
        assertThat(store.journal().fsync()).as("caravan.store.journal.fsync").isTrue();
        AuditProperties audit = b.bind("caravan.audit", AuditProperties.class).get();
        assertThat(audit.fsync()).as("caravan.audit.fsync").isTrue();
    }

    @Test
    void aConfigurationThatSaysNothingIsDurableToo() {
        assertThat(new StoreProperties(null, 0).journal().fsync()).isTrue();
        assertThat(new StoreProperties.Journal(true, null, null).fsync()).isTrue();
        assertThat(new AuditProperties(null, null, null).fsync()).isTrue();
    }

    @Test
    void theFasterModeIsAnExplicitChoice() {
        assertThat(new StoreProperties.Journal(true, false, null).fsync()).isFalse();
        assertThat(new AuditProperties(null, null, false).fsync()).isFalse();
    }
}
