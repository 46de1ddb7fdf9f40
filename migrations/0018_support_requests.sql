-- 0018: a follow-up queue for the support reporters ask for (a caseworker or ISVA).
--
-- support_requests: one row per report whose reporter asked for support, with a status
-- (new, contacted, closed) and a coordinator's note sealed to the vetting key. Every
-- existing report that asked for support gets its row here, as new, dated when the report
-- was sent, so nobody who asked before this version is left out of the queue. Its id is
-- 128 random bits (hex here; the app's new_id is the same bits in base 64).
--
-- member_messages gains the kind 'support' and a support_request_id column: following up
-- goes to the member's account as disclosure messages do. Rebuilt rather than altered,
-- because its kind CHECK changes; the runner has turned foreign keys off and checks every
-- foreign key at commit.

CREATE TABLE support_requests (
    id          TEXT PRIMARY KEY,
    report_id   TEXT NOT NULL UNIQUE REFERENCES reports (id) ON DELETE CASCADE,
    status      TEXT NOT NULL DEFAULT 'new'
                CHECK (status IN ('new', 'contacted', 'closed')),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  TEXT REFERENCES accounts (id),
    note        BLOB
) STRICT;
CREATE INDEX support_requests_by_status ON support_requests (status, created_at);
INSERT INTO support_requests (id, report_id, created_at, updated_at)
    SELECT lower(hex(randomblob(16))), id, created_at, created_at
    FROM reports WHERE wants_support = 1;

CREATE TABLE new_member_messages (
    id                     TEXT PRIMARY KEY,
    member_id              TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    kind                   TEXT NOT NULL CHECK (kind IN ('disclosure', 'contact', 'support')),
    disclosure_request_id  TEXT REFERENCES disclosure_requests (id),
    contact_request_id     TEXT REFERENCES contact_requests (id) ON DELETE CASCADE,
    created_at             TEXT NOT NULL,
    read_at                TEXT,
    support_request_id     TEXT REFERENCES support_requests (id) ON DELETE CASCADE,
    UNIQUE (member_id, disclosure_request_id),
    UNIQUE (member_id, contact_request_id),
    UNIQUE (member_id, support_request_id),
    CHECK ((kind = 'disclosure') = (disclosure_request_id IS NOT NULL)),
    CHECK ((kind = 'contact') = (contact_request_id IS NOT NULL)),
    CHECK ((kind = 'support') = (support_request_id IS NOT NULL))
) STRICT;
INSERT INTO new_member_messages (id, member_id, kind, disclosure_request_id,
                                 contact_request_id, created_at, read_at)
    SELECT id, member_id, kind, disclosure_request_id, contact_request_id, created_at, read_at
    FROM member_messages;
DROP TABLE member_messages;
ALTER TABLE new_member_messages RENAME TO member_messages;
CREATE INDEX member_messages_by_member ON member_messages (member_id, created_at);
