-- Browsers known to an account (OWASP's device cookie), for sign-in throttling: the
-- browser keeps a random token, this table only its hash (app/auth/devices.py).
CREATE TABLE device_tokens (
    token_hash    BLOB PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT NOT NULL
) STRICT;
CREATE INDEX device_tokens_by_account ON device_tokens (account_id, last_used_at);
