-- uglymugs: the whole database schema (SQLCipher).
--
-- Rules this schema keeps:
--  * Contact, identity, organisation details, narratives and offender identifiers live
--    only inside envelopes (BLOB columns named for their value group), sealed by
--    crypto/envelope.py and bound to (table, column, row id, envelope version).
--  * Blind indexes hold keyed hashes only; member contact indexes are keyed with the
--    contact-index key, which exists only sealed to the vetting key (contact_index_keys).
--  * No column holds an IP address, a user agent or free text typed by a user in clear.
--  * Row ids of sealed rows are random text made by the app, so an envelope can be bound
--    to its row before the row is written.
--  * Every column holding a code (a status, an area, a category) has a CHECK listing the
--    codes the app writes (area and category codes: app/common/choices.py).
--
-- A change here needs a step in migrations/ that brings an existing database to the same
-- schema, and the new version below (tests/migrations compare the two).

-- Members and applicants. Identity (work name, real name, organisation details) and
-- contact (email, mobile) are separate envelopes because they have different recipients
-- (DESIGN.md). Both are NULL once a member has left: secure_delete overwrites them.
CREATE TABLE members (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('individual', 'project', 'site')),
    status        TEXT NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'info_requested', 'active', 'rejected',
                                    'left', 'revoked')),
    created_at    TEXT NOT NULL,
    identity      BLOB,
    contact       BLOB,
    -- How the member wants alerts: the channel, never the address.
    alert_channel TEXT NOT NULL DEFAULT 'none' CHECK (alert_channel IN ('email', 'sms', 'none')),
    -- "possible duplicate (N candidates)": other open members sharing a contact index.
    duplicate_candidates INTEGER NOT NULL DEFAULT 0,
    decided_at    TEXT,
    -- When the member confirmed their alert areas and channel (asked at first sign-in).
    settings_confirmed_at TEXT,
    -- An organisation's later changes to its identity (website typed again, a new key
    -- contact), sealed like the identity for coordinators to compare with it.
    identity_change BLOB,
    -- When the contact was indexed under the current contact-index key; NULL: not yet
    -- checked for duplicates (indexed at a coordinator's next unlock).
    contact_indexed_at TEXT,
    CHECK (status IN ('left', 'revoked') OR identity IS NOT NULL)
) STRICT;

-- Sign-in accounts. Members' usernames are generated (words and digits) and derived from
-- nothing the applicant typed. Organisation staff logins point at their organisation.
CREATE TABLE accounts (
    id              TEXT PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    role            TEXT NOT NULL
                    CHECK (role IN ('member', 'org_contact', 'org_staff', 'coordinator', 'auditor')),
    member_id       TEXT REFERENCES members (id),
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'active', 'disabled')),
    -- TOTP seed for staff (and members who turn it on). It identifies no one, so it is
    -- kept under the database key only; the server must check codes unattended.
    totp_secret     TEXT,
    totp_last_step  INTEGER,
    created_at      TEXT NOT NULL,
    -- The language chosen for pages and notices (app/common/languages.py); NULL: none yet.
    -- Its shape is checked, not the list, so a new catalogue needs no table rebuild.
    locale          TEXT CHECK (locale IS NULL OR (length(locale) BETWEEN 2 AND 12
                                                   AND locale NOT GLOB '*[^A-Za-z_]*')),
    CHECK ((role IN ('coordinator', 'auditor')) = (member_id IS NULL))
) STRICT;
CREATE INDEX accounts_by_member ON accounts (member_id);

