package io.caravan.workflow;

import java.util.HashSet;
import java.util.Set;
import java.util.UUID;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/** Who has a journey of a workflow in a status: a segment's {@code inJourney('id')}, read once per evaluation. */
@Component
public class JourneyMembers {

    private final JdbcTemplate jdbc;

    public JourneyMembers(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    public Set<UUID> contacts(String workflow, JourneyStatus status) {
        return new HashSet<>(jdbc.queryForList("SELECT DISTINCT contact_id FROM journey WHERE workflow_id = ?"
                + " AND status = ?", UUID.class, workflow, status.value()));
    }
}
