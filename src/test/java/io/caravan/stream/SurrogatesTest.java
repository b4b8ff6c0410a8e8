package io.caravan.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.util.UUID;
import org.flywaydb.core.Flyway;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;

/** Surrogate ids: one per contact and destination, kept, and random - not a function of the contact. */
class SurrogatesTest {

    static JdbcTemplate database() {
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL("jdbc:h2:mem:surrogates-" + UUID.randomUUID()
                + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DB_CLOSE_DELAY=-1");
        ds.setUser("sa");
        Flyway.configure().dataSource(ds).locations("classpath:db/migration").load().migrate();
        return new JdbcTemplate(ds);
    }

    @Test
    void aContactKeepsOneSurrogatePerDestinationAndDifferentOnesAcrossDestinations() {
        Surrogates s = new Surrogates(database(), Clock.systemUTC());
        UUID contact = UUID.randomUUID();
        UUID crm = s.surrogate("crm", contact);
        assertThat(s.surrogate("crm", contact)).isEqualTo(crm);
        assertThat(s.surrogate("analytics", contact)).isNotEqualTo(crm);
        assertThat(crm).isNotEqualTo(contact);
        assertThat(s.surrogate("crm", UUID.randomUUID())).isNotEqualTo(crm);
    }

    @Test
    void aRunOfContactsGetsTheSurrogatesEachWouldGetAlone() {
        Surrogates s = new Surrogates(database(), Clock.systemUTC());
        UUID known = UUID.randomUUID();
        UUID before = s.surrogate("crm", known);
        UUID fresh = UUID.randomUUID();
        java.util.Map<UUID, UUID> run = s.surrogates("crm", java.util.List.of(known, fresh, known));
        assertThat(run).hasSize(2).containsEntry(known, before);
        assertThat(run.get(fresh)).isNotEqualTo(before);
        // kept: a second hub object on the same table (nothing held in its memory) reads the same
        assertThat(s.surrogate("crm", fresh)).isEqualTo(run.get(fresh));
    }

    @Test
    void aSurrogateDrawnInARolledBackTransactionIsNotKeptAnywhere() {
        JdbcTemplate jdbc = database();
        Surrogates s = new Surrogates(jdbc, Clock.systemUTC());
        org.springframework.transaction.support.TransactionTemplate tx =
                new org.springframework.transaction.support.TransactionTemplate(
                        new org.springframework.jdbc.datasource.DataSourceTransactionManager(jdbc.getDataSource()));
        UUID contact = UUID.randomUUID();
        UUID[] drawn = new UUID[1];
        tx.executeWithoutResult(st -> {
            drawn[0] = s.surrogate("crm", contact);
            st.setRollbackOnly();
        });
        // the pseudonym the table never kept must not come back from memory either: the next one is drawn and kept
        UUID kept = tx.execute(st -> s.surrogate("crm", contact));
        assertThat(kept).isNotEqualTo(drawn[0]);
        assertThat(jdbc.queryForObject("SELECT surrogate FROM stream_surrogate WHERE destination = 'crm'"
                + " AND contact_id = ?", UUID.class, contact)).isEqualTo(kept);
        assertThat(s.surrogate("crm", contact)).isEqualTo(kept);
    }

    @Test
    void theSameContactOnAnotherHubGetsAnotherSurrogate() {
        // derived from the contact (a hash of its id or MRN), two stores would agree; drawn at random, they do not
        UUID contact = UUID.randomUUID();
        UUID one = new Surrogates(database(), Clock.systemUTC()).surrogate("crm", contact);
        UUID two = new Surrogates(database(), Clock.systemUTC()).surrogate("crm", contact);
        assertThat(one).isNotEqualTo(two);
        assertThat(one.version()).isEqualTo(4);
    }
}
