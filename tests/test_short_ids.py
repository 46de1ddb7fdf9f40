"""Ids people can use: every field that takes a typed id accepts the short id a table
shows, says so when a short id names nothing or several records, and a record's page
offers the actions that concern it, already filled in."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask

from app.common import ids
from app.vault import db
from tests.flows import unlock
from tests.people import make_member, make_report, make_staff, signed_in_client
from tests.test_disclosures import _answer, _contact_form, _request_form, make_contact_request
from tests.webtools import plain, post_form

SHARED = "ShArEd"  # six id characters that two records' ids start with, for ambiguity


def _ids(*tails: str) -> Iterator[str]:
    return iter(SHARED + tail for tail in tails)


def _twin_reports(app: Flask, monkeypatch: pytest.MonkeyPatch, reporter=None) -> list[str]:
    """Two reports whose ids share SHARED and two more characters ("ShArEdAa…", "ShArEdAb…")."""
    chosen = _ids("Aa" + "x" * 14, "Ab" + "y" * 14)
    monkeypatch.setattr("app.reports.service.new_id", lambda: next(chosen))
    made = [make_report(app, reporter), make_report(app, reporter)]
    monkeypatch.undo()
    return made


def _twin_members(app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    chosen = _ids("Ma" + "x" * 14, "Mb" + "y" * 14)
    monkeypatch.setattr("app.membership.records.new_id", lambda: next(chosen))
    made = [make_member(app, email=f"twin{n}@example.org") for n in (1, 2)]
    monkeypatch.undo()
    return [str(m.member_id) for m in made]


def _value(page: str, name: str) -> str | None:
    """The value of the text input named `name`, or the checked radio's, in a page."""
    for tag in re.findall(r"<input[^>]*>", page):
        if f'name="{name}"' in tag and ('type="radio"' not in tag or " checked" in tag):
            found = re.search(r'value="([^"]*)"', tag)
            return found.group(1) if found else None
    return None


def _coordinator(app: Flask):
    return signed_in_client(app, make_staff(app, "coordinator"))


# The resolver, alone.

def test_resolver_takes_a_full_id_or_a_unique_prefix_of_six_or_more() -> None:
    known = ["AbCdEfGhIjKlMnOpQrStUv", "AbCdEfZZZZZZZZZZZZZZZZ", "Xy-_9876543210abcdefgh"]

    def starting(prefix: str, limit: int) -> list[str]:
        return [k for k in known if k.startswith(prefix)][:limit]

    assert ids.resolve_id(known[0], starting) == known[0]
    assert ids.resolve_id(" AbCdEfGh ", starting) == known[0]
    assert ids.resolve_id("Xy-_98", starting) == known[2]
    with pytest.raises(ids.AmbiguousId) as ambiguous:
        ids.resolve_id("AbCdEf", starting)
    assert "matches 2 records" in str(ambiguous.value.message)
    assert known[0] not in str(ambiguous.value.message)
    with pytest.raises(ids.UnknownId) as unknown:
        ids.resolve_id("QQQQQQQQ", starting)
    assert str(unknown.value.message) == "No record with id QQQQQQQQ."
    with pytest.raises(ids.UnknownId, match="unknown id"):
        ids.resolve_id("Xy-_9", starting)  # five characters: too short to name one record
    with pytest.raises(ids.UnknownId) as odd:
        ids.resolve_id("<b>Jane 07700 900123</b>", starting)
    assert "Jane" not in str(odd.value.message)


def test_prefix_query_is_exact_about_case_and_underscores(conn) -> None:
    with db.transaction(conn):
        for rid in ("Aa_bcdef", "aA_bcdef", "Aaxbcdef"):
            conn.execute("INSERT INTO alerts (id, status, created_at) "
                         "VALUES (?, 'draft', '2026-12-01T09:00:00+00:00')", (rid,))
    assert db.ids_starting(conn, "alerts", "Aa_", 5) == ["Aa_bcdef"]
    assert db.ids_starting(conn, "alerts", "Aa", 5) == ["Aa_bcdef", "Aaxbcdef"]
    assert db.ids_starting(conn, "alerts", "Aa%", 5) == []
    with pytest.raises(ValueError):
        db.ids_starting(conn, "accounts", "Aa", 5)


# The disclosure request form: record ids and the consent's request id.

def _short(full: str) -> str:
    return full[:ids.SHORT_ID_CHARS]


def test_disclosure_request_accepts_short_member_id_shown_on_screen(app, conn) -> None:
    member = make_member(app)
    client = _coordinator(app)
    listing = client.get("/coordinator/members").get_data(as_text=True)
    assert f">{_short(member.member_id)}</a>" in listing
    response = post_form(client, "/coordinator/disclosures/new",
                         _request_form(_short(member.member_id)))
    assert response.status_code == 302, plain(response)[:800]
    assert conn.execute("SELECT r.subject_table, x.row_id FROM disclosure_requests r "
                        "JOIN disclosure_request_records x ON x.request_id = r.id"
                        ).fetchall() == [("members", member.member_id)]


