-- 0013: accounts remember the language their holder chose, so every page and every
-- notice (sent by the worker, with no browser to ask) can be in that language.
--
-- Rebuilt rather than ALTER TABLE ... ADD COLUMN, so the table's definition reads as
-- schema.sql writes it (ADD COLUMN would append the column after the table's CHECK). The
-- runner has turned foreign keys off, so dropping accounts touches none of the tables
-- that reference it; REFERENCES accounts (id) names the table, which exists again under
-- that name at commit, when the runner checks every foreign key. Existing accounts get
-- NULL: no choice made yet.

CREATE TABLE new_accounts (
    id              TEXT PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    role            TEXT NOT NULL
                    CHECK (role IN ('member', 'org_contact', 'org_staff', 'coordinator', 'auditor')),
    member_id       TEXT REFERENCES members (id),
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'active', 'disabled')),
    totp_secret     TEXT,
    totp_last_step  INTEGER,
    created_at      TEXT NOT NULL,
    locale          TEXT CHECK (locale IS NULL OR (length(locale) BETWEEN 2 AND 12
                                                   AND locale NOT GLOB '*[^A-Za-z_]*')),
    CHECK ((role IN ('coordinator', 'auditor')) = (member_id IS NULL))
) STRICT;
INSERT INTO new_accounts (id, username, password_hash, role, member_id, status, totp_secret,
                          totp_last_step, created_at)
    SELECT id, username, password_hash, role, member_id, status, totp_secret, totp_last_step,
           created_at
    FROM accounts;
DROP TABLE accounts;
ALTER TABLE new_accounts RENAME TO accounts;
CREATE INDEX accounts_by_member ON accounts (member_id);
