-- A failing event parks its contact for that subscriber, not just itself (issue 17): the contact's later events for
-- the subscriber wait in event_retry behind it (attempts 0, "held"), in position order, until it succeeds or an
-- operator skips it. So each row names its contact and event, and when it may be tried next (exponential backoff;
-- NULL = now). Rows from before keep working: their event is filled in from the log, and their contact too unless
-- the hub had already given up on them - those stay apart (contact NULL) so that upgrading does not suddenly hold
-- every later event of a contact whose old failure nobody was asked to act on.
ALTER TABLE event_retry ADD COLUMN contact_id UUID;
ALTER TABLE event_retry ADD COLUMN event_id UUID;
ALTER TABLE event_retry ADD COLUMN next_attempt_at TIMESTAMP WITH TIME ZONE;
ALTER TABLE event_retry ADD COLUMN since TIMESTAMP WITH TIME ZONE;
UPDATE event_retry SET
    contact_id = CASE WHEN parked THEN NULL ELSE (SELECT t.contact_id FROM trigger_event t
        WHERE t.log_partition = event_retry.log_partition AND t.position = event_retry.position) END,
    event_id = (SELECT t.id FROM trigger_event t WHERE t.log_partition = event_retry.log_partition
        AND t.position = event_retry.position),
    since = updated_at;
CREATE INDEX event_retry_contact ON event_retry (subscriber, contact_id, log_partition, position);
