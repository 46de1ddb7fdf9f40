-- 0010: key holders. The vetting private key stops being one shared file: it is kept
-- wrapped for each coordinator's own key and a recovery holder, and can be rotated.
--
-- New tables only, so no existing row changes. The tables start empty: a deployment made
-- before holders still has its shared vetting key file, and `keys enrol --vetting-key`
-- registers that key here and enrols each coordinator from it (README: moving an
-- existing deployment to key holders).

-- Vetting key pairs by key id (public halves only): the current one every new envelope is
-- sealed to, the one a rotation is moving envelopes away from (retiring), and retired
-- ones, kept so `keys verify` can name a key no envelope may carry any more.
CREATE TABLE vetting_keys (
    key_id      BLOB PRIMARY KEY,
    public_key  BLOB NOT NULL UNIQUE,
    state       TEXT NOT NULL CHECK (state IN ('current', 'retiring', 'retired')),
    created_at  TEXT NOT NULL,
    retired_at  TEXT,
    CHECK ((state = 'retired') = (retired_at IS NOT NULL))
) STRICT;
-- At most one current and one retiring key.
CREATE UNIQUE INDEX vetting_keys_one_per_state ON vetting_keys (state)
    WHERE state != 'retired';

-- Key holders: each coordinator's personal key pair (private half in their own key file)
-- and the recovery holder (private half only as SLIP-39 shares). A coordinator holder
-- enrolled before they had a login has no account until their first unlock binds it.
CREATE TABLE key_holders (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('coordinator', 'recovery')),
    key_id      BLOB NOT NULL UNIQUE,
    public_key  BLOB NOT NULL UNIQUE,
    account_id  TEXT REFERENCES accounts (id),
    added_at    TEXT NOT NULL,
    added_by    TEXT NOT NULL,
    removed_at  TEXT,
    removed_by  TEXT,
    CHECK (kind = 'coordinator' OR account_id IS NULL),
    CHECK ((removed_at IS NULL) = (removed_by IS NULL))
) STRICT;
CREATE UNIQUE INDEX key_holders_one_per_account ON key_holders (account_id)
    WHERE account_id IS NOT NULL AND removed_at IS NULL;

-- The vetting private key sealed to each holder's public key (crypto/holder_wrap.py), one
-- wrap per vetting key the holder can open. Removing a holder deletes their wraps at once.
CREATE TABLE holder_wraps (
    holder_id       TEXT NOT NULL REFERENCES key_holders (id) ON DELETE CASCADE,
    vetting_key_id  BLOB NOT NULL REFERENCES vetting_keys (key_id),
    wrap            BLOB NOT NULL,
    PRIMARY KEY (holder_id, vetting_key_id)
) STRICT;

-- Rotations of the vetting key: started (a new key is current at once), finished once no
-- envelope carries the old key any more.
CREATE TABLE key_rotations (
    id          TEXT PRIMARY KEY,
    old_key_id  BLOB NOT NULL REFERENCES vetting_keys (key_id),
    new_key_id  BLOB NOT NULL REFERENCES vetting_keys (key_id),
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    rewrapped   INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE UNIQUE INDEX key_rotations_one_running ON key_rotations ((finished_at IS NULL))
    WHERE finished_at IS NULL;
