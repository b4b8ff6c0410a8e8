package io.caravan.segment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.caravan.consent.ConsentPolicy;
import io.caravan.crypto.FieldCipher;
import io.caravan.mapping.MappingProperties;
import io.caravan.support.Stores;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDate;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.support.StaticListableBeanFactory;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The index subscriber handles a run of events in one transaction, and a run can touch one contact several times: a
 * rolled-back run must leave the in-memory index as the database has it, i.e. as it was before the run's first touch.
 */
class SegmentIndexRunTest {

    final AttributeIndex index = new AttributeIndex();
    JdbcTemplate jdbc;
    TransactionTemplate tx;
    Segments segments;

    @BeforeEach
    void open() throws Exception {
        javax.sql.DataSource ds = Stores.migrated("index-run");
        FieldCipher cipher = Stores.cipher();
        jdbc = new JdbcTemplate(ds);
        tx = new TransactionTemplate(new DataSourceTransactionManager(ds));
        SegmentCatalog catalog = new SegmentCatalog(Path.of("config/segments"),
                ConsentPolicy.load(Path.of("config/policies")));
        segments = new Segments(jdbc, tx, cipher, null, catalog, index,
                new SegmentProperties(null, 1, 10, null, null), new ObjectMapper(), Clock.systemUTC(),
                new MappingProperties(null, null, "US", "America/Chicago", null),
                new StaticListableBeanFactory().getBeanProvider(SegmentFacts.Outside.class), null, false, "");
    }

    static IndexedAttributes in(String state) {
        return new IndexedAttributes(null, null, null, state, null, List.of(), null, null, null);
    }

    long in(String state, UUID id) {
        long[] found = {0};
        index.evaluate(io.caravan.workflow.Conditions.compile("state == '" + state + "'"), LocalDate.now(),
                SegmentFacts.Outside.NONE, 1, x -> {
                    if (x.equals(id)) {
                        found[0]++;
                    }
                });
        return found[0];
    }

    @Test
    void aRolledBackRunPutsBackWhatTheIndexHeldBeforeItsFirstTouchOfAContact() {
        UUID ana = UUID.randomUUID();
        tx.executeWithoutResult(s -> segments.indexed(ana, null, in("IL")));
        assertThat(in("IL", ana)).isOne();

        assertThatThrownBy(() -> tx.executeWithoutResult(s -> {
            segments.indexed(ana, segments.stored(ana), in("MO"));
            segments.indexed(ana, segments.stored(ana), in("WI"));
            throw new IllegalStateException("a later event of the run failed");
        })).isInstanceOf(IllegalStateException.class);

        assertThat(segments.stored(ana)).as("the database").isEqualTo(in("IL"));
        assertThat(in("IL", ana)).as("the index, as the database").isOne();
        assertThat(in("MO", ana) + in("WI", ana)).isZero();
    }

    @Test
    void anEventThatChangesNoAttributeLeavesTheStoredRowAlone() {
        UUID dee = UUID.randomUUID();
        tx.executeWithoutResult(s -> segments.indexed(dee, null, in("IL")));
        byte[] sealed = jdbc.queryForObject("SELECT payload FROM segment_attribute WHERE contact_id = ?",
                byte[].class, dee);
        tx.executeWithoutResult(s -> segments.indexed(dee, segments.stored(dee), in("IL")));
        // sealed afresh, the payload would differ (a new nonce): the same bytes mean it was not written again
        assertThat(jdbc.queryForObject("SELECT payload FROM segment_attribute WHERE contact_id = ?", byte[].class,
                dee)).isEqualTo(sealed);
        assertThat(in("IL", dee)).isOne();

        tx.executeWithoutResult(s -> segments.indexed(dee, segments.stored(dee), in("MO")));
        assertThat(segments.stored(dee)).isEqualTo(in("MO"));
        assertThat(in("MO", dee)).isOne();
    }

    @Test
    void aRolledBackRunForgetsAContactItIndexedFirst() {
        UUID bo = UUID.randomUUID();
        assertThatThrownBy(() -> tx.executeWithoutResult(s -> {
            segments.indexed(bo, null, in("IL"));
            segments.indexed(bo, segments.stored(bo), in("MO"));
            throw new IllegalStateException("a later event of the run failed");
        })).isInstanceOf(IllegalStateException.class);

        assertThat(segments.stored(bo)).isNull();
        assertThat(index.contains(bo)).isFalse();
    }

    @Test
    void aCommittedRunKeepsTheLastTouch() {
        UUID cy = UUID.randomUUID();
        tx.executeWithoutResult(s -> {
            segments.indexed(cy, null, in("IL"));
            segments.indexed(cy, segments.stored(cy), in("MO"));
        });
        assertThat(in("MO", cy)).isOne();
        assertThat(in("IL", cy)).isZero();
        assertThat(segments.stored(cy)).isEqualTo(in("MO"));
    }
}
