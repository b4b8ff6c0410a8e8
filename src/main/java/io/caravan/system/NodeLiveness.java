package io.caravan.system;

import java.time.Instant;

/**
 * Which nodes of a cluster are alive, for work one node claimed and another must take over when that node dies (the
 * send gate's claim on a message). The cluster profile answers from the record its clustered job store keeps of who
 * checks in; without a cluster there is no bean, and a claim lasts until it runs out.
 */
public interface NodeLiveness {

    /** This node's id, the one its claims carry. */
    String self();

    /**
     * Whether {@code node}, seen holding a claim it took at {@code claimedAt}, has stopped: its last check-in is older
     * than the store's failure test allows, or it has no check-in record although the claim is older than a starting
     * node needs for its first one (the record of a dead node goes once another node recovered its work).
     */
    boolean stopped(String node, Instant claimedAt);

    /** The nodes with a check-in record now (this one included once it has checked in). */
    java.util.Set<String> nodes();
}
