package io.caravan.segment;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.flywaydb.core.Flyway;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * One node's refresh of its attribute index from the rows other nodes wrote, on the hub's own schema (H2 with every
 * migration). The rows here are plain JSON (the opener is the test's): what is checked is which rows are read, not
 * the sealing.
 */
class IndexRefreshTest {

    static final ObjectMapper JSON = new ObjectMapper();

    JdbcTemplate jdbc;
    final AttributeIndex index = new AttributeIndex();
    final AtomicInteger opened = new AtomicInteger();
    IndexRefresh refresh;

    @BeforeEach
    void schema() {
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL("jdbc:h2:mem:refresh-" + UUID.randomUUID() + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DB_CLOSE_DELAY=-1");
        Flyway.configure().dataSource(ds).locations("classpath:db/migration").load().migrate();
        jdbc = new JdbcTemplate(ds);
        refresh = new IndexRefresh(jdbc, index, (id, key, payload) -> {
            opened.incrementAndGet();
            try {
                return JSON.readValue(payload, IndexedAttributes.class);
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
        }, Duration.ofMinutes(1));
        refresh.loaded(0);
    }

    @Test
    void aRowAnotherNodeWroteIsPutAndAChangeOfItReplacesIt() {
        UUID id = UUID.randomUUID();
        write(id, "IL", next());
        refresh.refresh();
        assertThat(states()).containsExactly("IL");

        write(id, "MO", next());
        refresh.refresh();
        assertThat(states()).containsExactly("MO");
        assertThat(index.size()).isEqualTo(1);
    }

    @Test
    void aLowerNumberCommittedAfterAHigherOneWasReadIsStillPut() {
        long early = next();
        long late = next();
        UUID first = UUID.randomUUID();
        UUID second = UUID.randomUUID();
        // the transaction that drew the higher number commits first and is read
        write(second, "MO", late);
        refresh.refresh();
        assertThat(index.contains(second)).isTrue();
        // then the one that drew its number earlier commits
        write(first, "IL", early);
        refresh.refresh();
        assertThat(index.contains(first)).as("the row committed out of order").isTrue();
    }

    @Test
    void rowsReadAlreadyAndThisNodesOwnRowsAreNotOpenedAgain() {
        UUID theirs = UUID.randomUUID();
        write(theirs, "IL", next());
        refresh.refresh();
        assertThat(opened).hasValue(1);

        // this node wrote a row: in its memory with its number at once
        UUID mine = UUID.randomUUID();
        long n = next();
        index.put(mine, attributes("WI"), n);
        write(mine, "WI", n);
        for (int i = 0; i < 3; i++) {
            refresh.refresh();
        }
        assertThat(opened).as("rows opened in all").hasValue(1);
        assertThat(index.size()).isEqualTo(2);
    }

    @Test
    void anOlderRowReadWhileThisNodeWroteANewerOneDoesNotReplaceIt() {
        UUID id = UUID.randomUUID();
        long older = next();
        long newer = next();
        write(id, "IL", older);
        // this node's newer change is in memory before its transaction commits
        index.put(id, attributes("MO"), newer);
        refresh.refresh();
        assertThat(states()).containsExactly("MO");
    }

    @Test
    void aRowDeletedByAMergeOnAnotherNodeLeavesThisNodesMemory() {
        UUID kept = UUID.randomUUID();
        UUID merged = UUID.randomUUID();
        write(kept, "IL", next());
        write(merged, "IL", next());
        refresh.refresh();
        assertThat(index.size()).isEqualTo(2);

        jdbc.update("DELETE FROM segment_attribute WHERE contact_id = ?", merged);
        jdbc.update("INSERT INTO segment_attribute_gone (change_seq, contact_id, gone_at) VALUES (?, ?, ?)", next(),
                merged, Timestamp.from(Instant.now()));
        refresh.refresh();
        assertThat(index.contains(merged)).isFalse();
        assertThat(index.contains(kept)).isTrue();
        // read again inside the window: nothing comes back
        refresh.refresh();
        assertThat(index.contains(merged)).isFalse();
    }

    private long next() {
        return jdbc.queryForObject("SELECT nextval('segment_attribute_change')", Long.class);
    }

    private void write(UUID id, String state, long change) {
        byte[] payload;
        try {
            payload = JSON.writeValueAsBytes(attributes(state));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        if (jdbc.update("UPDATE segment_attribute SET payload = ?, change_seq = ? WHERE contact_id = ?", payload,
                change, id) == 0) {
            jdbc.update("INSERT INTO segment_attribute (contact_id, key_id, payload, updated_at, change_seq)"
                    + " VALUES (?, 'k', ?, ?, ?)", id, payload, Timestamp.from(Instant.now()), change);
        }
    }

    private static IndexedAttributes attributes(String state) {
        return new IndexedAttributes(null, null, null, state, null, List.of(), null, null, null);
    }

    /** The state of every held row, through an evaluation as a segment would read it. */
    private List<String> states() {
        List<String> out = new ArrayList<>();
        for (String s : List.of("IL", "MO", "WI")) {
            long n = index.evaluate(io.caravan.workflow.Conditions.compile("state == '" + s + "'"),
                    java.time.LocalDate.now(), SegmentFacts.Outside.NONE, 1, id -> {
                    });
            for (long i = 0; i < n; i++) {
                out.add(s);
            }
        }
        return out;
    }
}
