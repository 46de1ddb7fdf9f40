-- 0017: member contact indexes move to the contact-index key, which the server holds only
-- sealed to the vetting key (app/vault/contact_index.py).
--
-- The old indexes were 20-bit truncations under the server's index.key: with that key
-- anyone could ask "is this number a member's?". Every one of them is dropped, and every
-- member is marked not indexed (contact_indexed_at NULL), with no possible duplicates
-- counted, until a coordinator's next unlock indexes them under the new key (made at that
-- unlock). Columns are added, never rebuilt, so every sealed value stays on its row.

ALTER TABLE members ADD COLUMN contact_indexed_at TEXT;
DELETE FROM member_contact_index;
UPDATE members SET duplicate_candidates = 0;
CREATE TABLE contact_index_keys (
    slot        INTEGER PRIMARY KEY CHECK (slot = 1),
    id          TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    key         BLOB NOT NULL
) STRICT;
