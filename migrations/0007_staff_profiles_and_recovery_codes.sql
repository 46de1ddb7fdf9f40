-- 0007: staff who come and go, and members who lose access (issue 10, part 2).
--
-- Three new tables and nothing else changed: staff_profiles (a staff login's label, whether
-- its password must be changed at the next sign-in, the day of its last sign-in),
-- recovery_codes (members' single-use two-step recovery codes, as keyed hashes) and
-- account_notices (what a coordinator did to a member's sign-in, for the member to see).
-- Existing staff get a profile with no label: their passwords are already in use, so they
-- are not made to change them.

CREATE TABLE staff_profiles (
    account_id            TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    label                 TEXT,
    password_must_change  INTEGER NOT NULL DEFAULT 0 CHECK (password_must_change IN (0, 1)),
    last_sign_in_on       TEXT
) STRICT;
INSERT INTO staff_profiles (account_id)
    SELECT id FROM accounts WHERE role IN ('coordinator', 'auditor');

CREATE TABLE recovery_codes (
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash   BLOB NOT NULL,
    PRIMARY KEY (account_id, code_hash)
) STRICT;

CREATE TABLE account_notices (
    id          INTEGER PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL
                CHECK (kind IN ('two_step_reset', 'reset_code_sent')),
    created_at  TEXT NOT NULL
) STRICT;
CREATE INDEX account_notices_by_account ON account_notices (account_id, created_at);
