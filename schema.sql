-- uglymugs: the whole database schema (SQLCipher).
--
-- Rules this schema keeps:
--  * Contact, identity, organisation details, narratives and offender identifiers live
--    only inside envelopes (BLOB columns named for their value group), sealed by
--    crypto/envelope.py and bound to (table, column, row id, envelope version).
--  * Blind indexes hold keyed hashes only; member contact indexes are truncated.
--  * No column holds an IP address, a user agent or free text typed by a user in clear.
--  * Row ids of sealed rows are random text made by the app, so an envelope can be bound
--    to its row before the row is written.

-- Members and applicants. Identity (work name, real name) and contact (email, mobile)
-- are separate envelopes because they have different recipients (DESIGN.md).
CREATE TABLE members (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('individual', 'project', 'site')),
    status      TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'active', 'rejected', 'left', 'revoked')),
    created_at  TEXT NOT NULL,
    identity    BLOB NOT NULL,
    contact     BLOB
) STRICT;

-- Truncated blind indexes over a member's normalised contact values, for duplicate
-- detection without plaintext. index_name says which (field, normaliser) made it.
CREATE TABLE member_contact_index (
    member_id   TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    index_name  TEXT NOT NULL,
    value       BLOB NOT NULL,
    PRIMARY KEY (member_id, index_name, value)
) STRICT;
CREATE INDEX member_contact_index_lookup ON member_contact_index (index_name, value);

-- The disclosure log: a hash chain (crypto/audit_chain.py). body is canonical JSON that
-- names records by id and fields by name, never their values.
CREATE TABLE disclosure_log (
    seq         INTEGER PRIMARY KEY,
    body        TEXT NOT NULL,
    prev_hash   BLOB NOT NULL,
    entry_hash  BLOB NOT NULL UNIQUE
) STRICT;

-- Signed checkpoints of the disclosure log's head, made with the audit key.
CREATE TABLE audit_checkpoints (
    seq         INTEGER PRIMARY KEY,
    head_hash   BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    key_id      BLOB NOT NULL,
    signature   BLOB NOT NULL
) STRICT;

PRAGMA user_version = 1;
