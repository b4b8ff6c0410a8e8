package io.caravan.segment;

import io.caravan.contact.ContactWriter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Map;
import java.util.UUID;
import org.springframework.stereotype.Component;

/**
 * An A40 merge: the merged-away contacts leave the attribute index and their segments in the merge's transaction
 * (no {@code segment.exited}: the patient did not leave, the record did). The survivor's next event - the merge's
 * own - re-indexes the survivor with the events that moved to it. Taken out of memory at once: should the merge roll
 * back, the record is held again at the next start's backfill.
 */
@Component
class SegmentMerges implements ContactWriter.MergeFollower {

    private final AttributeIndex index;

    SegmentMerges(AttributeIndex index) {
        this.index = index;
    }

    @Override
    public void merged(Connection c, Map<UUID, UUID> mergedInto) throws SQLException {
        for (UUID gone : mergedInto.keySet()) {
            for (String sql : new String[] {"DELETE FROM segment_attribute WHERE contact_id = ?",
                "DELETE FROM segment_member WHERE contact_id = ?"}) {
                try (PreparedStatement ps = c.prepareStatement(sql)) {
                    ps.setObject(1, gone);
                    ps.executeUpdate();
                }
            }
            index.remove(gone);
        }
    }
}