def test_disclosure_request_accepts_short_and_full_report_ids_together(
        app, conn, monkeypatch) -> None:
    first, second = _twin_reports(app, monkeypatch)
    client = _coordinator(app)
    response = post_form(client, "/coordinator/disclosures/new", _request_form(
        f"{first[:8]} {second}", subject_table="reports", fields=["narrative.narrative"]))
    assert response.status_code == 302, plain(response)[:800]
    assert sorted(r[0] for r in conn.execute("SELECT row_id FROM disclosure_request_records")
                  ) == sorted([first, second])


@pytest.mark.parametrize("table", ["members", "reports"])
def test_ambiguous_short_id_is_refused_with_message(app, conn, monkeypatch, table) -> None:
    twins = (_twin_members(app, monkeypatch) if table == "members"
             else _twin_reports(app, monkeypatch))
    client = _coordinator(app)
    fields = ["identity.work_name"] if table == "members" else ["narrative.narrative"]
    response = post_form(client, "/coordinator/disclosures/new", _request_form(
        SHARED, subject_table=table, fields=fields))
    page = plain(response)
    assert response.status_code == 400
    assert f"{SHARED} matches 2 records: type more of the id." in page
    assert not any(twin in page or twin[:8] in page for twin in twins)
    assert conn.execute("SELECT count(*) FROM disclosure_requests").fetchone()[0] == 0
    # Two more characters tell them apart.
    chosen = post_form(client, "/coordinator/disclosures/new", _request_form(
        twins[1][:8], subject_table=table, fields=fields))
    assert chosen.status_code == 302, plain(chosen)[:800]


def test_unknown_short_id_is_refused_naming_it(app, conn) -> None:
    make_member(app)
    client = _coordinator(app)
    response = post_form(client, "/coordinator/disclosures/new", _request_form("Zz9Zz9Zz"))
    assert response.status_code == 400
    assert "No record with id Zz9Zz9Zz." in plain(response)
    assert conn.execute("SELECT count(*) FROM disclosure_requests").fetchone()[0] == 0


def _accepted_contacts(app: Flask, monkeypatch, tails: tuple[str, ...]):
    reporter = make_member(app, work_name="Short Id Member", email="short@example.org")
    report_id = make_report(app, reporter)
    coordinator = make_staff(app, "coordinator")
    chosen = _ids(*tails)
    monkeypatch.setattr("app.disclosures.contact.new_id", lambda: next(chosen))
    made = [make_contact_request(app, coordinator, report_id) for _tail in tails]
    monkeypatch.undo()
    member_client = signed_in_client(app, reporter)
    for _contact_id, message_id in made:
        assert _answer(member_client, message_id, "yes").status_code == 302
    return reporter, [contact_id for contact_id, _message in made]


def test_consent_field_accepts_short_contact_request_id(app, conn, monkeypatch) -> None:
    reporter, (contact_id,) = _accepted_contacts(app, monkeypatch, ("Ca" + "x" * 14,))
    client = _coordinator(app)
    response = post_form(client, "/coordinator/disclosures/new", _request_form(
        reporter.member_id, legal_basis="consent", contact_request_id=contact_id[:8]))
    assert response.status_code == 302, plain(response)[:800]
    assert conn.execute("SELECT contact_request_id FROM disclosure_requests").fetchall() == [
        (contact_id,)]


def test_consent_field_refuses_ambiguous_and_unknown_request_ids(app, conn,
                                                                 monkeypatch) -> None:
    reporter, _made = _accepted_contacts(app, monkeypatch, ("Ca" + "x" * 14, "Cb" + "y" * 14))
    client = _coordinator(app)
    for typed, words in ((SHARED, f"{SHARED} matches 2 records"),
                         ("NoSuchReq", "No record with id NoSuchReq.")):
        response = post_form(client, "/coordinator/disclosures/new", _request_form(
            reporter.member_id, legal_basis="consent", contact_request_id=typed))
        assert response.status_code == 400 and words in plain(response)
    assert conn.execute("SELECT count(*) FROM disclosure_requests").fetchone()[0] == 0


# The intermediary request's report id.

def test_intermediary_request_accepts_short_report_id(app, conn) -> None:
    report_id = make_report(app)
    client = _coordinator(app)
    response = post_form(client, "/coordinator/disclosures/contact/new",
                         _contact_form(_short(report_id)))
    assert response.status_code == 302, plain(response)[:800]
    assert conn.execute("SELECT report_id FROM contact_requests").fetchall() == [(report_id,)]
    full = post_form(client, "/coordinator/disclosures/contact/new", _contact_form(report_id))
    assert full.status_code == 302


