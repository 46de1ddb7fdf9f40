-- 0007: questions to an organisation's application and its sealed answers, so "ask for
-- more information" can be read and answered (schema.sql says what each column holds).
-- A new table only: nothing stored before is touched.

CREATE TABLE application_questions (
    id              TEXT PRIMARY KEY,
    member_id       TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    reason          TEXT NOT NULL
                    CHECK (reason IN ('website', 'official_email', 'work_with_sex_workers')),
    question        TEXT NOT NULL,
    asked_by        TEXT REFERENCES accounts (id),
    asked_at        TEXT NOT NULL,
    answer          BLOB,
    answered_by     TEXT REFERENCES accounts (id),
    answered_at     TEXT,
    purge_warned_at TEXT,
    CHECK ((answer IS NULL) = (answered_at IS NULL))
) STRICT;
CREATE INDEX application_questions_by_member ON application_questions (member_id, asked_at);
