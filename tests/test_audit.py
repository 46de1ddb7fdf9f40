"""The auditor's area: the disclosure log verified, browsed, exported and checkpointed.

Log entries here are real: applications sent through /apply, a coordinator unlocking the
vetting key and opening applications and a report through the real pages. Tampering is
done the way an attacker with the database would: SQL straight into the tables.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import nacl.signing
import pytest

from app.audit import browse
from app.audit.checkpoints import LogNotVerified, make_checkpoint
from app.audit.verification import verify_log
from app.common import csv_export
from app.vault import db
from app.vault import log as disclosure_log
from app.web.state import state
from crypto import audit_chain, keystore
from tests import canary
from tests.chain import append_raw
from tests.flows import apply, coordinator_client, member_id_of, unlock, unseal
from tests.people import make_report, make_staff, signed_in_client
from tests.webtools import csrf_token, plain, post_form

# 1 unlock, 1 contact-index key made at that unlock, 1 duplicate check (the first
# application page indexes all three), 3 applications opened, 1 report opened.
ENTRIES = 7


def _run(app, *args: str):
    return app.test_cli_runner().invoke(args=["audit", *args])


def _auditor(app):
    return signed_in_client(app, make_staff(app, "auditor"))


def _make_real_log(app, conn, keys_dir: Path) -> dict[str, object]:
    """Real entries through the real pages; returns the ids involved."""
    member_ids = [member_id_of(conn, apply(app, work_name=f"Audit Worker {n}",
                                           email=f"audit.worker.{n}@example.org",
                                           mobile=f"07700 90034{n}"))
                  for n in range(3)]
    report_id = make_report(app)
    coordinator, person = coordinator_client(app)
    assert unlock(coordinator, keys_dir).status_code == 302
    for member_id in member_ids:
        assert unseal(coordinator, member_id).status_code == 200
    opened = post_form(coordinator, f"/coordinator/reports/{report_id}/unseal", {},
                       form_url=f"/coordinator/reports/{report_id}")
    assert opened.status_code == 200
    assert [e.seq for e in disclosure_log.entries(conn)] == list(range(1, ENTRIES + 1))
    return {"members": member_ids, "report": report_id, "coordinator": person}


@pytest.fixture
def real_log(app, conn, keys_dir):
    return _make_real_log(app, conn, keys_dir)


@pytest.fixture
def checkpointed(app, conn, real_log):
    signed = _run(app, "checkpoint")
    assert signed.exit_code == 0, signed.output
    assert f"up to entry {ENTRIES}" in signed.output
    return real_log


def _rehash_from(conn, seq: int) -> None:
    """What a careful attacker does after an edit: recompute every hash from `seq` on."""
    rows = conn.execute("SELECT seq, body FROM disclosure_log WHERE seq >= ? ORDER BY seq",
                        (seq,)).fetchall()
    prev = bytes(conn.execute("SELECT entry_hash FROM disclosure_log WHERE seq = ?",
                              (seq - 1,)).fetchone()[0]) if seq > 1 else audit_chain.GENESIS_HASH
    for number, body in rows:
        digest = audit_chain.entry_hash(number, prev, json.loads(body))
        conn.execute("UPDATE disclosure_log SET prev_hash = ?, entry_hash = ? WHERE seq = ?",
                     (prev, digest, number))
        prev = digest


def _edit_body(conn) -> None:
    conn.execute("UPDATE disclosure_log SET body = replace(body, 'vetting', 'report_review') "
                 "WHERE seq = 3")


def _delete(conn) -> None:
    conn.execute("DELETE FROM disclosure_log WHERE seq = 2")


def _insert_forged(conn) -> None:
    """A forged entry slipped in at 3 with garbage hashes; the rest moved up one."""
    conn.execute("UPDATE disclosure_log SET seq = seq + 100 WHERE seq >= 3")
    conn.execute("UPDATE disclosure_log SET seq = seq - 99 WHERE seq >= 103")
    conn.execute("INSERT INTO disclosure_log (seq, body, prev_hash, entry_hash) "
                 "VALUES (3, '{\"actor\":\"nobody\"}', ?, ?)", (bytes(32), bytes([7]) * 32))


def _insert_well_made(conn) -> None:
    """An entry inserted at 3 that hashes correctly onto entry 2: entry 4 no longer follows."""
    conn.execute("UPDATE disclosure_log SET seq = seq + 100 WHERE seq >= 3")
    conn.execute("UPDATE disclosure_log SET seq = seq - 99 WHERE seq >= 103")
    prev = bytes(conn.execute("SELECT entry_hash FROM disclosure_log WHERE seq = 2")
                 .fetchone()[0])
    body = {"actor": "nobody", "at": "2020-01-01T00:00:00+00:00"}
    conn.execute("INSERT INTO disclosure_log (seq, body, prev_hash, entry_hash) "
                 "VALUES (3, ?, ?, ?)", (audit_chain.canonical(body).decode(), prev,
                                        audit_chain.entry_hash(3, prev, body)))


def _swap(conn) -> None:
    conn.execute("UPDATE disclosure_log SET seq = 1000 WHERE seq = 2")
    conn.execute("UPDATE disclosure_log SET seq = 2 WHERE seq = 4")
    conn.execute("UPDATE disclosure_log SET seq = 4 WHERE seq = 1000")


def _truncate(conn) -> None:
    conn.execute("DELETE FROM disclosure_log WHERE seq >= 4")


def _rewrite_and_rehash(conn) -> None:
    _edit_body(conn)
    _rehash_from(conn, 3)


def _unreadable_body(conn) -> None:
    conn.execute("UPDATE disclosure_log SET body = 'not json at all' WHERE seq = 2")


def _duplicate_key(conn) -> None:
    """Same canonical content for Python's json, another actor for anything reading the
    first key: counts as damage."""
    conn.execute("UPDATE disclosure_log SET body = '{\"actor\":\"someone-else\",' || "
                 "substr(body, 2) WHERE seq = 2")


# (tampering, first bad entry named, words the reason uses)
TAMPERING = [
    pytest.param(_edit_body, 3, "altered", id="edit"),
    pytest.param(_delete, 2, "missing", id="delete"),
    pytest.param(_insert_forged, 3, "does not follow entry 2", id="insert-forged"),
    pytest.param(_insert_well_made, 4, "does not follow entry 3", id="insert-well-made"),
    pytest.param(_swap, 2, "does not follow entry 1", id="reorder"),
    pytest.param(_truncate, 4, "were removed", id="truncate-before-checkpoint"),
    pytest.param(_rewrite_and_rehash, ENTRIES, "rewritten", id="rewrite-and-rehash"),
    pytest.param(_unreadable_body, 2, "invalid body", id="unreadable-body"),
    pytest.param(_duplicate_key, 2, "invalid body", id="duplicate-key"),
]


def test_a_clean_log_verifies(app, checkpointed) -> None:
    result = _run(app, "verify")
    assert result.exit_code == 0, result.output
    assert f"VERIFIED: {ENTRIES} entries" in result.output
    assert f"Entries 1 to {ENTRIES} are covered by a signed checkpoint." in result.output


def test_a_log_without_checkpoints_verifies_and_says_what_that_cannot_catch(app,
                                                                            real_log) -> None:
    result = _run(app, "verify")
    assert result.exit_code == 0, result.output
    assert "No signed checkpoint yet." in result.output
    page = plain(_auditor(app).get("/audit/"))
    assert "Verified." in page and "No signed checkpoint covers the log yet" in page


@pytest.mark.parametrize(("tamper", "first_bad", "words"), TAMPERING)
def test_audit_verify_catches_tampering_and_names_the_first_bad_entry(
        app, conn, checkpointed, tamper, first_bad: int, words: str) -> None:
    tamper(conn)
    result = _run(app, "verify")
    assert result.exit_code == 1, result.output
    assert f"FAILED: first bad entry: {first_bad}: " in result.output
    assert words in result.output.split("first bad entry:")[1].splitlines()[0]
    page = plain(_auditor(app).get("/audit/"))
    assert "The log does not verify." in page
    assert f"First bad entry: {first_bad}." in page


def test_truncating_only_what_no_checkpoint_covers_goes_unnoticed_and_is_said(
        app, conn, checkpointed) -> None:
    # One more entry after the checkpoint, then removed: the documented blind spot.
    with db.transaction(conn):
        append_raw(conn, {"actor": "x", "event": "vetting_key_unlocked"})
    assert "1 entries after that are not yet covered" in _run(app, "verify").output
    conn.execute("DELETE FROM disclosure_log WHERE seq = ?", (ENTRIES + 1,))
    assert _run(app, "verify").exit_code == 0


def test_a_forged_checkpoint_signature_is_caught(app, conn, checkpointed) -> None:
    conn.execute("UPDATE audit_checkpoints SET signature = ?", (bytes(64),))
    result = _run(app, "verify")
    assert result.exit_code == 1
    assert "invalid signature" in result.output and "INVALID SIGNATURE" in result.output


def test_a_checkpoint_signed_with_another_key_is_caught(app, conn, checkpointed) -> None:
    impostor = nacl.signing.SigningKey.generate()
    head = disclosure_log.head(conn)
    assert head is not None
    forged = audit_chain.sign_checkpoint(impostor, head.seq - 1,
                                         disclosure_log.entries(conn)[-2].entry_hash,
                                         "2030-01-01T00:00:00+00:00")
    conn.execute("INSERT INTO audit_checkpoints VALUES (?, ?, ?, ?, ?)",
                 (forged.seq, forged.head_hash, forged.created_at, forged.key_id,
                  forged.signature))
    result = _run(app, "verify")
    assert result.exit_code == 1 and "signed with another key" in result.output


def test_a_kept_checkpoint_proves_the_log_even_when_the_servers_checkpoints_are_gone(
        app, conn, checkpointed, tmp_path: Path) -> None:
    auditor = _auditor(app)
    exported = auditor.get(f"/audit/checkpoints/{ENTRIES}.json")
    assert exported.status_code == 200
    assert exported.headers["Content-Disposition"].startswith("attachment;")
    kept = tmp_path / "kept.json"
    kept.write_bytes(exported.data)
    everything = tmp_path / "all.json"
    everything.write_bytes(auditor.get("/audit/checkpoints.json").data)
    assert _run(app, "verify", "--checkpoint", str(kept)).exit_code == 0
    assert _run(app, "verify", "--checkpoint", str(everything)).exit_code == 0

    # Rewrite history, rehash it all, and remove the server's own checkpoints.
    _edit_body(conn)
    _rehash_from(conn, 3)
    conn.execute("DELETE FROM audit_checkpoints")
    assert _run(app, "verify").exit_code == 0, "the server alone can no longer tell"
    result = _run(app, "verify", "--checkpoint", str(kept))
    assert result.exit_code == 1, result.output
    assert f"first bad entry: {ENTRIES}" in result.output and "rewritten" in result.output
    assert "missing from the server's checkpoint table" in result.output


def test_a_kept_checkpoint_catches_truncation_too(app, conn, checkpointed,
                                                  tmp_path: Path) -> None:
    kept = tmp_path / "kept.json"
    kept.write_bytes(_auditor(app).get(f"/audit/checkpoints/{ENTRIES}.json").data)
    conn.execute("DELETE FROM audit_checkpoints")
    conn.execute("DELETE FROM disclosure_log WHERE seq > 2")
    result = _run(app, "verify", "--checkpoint", str(kept))
    assert result.exit_code == 1 and "first bad entry: 3" in result.output


def test_a_kept_checkpoint_can_be_checked_on_the_page(app, conn, checkpointed) -> None:
    auditor = _auditor(app)
    kept = auditor.get(f"/audit/checkpoints/{ENTRIES}.json").data

    def check(data: bytes):
        return auditor.post("/audit/checkpoints/check", data={
            "csrf_token": csrf_token(auditor, "/audit/checkpoints"),
            "kept": (io.BytesIO(data), "kept.json")}, content_type="multipart/form-data")

    assert "Verified." in plain(check(kept))
    assert check(b"{not a checkpoint").status_code == 400
    _rewrite_and_rehash(conn)
    conn.execute("DELETE FROM audit_checkpoints")
    page = plain(check(kept))
    assert "The log does not verify." in page and f"First bad entry: {ENTRIES}." in page


def test_a_malformed_checkpoint_file_is_refused_by_the_cli(app, checkpointed,
                                                           tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}')
    result = _run(app, "verify", "--checkpoint", str(bad))
    assert result.exit_code == 1 and "not an exported checkpoint" in result.output


# make_checkpoint, the worker's entry point ----------------------------------------------


def _signing_key(keys_dir: Path) -> nacl.signing.SigningKey:
    return keystore.load_audit_signing_key(keys_dir)


def test_make_checkpoint_signs_the_head_and_the_server_key_verifies_it(
        app, conn, real_log, keys_dir, server_keys) -> None:
    when = state(app).clock()
    made = make_checkpoint(conn, _signing_key(keys_dir), when)
    assert made is not None and made.seq == ENTRIES
    assert made.head_hash == disclosure_log.head(conn).entry_hash
    assert made.created_at == when.isoformat(timespec="seconds")
    assert audit_chain.verify_checkpoint(server_keys.audit_verify_key, made)
    stored = conn.execute("SELECT seq, head_hash, signature FROM audit_checkpoints").fetchall()
    assert [(s, bytes(h), bytes(g)) for s, h, g in stored] == \
        [(made.seq, made.head_hash, made.signature)]
    assert make_checkpoint(conn, _signing_key(keys_dir), when) is None, "head already signed"
    with db.transaction(conn):
        append_raw(conn, {"actor": "x", "event": "vetting_key_unlocked"})
    again = make_checkpoint(conn, _signing_key(keys_dir), when)
    assert again is not None and again.seq == ENTRIES + 1
    assert verify_log(conn, server_keys.audit_verify_key).covered_to == ENTRIES + 1


def test_make_checkpoint_signs_nothing_for_an_empty_log(app, conn, keys_dir) -> None:
    assert make_checkpoint(conn, _signing_key(keys_dir), state(app).clock()) is None
    assert conn.execute("SELECT count(*) FROM audit_checkpoints").fetchone()[0] == 0
    result = _run(app, "checkpoint")
    assert result.exit_code == 0 and "Nothing to sign" in result.output


def test_make_checkpoint_refuses_to_sign_a_tampered_log(app, conn, checkpointed,
                                                       keys_dir) -> None:
    with db.transaction(conn):
        append_raw(conn, {"actor": "x", "event": "vetting_key_unlocked"})
    _rewrite_and_rehash(conn)  # rehashed through the new head too
    with pytest.raises(LogNotVerified) as refused:
        make_checkpoint(conn, _signing_key(keys_dir), state(app).clock())
    assert refused.value.verdict.first_bad_seq == ENTRIES
    assert conn.execute("SELECT max(seq) FROM audit_checkpoints").fetchone()[0] == ENTRIES
    result = _run(app, "checkpoint")
    assert result.exit_code == 1 and "No checkpoint was signed" in result.output


def test_the_web_process_never_loads_the_audit_signing_key(app, checkpointed,
                                                          monkeypatch) -> None:
    def refuse(*_args: object) -> None:
        raise AssertionError("the web process loaded the audit signing key")

    monkeypatch.setattr(keystore, "load_audit_signing_key", refuse)
    auditor = _auditor(app)
    for url in ("/audit/", "/audit/checkpoints", "/audit/log.csv", "/audit/checkpoints.json",
                f"/audit/checkpoints/{ENTRIES}.json", "/statistics/"):
        assert auditor.get(url).status_code == 200, url


# Browsing and filtering -----------------------------------------------------------------


def test_the_log_page_shows_who_what_and_why_never_a_value(app, checkpointed) -> None:
    auditor = _auditor(app)
    page = plain(auditor.get("/audit/"))
    coordinator = checkpointed["coordinator"]
    for member_id in checkpointed["members"]:
        assert f"members/{member_id}" in page
    assert f"reports/{checkpointed['report']}" in page
    assert coordinator.username in page and coordinator.account_id in page
    assert "identity.work_name" in page and "narrative.narrative" in page
    assert "Vetting key unlocked" in page and "Vetting an application" in page
    assert "Audit Worker" not in page, "the log names fields, never their values"


def test_the_log_filters_by_event_purpose_who_record_and_date(app, checkpointed) -> None:
    auditor = _auditor(app)

    def entries(**query: str) -> list[int]:
        response = auditor.get("/audit/", query_string=query)
        assert response.status_code == 200, query
        return [int(n) for n in re.findall(r'<tr id="entry-(\d+)"', response.get_data(True))]

    assert entries() == [7, 6, 5, 4, 3, 2, 1], "newest first"
    assert entries(event="vetting_key_unlocked") == [1]
    assert entries(event="unseal") == [7, 6, 5, 4, 3]
    assert entries(purpose="report_review") == [7]
    assert entries(purpose="vetting") == [6, 5, 4, 3]
    assert entries(legal_basis="none") == [7, 6, 5, 4, 3, 2, 1]
    assert entries(legal_basis="court_order") == []
    assert entries(who=checkpointed["coordinator"].username) == [7, 6, 5, 4, 3, 2, 1]
    assert entries(who="someone-else") == []
    assert entries(record=checkpointed["members"][1]) == [5, 3]
    assert entries(record=f"reports/{checkpointed['report']}") == [7]
    today = state(app).clock().date().isoformat()
    assert entries(date_from=today, date_to=today) == [7, 6, 5, 4, 3, 2, 1]
    assert entries(date_to="2000-01-01") == []
    refused = auditor.get("/audit/", query_string={"purpose": "gossip"})
    assert refused.status_code == 400


def test_the_log_pages_by_one_hundred_newest_first(app, conn, checkpointed) -> None:
    with db.transaction(conn):
        for _ in range(150):
            append_raw(conn, {"actor": "bulk", "event": "vetting_key_unlocked"})
    auditor = _auditor(app)
    first = auditor.get("/audit/").get_data(True)
    shown = [int(n) for n in re.findall(r'<tr id="entry-(\d+)"', first)]
    assert shown == list(range(150 + ENTRIES, 50 + ENTRIES, -1))
    assert "Page 1 of 2" in first
    older = re.search(r'href="([^"]+)" rel="next"', first)
    assert older
    second = auditor.get(older.group(1).replace("&amp;", "&")).get_data(True)
    assert [int(n) for n in re.findall(r'<tr id="entry-(\d+)"', second)] == \
        list(range(50 + ENTRIES, 0, -1))
    bulk_only = auditor.get("/audit/", query_string={"who": "bulk", "page": "2"})
    assert "Page 2 of 2" in bulk_only.get_data(True)
    link = re.search(r'href="([^"]+)" rel="prev"', bulk_only.get_data(True))
    assert link and "who=bulk" in link.group(1), "page links keep the filters"


# CSV export -----------------------------------------------------------------------------


def test_csv_export_is_a_no_store_attachment_with_every_entry(app, checkpointed, conn) -> None:
    response = _auditor(app).get("/audit/log.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "no-store"
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert tuple(table[0]) == browse.CSV_COLUMNS
    assert [int(row[0]) for row in table[1:]] == list(range(1, ENTRIES + 1))
    hashes = {e.seq: e.entry_hash.hex() for e in disclosure_log.entries(conn)}
    for row in table[1:]:
        record = dict(zip(browse.CSV_COLUMNS, row, strict=True))
        assert record["entry_hash"] == hashes[int(record["seq"])]
    made = dict(zip(browse.CSV_COLUMNS, table[2], strict=True))
    assert made["event"] == "contact_index_key_created"
    second = dict(zip(browse.CSV_COLUMNS, table[4], strict=True))
    assert second["event"] == "unseal" and second["purpose"] == "vetting"
    assert second["records"] == f"members/{checkpointed['members'][0]}"
    assert second["member_notified"] == "no"
    assert "identity.work_name" in second["fields"].split()
    first = dict(zip(browse.CSV_COLUMNS, table[1], strict=True))
    assert first["event"] == "vetting_key_unlocked"


def test_csv_export_honours_the_filters(app, checkpointed) -> None:
    response = _auditor(app).get("/audit/log.csv", query_string={"purpose": "report_review"})
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert [row[0] for row in rows[1:]] == [str(ENTRIES)]


def test_csv_export_neutralises_spreadsheet_formulas(app, conn) -> None:
    with db.transaction(conn):
        append_raw(conn, {"actor": "=HYPERLINK(\"http://x\")", "purpose": "+1",
                                     "approver": "@SUM(A1)", "legal_basis": "-2",
                                     "records": ["members/=cmd"]})
    text = _auditor(app).get("/audit/log.csv").get_data(as_text=True)
    row = dict(zip(browse.CSV_COLUMNS, list(csv.reader(io.StringIO(text)))[1], strict=True))
    assert row["actor"] == "'=HYPERLINK(\"http://x\")"
    assert row["purpose"] == "'+1" and row["approver"] == "'@SUM(A1)"
    assert row["legal_basis"] == "'-2"
    assert row["records"] == "members/=cmd", "only a cell's first character matters"
    assert csv_export.safe_cell("\tx") == "'\tx" and csv_export.safe_cell(7) == 7


@pytest.mark.parametrize("role", ["coordinator", "member"])
def test_only_auditors_reach_the_log_and_its_exports(app, checkpointed, role: str) -> None:
    from tests.people import make_member

    person = make_staff(app, role) if role == "coordinator" else make_member(app)
    client = signed_in_client(app, person)
    for url in ("/audit/", "/audit/log.csv", "/audit/checkpoints", "/audit/checkpoints.json",
                f"/audit/checkpoints/{ENTRIES}.json"):
        assert client.get(url).status_code == 403, url


def test_checkpoints_page_lists_and_exports_each_checkpoint(app, conn, checkpointed,
                                                           keys_dir) -> None:
    with db.transaction(conn):
        append_raw(conn, {"actor": "x", "event": "vetting_key_unlocked"})
    assert _run(app, "checkpoint").exit_code == 0
    auditor = _auditor(app)
    page = auditor.get("/audit/checkpoints").get_data(as_text=True)
    for seq in (ENTRIES, ENTRIES + 1):
        assert f"/audit/checkpoints/{seq}.json" in page
    every = json.loads(auditor.get("/audit/checkpoints.json").data)
    assert [c["seq"] for c in every] == [ENTRIES, ENTRIES + 1]
    one = audit_chain.Checkpoint.from_json(
        auditor.get(f"/audit/checkpoints/{ENTRIES + 1}.json").get_data(as_text=True))
    assert one.seq == ENTRIES + 1
    assert auditor.get("/audit/checkpoints/99.json").status_code == 404


# An auditor can reach no sealed field by any route --------------------------------------

CANARY_INDIVIDUAL = {"work_name": "Canaryqz Workname", "real_name": "Canaryqz Realname",
                     "email": "canaryqz.contact@example.org", "mobile": "07700 900587"}
CANARY_ORGANISATION = {"org_name": "Canaryqz Orgname", "key_contact": "Canaryqz Keycontact",
                       "org_email": "office@canaryqz-org.org",
                       "org_website": "https://www.canaryqz-org.org",
                       "org_description": "Canaryqz outreach description"}
CANARY_REPORT = {"narrative": "Canaryqz narrative of what happened",
                 "description": "Canaryqz offender description", "place": "Canaryqz place",
                 "identifiers": (("phone", "07700 900654"),
                                 ("email", "canaryqz.offender@example.net"))}
CANARIES = [
    *CANARY_INDIVIDUAL.values(), "+447700900587", "7700900587",
    *CANARY_ORGANISATION.values(), "canaryqz-org.org",
    CANARY_REPORT["narrative"], CANARY_REPORT["description"], CANARY_REPORT["place"],
    "07700 900654", "+447700900654", "7700900654", "canaryqz.offender@example.net",
    "Canaryqz",
]
_PLACEHOLDER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def _fill(rule: str, ids: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        converter, name = match.group(1), match.group(2)
        if name in ids:
            return ids[name]
        return "1" if converter == "int" else "x"

    return _PLACEHOLDER.sub(value, rule)


def _links(html: str) -> list[str]:
    found = []
    for href in re.findall(r'href="([^"]+)"', html):
        href = href.replace("&amp;", "&").split("#")[0]
        if href.startswith("/") and not href.startswith("//"):
            found.append(href)
    return found


def test_an_auditor_can_reach_no_sealed_field_by_any_route(app, conn, keys_dir) -> None:
    from app.membership import decisions as memberships
    from tests.webtools import text

    individual = member_id_of(conn, apply(app, **CANARY_INDIVIDUAL))
    organisation = member_id_of(conn, apply(app, "project", **CANARY_ORGANISATION))
    report_id = make_report(app, **CANARY_REPORT)
    coordinator, person = coordinator_client(app)
    assert unlock(coordinator, keys_dir).status_code == 302
    assert CANARY_INDIVIDUAL["work_name"] in text(unseal(coordinator, individual))
    assert CANARY_ORGANISATION["org_name"] in text(unseal(coordinator, organisation))
    opened = post_form(coordinator, f"/coordinator/reports/{report_id}/unseal", {},
                       form_url=f"/coordinator/reports/{report_id}")
    assert CANARY_REPORT["narrative"] in text(opened), "the canaries are real and sealed"
    memberships.approve(conn, individual, person.account_id, state(app).clock(), read=True)
    assert _run(app, "checkpoint").exit_code == 0
    last = disclosure_log.head(conn)
    assert last is not None

    auditor = _auditor(app)
    ids = {"member_id": individual, "report_id": report_id, "seq": str(last.seq),
           "filename": "style.css"}
    leaks: list[str] = []
    seen: set[str] = set()

    def fetch(url: str) -> str:
        seen.add(url)
        response = auditor.get(url)
        assert response.status_code < 500, (url, response.status_code)
        for hit in canary.find(response.data, CANARIES):
            leaks.append(f"{url}: {hit}")
        for name, value in response.headers.items():
            for hit in canary.find(value.encode(), CANARIES):
                leaks.append(f"{url} header {name}: {hit}")
        return response.get_data(as_text=True) if response.status_code == 200 else ""

    # Every GET route the app serves, placeholders filled with real ids (but Quick exit,
    # which ends the auditor's session: it is a GET so that it works as a plain link)...
    seen.add("/exit")
    for rule in app.url_map.iter_rules():
        if "GET" in (rule.methods or ()) and rule.endpoint != "auth.quick_exit":
            fetch(_fill(rule.rule, ids))
    # ...and every link reachable from the auditor's pages, CSV and JSON downloads included.
    queue = ["/audit/", "/statistics/", "/", "/account"]
    while queue and len(seen) < 400:
        url = queue.pop(0)
        for link in _links(fetch(url) if url not in seen else ""):
            if link not in seen and link not in queue:
                queue.append(link)
    assert leaks == []
    assert {"/audit/log.csv", "/audit/checkpoints.json", "/statistics/"} <= seen
    log_page = auditor.get("/audit/").get_data(as_text=True)
    assert f"members/{individual}" in log_page and f"reports/{report_id}" in log_page

    # Every route that opens or unlocks anything refuses an auditor, token or not.
    token = csrf_token(auditor, "/audit/checkpoints")
    opening = [rule for rule in app.url_map.iter_rules()
               if "POST" in (rule.methods or ())
               and re.search(r"unseal|unlock|disclos|open", f"{rule.endpoint} {rule.rule}")]
    assert len(opening) >= 3
    for rule in opening:
        url = _fill(rule.rule, ids)
        assert auditor.post(url, data={"csrf_token": token}).status_code == 403, url
        assert auditor.post(url).status_code == 403, url
    held = conn.execute("SELECT count(*) FROM disclosure_log").fetchone()[0]
    assert held == last.seq, "the auditor's requests wrote no log entry and opened nothing"


def test_every_event_the_app_logs_has_words_for_auditors() -> None:
    import re
    from pathlib import Path

    from app.audit.labels import EVENT_LABELS
    from app.worker.delivery import SUBJECTS

    source = "\n".join(p.read_text(encoding="utf-8")
                       for p in (Path(__file__).resolve().parent.parent / "app").rglob("*.py"))
    logged = set(re.findall(r'"event": "([a-z_]+)"', source))
    logged |= set(re.findall(r'_entry\(\s*request, "([a-z_]+)"', source))
    logged |= {f"deliver_{kind}" for kind in SUBJECTS}
    assert logged, "the scan found the events"
    assert logged <= set(EVENT_LABELS), sorted(logged - set(EVENT_LABELS))
