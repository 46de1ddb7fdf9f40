"""0009: only active members' contacts keep a wrap for the worker's delivery key.

Before version 9 a contact was sealed for the delivery key at application time whenever
the applicant chose email or text alerts, so the worker's passphrase (which must live on
the server) opened the contacts of people never vetted. Approval now adds that wrap, with
the unlocked vetting key; this step removes it from every member who is not active.

Removing a wrap needs no key (crypto.envelope.without_recipients). Which wrap is the
delivery key's? Every contact envelope before this version was sealed with the vetting
key first and the delivery key second (membership records' `_seal_contact`), and no
release could rewrap contacts, so the first wrap is the vetting key's: it is kept, and
every other wrap goes. Reset codes that were sent, failed or cancelled are erased too:
nothing needs them after the notice is done.
"""

from __future__ import annotations

from app.vault.db import Connection
from crypto import envelope


def upgrade(conn: Connection) -> None:
    rows = conn.execute(
        "SELECT id, contact FROM members WHERE status != 'active' AND contact IS NOT NULL"
    ).fetchall()
    for row in rows:
        sealed = bytes(row["contact"])
        kept = envelope.recipients_of(sealed)[0]
        others = [kid for kid in envelope.recipients_of(sealed) if kid != kept]
        if others:
            conn.execute("UPDATE members SET contact = ? WHERE id = ?",
                         (envelope.without_recipients(sealed, others), row["id"]))
    conn.execute("UPDATE outbox SET payload = NULL WHERE payload IS NOT NULL "
                 "AND status IN ('sent', 'failed', 'cancelled')")
