-- 0016: a checkpoint may carry a second signature. `keys rotate audit` signs its handover
-- checkpoint with the new audit key (in audit_checkpoints) and with the old one (here,
-- with the old key's public half), so trust passes from each key to the next and every
-- checkpoint signed before a rotation keeps verifying (app/audit/verification.py).
CREATE TABLE audit_cosignatures (
    seq         INTEGER NOT NULL REFERENCES audit_checkpoints (seq) ON DELETE CASCADE,
    key_id      BLOB NOT NULL,
    verify_key  BLOB NOT NULL,
    signature   BLOB NOT NULL,
    PRIMARY KEY (seq, key_id)
) STRICT;