-- Server-side sessions: only a hash of the cookie's token is stored, so a copy of the
-- database cannot be replayed as a session.
CREATE TABLE sessions (
    token_hash    BLOB PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_by_account ON sessions (account_id);

-- Browsers known to an account (OWASP's device cookie), for sign-in throttling only: the
-- browser keeps a random token, this table only its hash. A known browser's failures are
-- counted against its token alone, so strangers cannot slow its sign-in.
CREATE TABLE device_tokens (
    token_hash    BLOB PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT NOT NULL
) STRICT;
CREATE INDEX device_tokens_by_account ON device_tokens (account_id, last_used_at);

-- Who decided what about a membership, and when. Reasons are codes from a fixed list,
-- so no free text about a person lands here.
CREATE TABLE membership_decisions (
    id          INTEGER PRIMARY KEY,
    member_id   TEXT NOT NULL REFERENCES members (id),
    action      TEXT NOT NULL CHECK (action IN ('approve', 'reject', 'request_info', 'revoke',
                                                'leave', 'leave_recorded')),
    reason      TEXT,
    actor_id    TEXT REFERENCES accounts (id),
    at          TEXT NOT NULL
) STRICT;
CREATE INDEX membership_decisions_by_member ON membership_decisions (member_id);

-- Monitoring answers as bare counters: no member id, no time, so an answer can never be
-- traced back to the person who gave it. Only ever shown in aggregate.
CREATE TABLE monitoring_counts (
    question  TEXT NOT NULL,
    answer    TEXT NOT NULL,
    count     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (question, answer)
) STRICT;

-- Blind indexes over a member's normalised contact values, for duplicate detection
-- without plaintext, keyed with the contact-index key (never the server's index.key).
-- index_name says which (field, normaliser) made it.
CREATE TABLE member_contact_index (
    member_id   TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    index_name  TEXT NOT NULL,
    value       BLOB NOT NULL,
    PRIMARY KEY (member_id, index_name, value)
) STRICT;
CREATE INDEX member_contact_index_lookup ON member_contact_index (index_name, value);

-- The contact-index key: one row, an envelope sealed to the vetting key alone
-- (app/vault/contact_index.py). Made at the first unlock; made again at each rotation.
CREATE TABLE contact_index_keys (
    slot        INTEGER PRIMARY KEY CHECK (slot = 1),
    id          TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    key         BLOB NOT NULL
) STRICT;

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

-- The old audit key's signature of the checkpoint that hands over to a new key
-- (`keys rotate audit`), with that old key's public half: trust passes from key to key.
CREATE TABLE audit_cosignatures (
    seq         INTEGER NOT NULL REFERENCES audit_checkpoints (seq) ON DELETE CASCADE,
    key_id      BLOB NOT NULL,
    verify_key  BLOB NOT NULL,
    signature   BLOB NOT NULL,
    PRIMARY KEY (seq, key_id)
) STRICT;

-- Reports of harm. Narrative (with the place description) and the offender (description
-- and identifiers) are envelopes sealed to the vetting key. Dates, area, categories and
-- consents stay plain (under the database key) for queues and statistics. When a member
-- leaves, reporter columns are set to NULL: the report stays, no longer linked to them.
CREATE TABLE reports (
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
    offender            BLOB NOT NULL,
    -- A short random reference the reporter can quote, derived from nothing.
    reference           TEXT,
    -- The reporter withdrew it: kept for coordinators, marked as withdrawn.
    withdrawn_at        TEXT
) STRICT;
CREATE INDEX reports_by_reporter ON reports (reporter_account_id);
CREATE INDEX reports_by_created ON reports (created_at);
CREATE UNIQUE INDEX reports_by_reference ON reports (reference);

-- What a reporter added to a report later, sealed to the vetting key like the narrative.
CREATE TABLE report_additions (
    id          TEXT PRIMARY KEY,
    report_id   TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    body        BLOB NOT NULL
) STRICT;
CREATE INDEX report_additions_by_report ON report_additions (report_id, created_at);

CREATE TABLE report_categories (
    report_id  TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    category   TEXT NOT NULL
               CHECK (category IN ('assault', 'sexual_assault', 'robbery', 'threats',
                                   'stalking', 'non_payment', 'stealthing', 'abusive_contact',
                                   'other')),
    PRIMARY KEY (report_id, category)
) STRICT;

-- Full-length blind indexes of offender identifiers (DESIGN.md): exact matching of
-- reports that share an identifier, without unsealing either.
CREATE TABLE report_identifier_index (
    report_id  TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    index_name TEXT NOT NULL,
    value      BLOB NOT NULL,
    PRIMARY KEY (report_id, index_name, value)
) STRICT;
CREATE INDEX report_identifier_lookup ON report_identifier_index (index_name, value);

-- What coordinators did with a report, and when.
CREATE TABLE report_events (
    id         INTEGER PRIMARY KEY,
    report_id  TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    action     TEXT NOT NULL CHECK (action IN ('review', 'malicious', 'malicious_undone',
                                               'close', 'alert_draft')),
    actor_id   TEXT REFERENCES accounts (id),
    at         TEXT NOT NULL
) STRICT;

-- Alerts. Published alert text is readable by members, so it is stored under the database
-- key only (DESIGN.md). Every edit is a new row in alert_versions; alerts points at the
-- current one. Only identifiers a coordinator chose one by one are ever published.
CREATE TABLE alerts (
    id              TEXT PRIMARY KEY,
    report_id       TEXT REFERENCES reports (id) ON DELETE SET NULL,
    status          TEXT NOT NULL DEFAULT 'draft'
                    CHECK (status IN ('draft', 'published', 'withdrawn')),
    current_version INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    created_by      TEXT REFERENCES accounts (id),
    published_at    TEXT,
    withdrawn_at    TEXT
) STRICT;
-- The feed's order (newest first, then id): a page reads its rows and stops, no sort.
CREATE INDEX alerts_feed ON alerts (status, published_at DESC, id);

CREATE TABLE alert_versions (
    alert_id      TEXT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    version       INTEGER NOT NULL,
    title         TEXT NOT NULL,
    national      INTEGER NOT NULL CHECK (national IN (0, 1)),
    areas         TEXT NOT NULL,
    categories    TEXT NOT NULL,
    incident_date TEXT NOT NULL,
    description   TEXT NOT NULL,
    -- JSON list of {"kind", "value"}: the identifiers chosen for publication.
    identifiers   TEXT NOT NULL,
    edited_by     TEXT REFERENCES accounts (id),
    edited_at     TEXT NOT NULL,
    PRIMARY KEY (alert_id, version)
) STRICT;

-- The current version's areas, for the members' feed and for choosing who gets notices.
CREATE TABLE alert_areas (
    alert_id  TEXT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    area      TEXT NOT NULL
              CHECK (area IN ('ldn', 'se', 'sw', 'eoe', 'em', 'wm', 'yh', 'nw', 'ne', 'sco',
                              'wal', 'ni', 'ie')),
    PRIMARY KEY (alert_id, area)
) STRICT;

-- The areas a member wants alerts for (a setting, unrelated to monitoring answers).
CREATE TABLE member_alert_areas (
    member_id TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    area      TEXT NOT NULL
              CHECK (area IN ('ldn', 'se', 'sw', 'eoe', 'em', 'wm', 'yh', 'nw', 'ne', 'sco',
                              'wal', 'ni', 'ie')),
    PRIMARY KEY (member_id, area)
) STRICT;

-- Identifiers a published alert names, indexed exactly as report identifiers are.
CREATE TABLE alert_identifier_index (
    alert_id   TEXT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    index_name TEXT NOT NULL,
    value      BLOB NOT NULL,
    PRIMARY KEY (alert_id, index_name, value)
) STRICT;
CREATE INDEX alert_identifier_lookup ON alert_identifier_index (index_name, value);

-- How many checks members made each day: the only trace the number checker leaves.
CREATE TABLE check_counts (
    day    TEXT PRIMARY KEY,
    count  INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Notices waiting to go out. The worker alone can open contact envelopes (it holds the
-- delivery key); a row names the member by id and the channel, never an address. A secret
-- a notice must carry (a password-reset code) is sealed to the delivery key in payload.
-- dedupe_key makes enqueueing idempotent: one notice per (purpose, member).
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    dedupe_key      TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL
                    CHECK (kind IN ('alert', 'approval', 'reset', 'disclosure', 'message')),
    member_id       TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    alert_id        TEXT REFERENCES alerts (id) ON DELETE SET NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    payload         BLOB,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    sent_at         TEXT,
    -- A short reason such as "smtp 451"; never an address or a message body.
    last_error      TEXT
) STRICT;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

-- One outstanding password-reset code per account, stored only as a keyed hash.
CREATE TABLE password_resets (
    account_id  TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash   BLOB NOT NULL,
    expires_at  TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Requests from the police or another authority to contact a reporter (the scheme acting
-- as intermediary). The member answers yes or no in their account; nothing about them is
-- disclosed unless they say yes, and then only the fields listed here, through a
-- disclosure request that names this row. Who asked, their reference and any note are
-- sealed to the vetting key (details); the authority is a code from a fixed list.
CREATE TABLE contact_requests (
    id            TEXT PRIMARY KEY,
    member_id     TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    report_id     TEXT REFERENCES reports (id) ON DELETE SET NULL,
    authority     TEXT NOT NULL,
    reason        TEXT NOT NULL,
    -- JSON {column: [field, ...]} of members' sealed fields shared if the member says yes.
    fields        TEXT NOT NULL,
    details       BLOB NOT NULL,
    status        TEXT NOT NULL DEFAULT 'asked'
                  CHECK (status IN ('asked', 'accepted', 'declined', 'shared')),
    created_by    TEXT NOT NULL REFERENCES accounts (id),
    created_at    TEXT NOT NULL,
    answered_by   TEXT REFERENCES accounts (id),
    answered_at   TEXT
) STRICT;
CREATE INDEX contact_requests_by_member ON contact_requests (member_id);

-- Disclosure requests: four eyes (a second coordinator approves), disclosed once, and the
-- member told unless a recorded delay applies. Who asked, their reference and the
-- justification are sealed to the vetting key (details), as is a refusal note (decision):
-- they may name or describe people. Authority, legal basis and reason codes come from
-- fixed lists. The record ids concerned are in disclosure_request_records.
CREATE TABLE disclosure_requests (
    id                  TEXT PRIMARY KEY,
    authority           TEXT NOT NULL,
    legal_basis         TEXT NOT NULL
                        CHECK (legal_basis IN ('consent', 'child_protection',
                                               'preventing_crime', 'risk_to_life',
                                               'terrorism', 'court_order')),
    subject_table       TEXT NOT NULL CHECK (subject_table IN ('members', 'reports')),
    -- JSON {column: [field, ...]}: the sealed fields requested (app/sealing.SEALED_PLACES).
    fields              TEXT NOT NULL,
    details             BLOB NOT NULL,
    -- The member's own "yes", for a request on the legal basis of consent.
    contact_request_id  TEXT REFERENCES contact_requests (id),
    status              TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'approved', 'refused', 'disclosed')),
    requested_by        TEXT NOT NULL REFERENCES accounts (id),
    requested_at        TEXT NOT NULL,
    decided_by          TEXT REFERENCES accounts (id),
    decided_at          TEXT,
    refusal_reason      TEXT,
    decision            BLOB,
    disclosed_by        TEXT REFERENCES accounts (id),
    disclosed_at        TEXT,
    -- A delayed notice: why (a code) and the date it is reviewed; it goes out after it.
    notice_delay_reason TEXT,
    notice_review_on    TEXT,
    notified_at         TEXT,
    notice_outcome      TEXT CHECK (notice_outcome IN ('notified', 'no_member')),
    -- Four eyes, in the schema as well as the code.
    CHECK (status NOT IN ('approved', 'disclosed') OR
           (decided_by IS NOT NULL AND decided_by != requested_by)),
    CHECK (status != 'refused' OR (decided_by IS NOT NULL AND refusal_reason IS NOT NULL)),
    CHECK (status != 'disclosed' OR disclosed_by IS NOT NULL),
    CHECK ((legal_basis = 'consent') = (contact_request_id IS NOT NULL)),
    CHECK ((notice_delay_reason IS NULL) = (notice_review_on IS NULL)),
    CHECK (legal_basis != 'consent' OR notice_delay_reason IS NULL)
) STRICT;
CREATE INDEX disclosure_requests_by_status ON disclosure_requests (status);
-- A member's "yes" allows one disclosure: one live request per contact request.
CREATE UNIQUE INDEX disclosure_requests_one_per_consent ON disclosure_requests
    (contact_request_id) WHERE contact_request_id IS NOT NULL AND status != 'refused';

CREATE TABLE disclosure_request_records (
    request_id  TEXT NOT NULL REFERENCES disclosure_requests (id) ON DELETE CASCADE,
    row_id      TEXT NOT NULL,
    PRIMARY KEY (request_id, row_id)
) STRICT;

-- Support a reporter asked for in their report (a caseworker or ISVA): the coordinators'
-- follow-up queue, one row per report. A coordinator's note may name people, so it is
-- sealed to the vetting key; the status and times stay plain for the queue.
CREATE TABLE support_requests (
    id          TEXT PRIMARY KEY,
    report_id   TEXT NOT NULL UNIQUE REFERENCES reports (id) ON DELETE CASCADE,
    status      TEXT NOT NULL DEFAULT 'new'
                CHECK (status IN ('new', 'contacted', 'closed')),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  TEXT REFERENCES accounts (id),
    note        BLOB,
    answer      BLOB,
    answered_at TEXT
) STRICT;
CREATE INDEX support_requests_by_status ON support_requests (status, created_at);

-- Messages in a member's account: what was disclosed about them, a request to put them
-- in touch with the police, or a coordinator following up the support they asked for.
-- The text is written from the linked request's codes when the page is shown, so no free
-- text is stored here.
CREATE TABLE member_messages (
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
CREATE INDEX member_messages_by_member ON member_messages (member_id, created_at);

-- Coordinators' and auditors' own details, one row per staff login (none for members).
-- label is a display name the staff member or an operator chose ("Sam (Manchester)"), so
-- the audit log and staff lists say who is who. It is staff-chosen text about staff, never
-- a member's, and it need not be a real name, so it is kept under the database key only:
-- auditors must read it without the vetting key. last_sign_in_on is a UK day, no time.
CREATE TABLE staff_profiles (
    account_id            TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    label                 TEXT,
    password_must_change  INTEGER NOT NULL DEFAULT 0 CHECK (password_must_change IN (0, 1)),
    last_sign_in_on       TEXT
) STRICT;

-- Two-step recovery codes: ten single-use codes given once when two-step sign-in is turned
-- on, stored only as keyed hashes (the index key); a used code's row is deleted.
CREATE TABLE recovery_codes (
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash   BLOB NOT NULL,
    PRIMARY KEY (account_id, code_hash)
) STRICT;

-- What a coordinator did to a member's sign-in, shown to the member in their account so
-- that a change they did not ask for is noticed. Codes and times only.
CREATE TABLE account_notices (
    id          INTEGER PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL
                CHECK (kind IN ('two_step_reset', 'reset_code_sent')),
    created_at  TEXT NOT NULL
) STRICT;
CREATE INDEX account_notices_by_account ON account_notices (account_id, created_at);
-- Questions a coordinator asks an organisation's application ("ask for more information"),
-- and its answers. The question is kept under the database key only, as members' messages
-- are: the organisation must read it, and the form tells the coordinator to name no one.
-- The answer may name people, so it is sealed to the vetting key. The 30-day purge of an
-- unanswered application counts from the last question; purge_warned_at records when the
-- organisation was told it is coming.
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

-- The optional note given with an irreversible decision or its undo (migration 0015):
-- its text may name people, so it is sealed to the vetting key (body).
CREATE TABLE decision_notes (
    id          TEXT PRIMARY KEY,
    event       TEXT NOT NULL CHECK (length(event) BETWEEN 1 AND 64),
    record      TEXT NOT NULL CHECK (length(record) BETWEEN 1 AND 128),
    actor_id    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    body        BLOB NOT NULL
) STRICT;
CREATE INDEX decision_notes_by_record ON decision_notes (record);

PRAGMA user_version = 20;
