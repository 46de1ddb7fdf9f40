-- 0019: a reporter can answer the scheme's message about the support they asked for.
--
-- support_requests gains the answer, sealed to the vetting key (it may name people: a
-- caseworker, a service, someone the reporter fears), and when it was given, so the queue
-- can say "the reporter answered" without opening anything. Existing rows have no answer.

ALTER TABLE support_requests ADD COLUMN answer BLOB;
ALTER TABLE support_requests ADD COLUMN answered_at TEXT;
