"""Value groups sealed into envelopes, bound to their place in the database.

A value group is a small JSON object of named text fields (for example a member's work
name and real name). Each group is one envelope (crypto/envelope.py), bound to
(table, column, row id, envelope version) so a ciphertext copied to another row or column
fails to open. Only the places listed here may hold envelopes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from crypto import envelope
from crypto.keys import PublicKey

ENVELOPE_VERSION = 1

# (table, column) -> the field names its value group may hold.
SEALED_PLACES: dict[tuple[str, str], frozenset[str]] = {
    ("members", "identity"): frozenset({"work_name", "real_name", "org_name",
                                        "org_website", "key_contact", "org_description"}),
    ("members", "contact"): frozenset({"email", "mobile", "org_email"}),
    # An organisation's key contact changed its details: the website typed again (the new
    # official email was checked against it) and a new key contact's name.
    ("members", "identity_change"): frozenset({"org_website", "key_contact"}),
    ("reports", "narrative"): frozenset({"narrative", "place"}),
    # identifiers: a JSON list of {"kind", "value"} as typed, kept for the coordinator.
    ("reports", "offender"): frozenset({"description", "identifiers"}),
    # What a reporter adds to a report later, sealed to the vetting key like the narrative.
    ("report_additions", "body"): frozenset({"text"}),
    # A secret a notice must carry (a reset code), sealed to the delivery key only.
    ("outbox", "payload"): frozenset({"code"}),
    # Disclosures (app/disclosures): who asked, their reference and why may name or
    # describe people ("re: the woman at 12 X Street"), so they are sealed to the vetting
    # key, as is a refusal note and the intermediary's note.
    ("disclosure_requests", "details"): frozenset({"requester", "reference",
                                                   "justification"}),
    ("disclosure_requests", "decision"): frozenset({"note"}),
    ("contact_requests", "details"): frozenset({"requester", "reference", "note"}),
    # An organisation's answer to a coordinator's question may name people.
    ("application_questions", "answer"): frozenset({"answer"}),
    # The optional note given with an irreversible decision or its undo (it may name people).
    ("decision_notes", "body"): frozenset({"note"}),
    # The contact-index key (hex), sealed to the vetting key alone (app/vault/contact_index).
    ("contact_index_keys", "key"): frozenset({"key"}),
    # A coordinator's note on following up support a reporter asked for: it may name the
    # reporter, a caseworker or a service.
    ("support_requests", "note"): frozenset({"note"}),
    # The reporter's answer to the scheme's message about that support (it may name people).
    ("support_requests", "answer"): frozenset({"answer"}),
}


class UnknownPlace(ValueError):
    pass


def check_place(table: str, column: str) -> frozenset[str]:
    try:
        return SEALED_PLACES[(table, column)]
    except KeyError:
        raise UnknownPlace(f"{table}.{column} is not a sealed place") from None


def associated_data(table: str, column: str, row_id: str) -> bytes:
    return envelope.bind(table, column, row_id, ENVELOPE_VERSION)


def seal_group(
    table: str,
    column: str,
    row_id: str,
    values: Mapping[str, str],
    recipients: Sequence[PublicKey],
) -> bytes:
    allowed = check_place(table, column)
    unexpected = set(values) - allowed
    if unexpected:
        raise UnknownPlace(f"{table}.{column} does not hold {sorted(unexpected)}")
    payload = json.dumps(dict(values), sort_keys=True, separators=(",", ":"),
                         ensure_ascii=False).encode("utf-8")
    return envelope.seal(payload, recipients, associated_data(table, column, row_id))

