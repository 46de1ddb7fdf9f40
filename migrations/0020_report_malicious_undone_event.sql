-- 0020: a report's own history records a malicious mark being taken off, as it records
-- the mark.
--
-- report_events' CHECK lists what coordinators do to a report. Undoing a malicious mark
-- was in the disclosure log but had no row here, so the report's history showed a mark
-- that no longer stood. SQLite cannot change a CHECK in place: the table is rebuilt with
-- the same rows and ids, and the new action added to the list.

CREATE TABLE new_report_events (
    id         INTEGER PRIMARY KEY,
    report_id  TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    action     TEXT NOT NULL CHECK (action IN ('review', 'malicious', 'malicious_undone',
                                               'close', 'alert_draft')),
    actor_id   TEXT REFERENCES accounts (id),
    at         TEXT NOT NULL
) STRICT;
INSERT INTO new_report_events (id, report_id, action, actor_id, at)
    SELECT id, report_id, action, actor_id, at FROM report_events;
DROP TABLE report_events;
ALTER TABLE new_report_events RENAME TO report_events;
