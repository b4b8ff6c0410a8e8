package io.caravan.eventlog;

/**
 * One event-log subscriber as Hawtio shows it ({@code io.caravan:type=EventLog,subscriber=<name>}): read-only
 * attributes, the same figures as the Prometheus gauges. Counts only, no ids.
 */
public interface EventLogSubscriberMBean {

    /** Events logged that the subscriber has not read yet, over all partitions. */
    long getLag();

    /** Contacts whose events wait for the subscriber behind a failed one. */
    long getParkedContacts();
}
