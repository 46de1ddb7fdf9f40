"""0011: members follow up, and confirm their alert settings.

* members.settings_confirmed_at: when the member confirmed their alert areas and channel.
  Existing members have not, so each is asked once at their next sign-in.
* members.identity_change: an organisation's later changes, sealed to the vetting key.
* reports.reference: a short random reference a reporter can quote (existing reports get
  one here), unique; reports.withdrawn_at: the reporter withdrew it.
* report_additions: what a reporter adds later, sealed to the vetting key.

Columns are added, never rebuilt, so every sealed value stays on its row untouched.
"""

from __future__ import annotations

import secrets

# The reference alphabet of app/common/ids.py, copied so this step never changes with it:
# Crockford's base 32, without the letters easily misread (I, L, O, U).
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _reference() -> str:
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def upgrade(conn) -> None:  # type: ignore[no-untyped-def]
    conn.execute("ALTER TABLE members ADD COLUMN settings_confirmed_at TEXT")
    conn.execute("ALTER TABLE members ADD COLUMN identity_change BLOB")
    conn.execute("ALTER TABLE reports ADD COLUMN reference TEXT")
    conn.execute("ALTER TABLE reports ADD COLUMN withdrawn_at TEXT")
    taken: set[str] = set()
    for row in conn.execute("SELECT id FROM reports ORDER BY id").fetchall():
        reference = _reference()
        while reference in taken:
            reference = _reference()
        taken.add(reference)
        conn.execute("UPDATE reports SET reference = ? WHERE id = ?", (reference, row["id"]))
    conn.execute("CREATE UNIQUE INDEX reports_by_reference ON reports (reference)")
    conn.execute("""CREATE TABLE report_additions (
    id          TEXT PRIMARY KEY,
    report_id   TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    body        BLOB NOT NULL
) STRICT""")
    conn.execute("CREATE INDEX report_additions_by_report ON report_additions "
                 "(report_id, created_at)")
