-- 0006: area and category columns refuse values the app never writes, as status columns
-- already do, so a bug or a hand edit cannot store a code that statistics, the alert feed
-- and notices would silently miss.
--
-- SQLite cannot add a CHECK to a column, so each table is rebuilt (lang_altertable.html,
-- "other kinds of table schema changes"): create it anew under a temporary name with the
-- definition schema.sql now has, copy every row, drop the old table, rename the new one
-- and recreate its indexes. The runner has turned foreign keys off, so dropping reports
-- deletes nothing from the five tables that reference it; their REFERENCES reports (id)
-- name the table, which exists again under that name at commit, when the runner checks
-- every foreign key. A stored row that breaks a new CHECK fails the whole step.

CREATE TABLE new_reports (
    id                  TEXT PRIMARY KEY,
    reporter_account_id TEXT REFERENCES accounts (id),
    reporter_member_id  TEXT REFERENCES members (id),
    created_at          TEXT NOT NULL,
    incident_date       TEXT NOT NULL,
    incident_time       TEXT NOT NULL
                        CHECK (incident_time IN ('morning', 'afternoon', 'evening', 'night',
                                                 'unknown')),
    area                TEXT NOT NULL
                        CHECK (area IN ('ldn', 'se', 'sw', 'eoe', 'em', 'wm', 'yh', 'nw', 'ne',
                                        'sco', 'wal', 'ni', 'ie')),
    -- Sent more than 72 hours after the incident: coordinators see that at once.
    late                INTEGER NOT NULL CHECK (late IN (0, 1)),
    third_party         INTEGER NOT NULL CHECK (third_party IN (0, 1)),
    consent_alert       INTEGER NOT NULL CHECK (consent_alert IN (0, 1)),
    consent_police_anonymous INTEGER NOT NULL CHECK (consent_police_anonymous IN (0, 1)),
    consent_police_details   INTEGER NOT NULL CHECK (consent_police_details IN (0, 1)),
    wants_support       INTEGER NOT NULL CHECK (wants_support IN (0, 1)),
    status              TEXT NOT NULL DEFAULT 'received'
                        CHECK (status IN ('received', 'under_review', 'alert_published',
                                          'closed')),
    malicious           INTEGER NOT NULL DEFAULT 0 CHECK (malicious IN (0, 1)),
    narrative           BLOB NOT NULL,
    offender            BLOB NOT NULL
) STRICT;
INSERT INTO new_reports (id, reporter_account_id, reporter_member_id, created_at,
                         incident_date, incident_time, area, late, third_party,
                         consent_alert, consent_police_anonymous, consent_police_details,
                         wants_support, status, malicious, narrative, offender)
    SELECT id, reporter_account_id, reporter_member_id, created_at, incident_date,
           incident_time, area, late, third_party, consent_alert, consent_police_anonymous,
           consent_police_details, wants_support, status, malicious, narrative, offender
    FROM reports;
DROP TABLE reports;
ALTER TABLE new_reports RENAME TO reports;
CREATE INDEX reports_by_reporter ON reports (reporter_account_id);
CREATE INDEX reports_by_created ON reports (created_at);

CREATE TABLE new_report_categories (
    report_id  TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    category   TEXT NOT NULL
               CHECK (category IN ('assault', 'sexual_assault', 'robbery', 'threats',
                                   'stalking', 'non_payment', 'stealthing', 'abusive_contact',
                                   'other')),
    PRIMARY KEY (report_id, category)
) STRICT;
INSERT INTO new_report_categories (report_id, category)
    SELECT report_id, category FROM report_categories;
DROP TABLE report_categories;
ALTER TABLE new_report_categories RENAME TO report_categories;

CREATE TABLE new_alert_areas (
    alert_id  TEXT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    area      TEXT NOT NULL
              CHECK (area IN ('ldn', 'se', 'sw', 'eoe', 'em', 'wm', 'yh', 'nw', 'ne', 'sco',
                              'wal', 'ni', 'ie')),
    PRIMARY KEY (alert_id, area)
) STRICT;
INSERT INTO new_alert_areas (alert_id, area) SELECT alert_id, area FROM alert_areas;
DROP TABLE alert_areas;
ALTER TABLE new_alert_areas RENAME TO alert_areas;

CREATE TABLE new_member_alert_areas (
    member_id TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    area      TEXT NOT NULL
              CHECK (area IN ('ldn', 'se', 'sw', 'eoe', 'em', 'wm', 'yh', 'nw', 'ne', 'sco',
                              'wal', 'ni', 'ie')),
    PRIMARY KEY (member_id, area)
) STRICT;
INSERT INTO new_member_alert_areas (member_id, area)
    SELECT member_id, area FROM member_alert_areas;
DROP TABLE member_alert_areas;
ALTER TABLE new_member_alert_areas RENAME TO member_alert_areas;