def test_intermediary_request_refuses_ambiguous_and_unknown_report_ids(
        app, conn, monkeypatch) -> None:
    twins = _twin_reports(app, monkeypatch)
    client = _coordinator(app)
    ambiguous = post_form(client, "/coordinator/disclosures/contact/new", _contact_form(SHARED))
    assert ambiguous.status_code == 400
    assert f"{SHARED} matches 2 records" in plain(ambiguous)
    assert not any(twin[:8] in plain(ambiguous) for twin in twins)
    unknown = post_form(client, "/coordinator/disclosures/contact/new",
                        _contact_form("NoSuchRep"))
    assert unknown.status_code == 400 and "No record with id NoSuchRep." in plain(unknown)
    assert conn.execute("SELECT count(*) FROM contact_requests").fetchone()[0] == 0


# The audit log's filter.

def _auditor(app: Flask):
    return signed_in_client(app, make_staff(app, "auditor"))


def test_audit_filter_accepts_short_id_shown_on_screen(app, conn, keys_dir) -> None:
    report_id = make_report(app)
    other = make_report(app)
    client = _coordinator(app)
    unlock(client, keys_dir)
    for rid in (report_id, other):
        assert post_form(client, f"/coordinator/reports/{rid}/unseal", {},
                         form_url=f"/coordinator/reports/{rid}").status_code == 200
    auditor = _auditor(app)
    for typed in (report_id[:8], report_id, f"reports/{report_id[:8]}"):
        page = auditor.get("/audit/", query_string={"record": typed})
        assert page.status_code == 200, plain(page)[:800]
        body = page.get_data(as_text=True)
        assert f"reports/{report_id}" in body and f"reports/{other}" not in body
    csv_body = auditor.get("/audit/log.csv", query_string={"record": report_id[:8]})
    assert csv_body.status_code == 200 and report_id in csv_body.get_data(as_text=True)
    assert other not in csv_body.get_data(as_text=True)


def test_audit_filter_refuses_ambiguous_and_unknown_short_ids(app, conn, keys_dir,
                                                              monkeypatch) -> None:
    twins = _twin_reports(app, monkeypatch)
    client = _coordinator(app)
    unlock(client, keys_dir)
    for rid in twins:
        post_form(client, f"/coordinator/reports/{rid}/unseal", {},
                  form_url=f"/coordinator/reports/{rid}")
    auditor = _auditor(app)
    ambiguous = auditor.get("/audit/", query_string={"record": SHARED})
    assert ambiguous.status_code == 400
    assert f"{SHARED} matches 2 records: type more of the id." in plain(ambiguous)
    assert "ShArEdAa" not in ambiguous.get_data(as_text=True)
    unknown = auditor.get("/audit/", query_string={"record": "NoSuchRec"})
    assert unknown.status_code == 400 and "No record with id NoSuchRec." in plain(unknown)
    assert auditor.get("/audit/log.csv", query_string={"record": SHARED}).status_code == 400


# Actions from the record they concern.

def test_report_page_offers_intermediary_request_prefilled(app) -> None:
    report_id = make_report(app)
    client = _coordinator(app)
    page = client.get(f"/coordinator/reports/{report_id}").get_data(as_text=True)
    link = f"/coordinator/disclosures/contact/new?report_id={report_id}"
    assert f'href="{link}"' in page
    form = client.get(link).get_data(as_text=True)
    assert _value(form, "report_id") == report_id


def test_report_page_offers_disclosure_request_prefilled(app) -> None:
    report_id = make_report(app)
    client = _coordinator(app)
    page = client.get(f"/coordinator/reports/{report_id}").get_data(as_text=True)
    link = f"/coordinator/disclosures/new?subject_table=reports&amp;record={report_id}"
    assert f'href="{link}"' in page
    form = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert _value(form, "record_ids") == report_id
    assert _value(form, "subject_table") == "reports"


def test_member_page_offers_disclosure_request_prefilled(app) -> None:
    member = make_member(app)
    client = _coordinator(app)
    page = client.get(f"/coordinator/members/{member.member_id}").get_data(as_text=True)
    link = f"/coordinator/disclosures/new?subject_table=members&amp;record={member.member_id}"
    assert f'href="{link}"' in page
    form = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert _value(form, "record_ids") == member.member_id
    assert _value(form, "subject_table") == "members"


def test_prefill_ignores_a_record_that_does_not_exist(app) -> None:
    client = _coordinator(app)
    form = client.get("/coordinator/disclosures/new?subject_table=members&record=NoSuchOne"
                      ).get_data(as_text=True)
    assert _value(form, "record_ids") == ""
