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
    private final boolean severalNodes;

    SegmentMerges(AttributeIndex index,
            @org.springframework.beans.factory.annotation.Value("${caravan.cluster.enabled:false}") boolean cluster,
            @org.springframework.beans.factory.annotation.Value("${caravan.event-log.kafka.bootstrap-servers:}")
            String kafka) {
        this.index = index;
        this.severalNodes = Segments.severalNodes(cluster, kafka);
    }

    @Override
    public void merged(Connection c, Map<UUID, UUID> mergedInto) throws SQLException {
        for (UUID gone : mergedInto.keySet()) {
            int[] rows = new int[2];
            String[] sqls = {"DELETE FROM segment_attribute WHERE contact_id = ?",
                "DELETE FROM segment_member WHERE contact_id = ?"};
            for (int i = 0; i < sqls.length; i++) {
                try (PreparedStatement ps = c.prepareStatement(sqls[i])) {
                    ps.setObject(1, gone);
                    rows[i] = ps.executeUpdate();
                }
            }
            if (rows[0] > 0 && severalNodes) {
                // the other nodes' memory learns of a deleted row only from here (IndexRefresh)
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO segment_attribute_gone"
                        + " (change_seq, contact_id, gone_at) VALUES (nextval('segment_attribute_change'), ?, ?)")) {
                    ps.setObject(1, gone);
                    ps.setTimestamp(2, new java.sql.Timestamp(System.currentTimeMillis()));
                    ps.executeUpdate();
                }
            }
            index.remove(gone);
        }
    }
}
