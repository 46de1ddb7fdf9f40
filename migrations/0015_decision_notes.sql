-- 0015: the optional note a coordinator gives with an irreversible decision (marking a
-- report malicious, revoking, recording a leave, withdrawing an alert, disabling a staff
-- login, disclosing) or with its undo. A note may name people, so its text is sealed to
-- the vetting key (body); the row says only which decision it belongs to, so that the
-- disclosure-log entry can name the note by id and never hold its text.

CREATE TABLE decision_notes (
    id          TEXT PRIMARY KEY,
    event       TEXT NOT NULL CHECK (length(event) BETWEEN 1 AND 64),
    record      TEXT NOT NULL CHECK (length(record) BETWEEN 1 AND 128),
    actor_id    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    body        BLOB NOT NULL
) STRICT;
CREATE INDEX decision_notes_by_record ON decision_notes (record);
