"""Threat row: an offender posing as a member, with a member's login at most.

They may have got an account (an offender who applied with a working name and was let
in). What they must not get: any other member's identity, any report not yet published
(pending, closed, marked malicious), or an answer to "is this number or email a member's?",
whether from the checker, from applying again, or from pages that take someone's id.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests import canary
from tests.flows import INDIVIDUAL, USERNAME, unlock
from tests.people import Person, make_member, make_published_alert, make_report
from tests.test_checker import FOUND_ONE, NOT_FOUND, check
from tests.threats.planted import APPLICANT, MEMBER, REPORT, Planted, every_route, plant
from tests.webtools import csrf_token, post_form

CLOSED = {"narrative": "Canaryzx closed narrative: nothing came of it.",
          "identifiers": (("phone", "07700 900811"),)}
MALICIOUS = {"narrative": "Canaryzx malicious narrative: a false report.",
             "identifiers": (("email", "canaryzx.falsely.named@example.net"),)}
PUBLISHED = ("phone", "07700 900955")


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory, keys_dir: Path) -> Planted:
    world = plant(tmp_path_factory.mktemp("member-as-ally"), keys_dir)
    app, reporter = world.app, world.member
    closed = make_report(app, reporter, **CLOSED)
    malicious = make_report(app, reporter, **MALICIOUS)
    coordinator = world.signed_in(world.coordinators[0])
    assert unlock(coordinator, world.keys_dir).status_code == 302
    # "Malicious" needs the report read in this unlock, then a confirmed, listed reason.
    url = f"/coordinator/reports/{malicious}"
    assert post_form(coordinator, f"{url}/unseal", {}, form_url=url).status_code == 200
    for report_id, action, form in ((closed, "close", {}),
                                    (malicious, "malicious",
                                     {"reason": "invented", "confirm": "y"})):
        done = post_form(coordinator, f"/coordinator/reports/{report_id}/{action}", form,
                         form_url=f"/coordinator/reports/{report_id}")
        assert done.status_code == 302, action
    make_published_alert(app, identifiers=(PUBLISHED,))
    world.ids.update(closed_id=closed, malicious_id=malicious)
    world.records[f"reports/{closed}"] = [CLOSED["narrative"], "07700 900811",
                                          "+447700900811"]
    world.records[f"reports/{malicious}"] = [MALICIOUS["narrative"],
                                             MALICIOUS["identifiers"][0][1]]
    return world


def _offender(planted: Planted, name: str) -> tuple[Person, object]:
    person = make_member(planted.app, work_name=f"Offender {name}",
                         email=f"offender.{name}@example.org")
    return person, planted.signed_in(person)


def _others_urls(app: Flask, ids: dict[str, str]) -> Iterator[tuple[str, str, str]]:
    """(endpoint, method, url) for every rule, with every other member's ids in turn."""
    variants = [{**ids, "member_id": member, "report_id": report, "request_id": request}
                for member, report, request in (
                    (ids["member_id"], ids["report_id"], ids["request_id"]),
                    (ids["org_id"], ids["closed_id"], ids["refused_id"]),
                    (ids["member_member_id"], ids["malicious_id"], ids["request_id"]))]
    return every_route(app, variants)


def test_member_gets_no_other_members_identity_or_unpublished_report_by_any_route(
        planted: Planted) -> None:
    app = planted.app
    _person, client = _offender(planted, "sweep")
    token = csrf_token(client, "/account")
    leaks, let_in = [], []
    for endpoint, method, url in _others_urls(app, planted.ids):
        response = client.open(url, method=method,
                               data={"csrf_token": token} if method == "POST" else None)
        assert response.status_code < 500, (method, url)
        body = response.data + str(dict(response.headers)).encode()
        leaks += [f"{method} {url}: {hit}" for hit in canary.find(body, planted.canaries)]
        # (A published alert is every member's to read: its id is no one's.)
        private = [v for k, v in planted.ids.items() if len(v) > 8 and k != "alert_id"]
        if any(v in url for v in private) and \
                response.status_code < 400 and endpoint != "static":
            let_in.append(f"{method} {url}: {response.status_code}")
    assert leaks == []
    assert let_in == [], "no route takes another member's, report's or message's id"


def test_member_reaches_only_their_own_reports_by_id(planted: Planted) -> None:
    person, client = _offender(planted, "reports")
    own = make_report(planted.app, person, narrative="My own report.")
    for path in ("add", "withdraw"):
        assert client.get(f"/reports/{own}/{path}").status_code == 200, path
        for other in ("report_id", "closed_id", "malicious_id"):
            url = f"/reports/{planted.ids[other]}/{path}"
            assert client.get(url).status_code == 404, url
            posted = client.post(url, data={"csrf_token": csrf_token(client, "/reports"),
                                            "text": "mine now", "confirm": "y"})
            assert posted.status_code == 404, url
    listing = client.get("/reports").data
    assert own.encode() in listing or b"My own report" in listing or b"1 report" in listing
    for other in ("report_id", "closed_id", "malicious_id"):
        assert planted.ids[other].encode() not in listing
    assert canary.find(listing, planted.canaries) == []


def _answer(response) -> tuple[int, str]:
    """A check's answer as the member sees it, this session's CSRF token taken out."""
    page = response.get_data(as_text=True)
    page = re.sub(r'name="csrf_token" type="hidden" value="[^"]*"|'
                  r'value="[^"]*" name="csrf_token"|'
                  r'(name="csrf_token"[^>]*value=")[^"]*', r"\1", page)
    return response.status_code, page


def test_checker_answers_from_published_alerts_only(planted: Planted) -> None:
    _person, client = _offender(planted, "checker")
    assert FOUND_ONE in check(client, *PUBLISHED).get_data(as_text=True)
    nothing = {kind: _answer(check(client, kind, value)) for kind, value in
               (("phone", "07700 900404"), ("email", "nobody.at.all@example.com"))}
    assert NOT_FOUND in nothing["phone"][1]
    # Pending, closed and malicious reports name these; no published alert does.
    unpublished = [*(i for i in REPORT["identifiers"] if i[0] in nothing),
                   *CLOSED["identifiers"], *MALICIOUS["identifiers"]]
    assert len(unpublished) == 4
    for kind, value in unpublished:
        assert _answer(check(client, kind, value)) == nothing[kind], value


def test_checker_cannot_tell_a_members_contact_from_a_random_one(planted: Planted) -> None:
    _person, client = _offender(planted, "probe")
    nothing = {kind: _answer(check(client, kind, value)) for kind, value in
               (("phone", "07700 900404"), ("email", "nobody.at.all@example.com"))}
    members = [("phone", APPLICANT["mobile"]), ("email", APPLICANT["email"]),
               ("email", MEMBER["email"]), ("email", "offender.probe@example.org")]
    for kind, value in members:
        assert _answer(check(client, kind, value)) == nothing[kind], value


def _apply_page(app: Flask, **changes: str) -> tuple[int, str]:
    response = post_form(app.test_client(), "/apply/individual", {**INDIVIDUAL, **changes})
    page = USERNAME.sub("USERNAME", response.get_data(as_text=True))
    return response.status_code, re.sub(r'value="[^"]{20,}"', 'value="TOKEN"', page)


def test_applying_with_a_members_contact_answers_as_a_fresh_one(planted: Planted) -> None:
    app = planted.app
    fresh = _apply_page(app, work_name="Fresh Applicant", email="fresh.one@example.org",
                        mobile="07700 900602")
    assert fresh[0] == 200 and "USERNAME" in fresh[1]
    for changes in ({"email": APPLICANT["email"], "mobile": APPLICANT["mobile"]},
                    {"email": MEMBER["email"], "mobile": "07700 900603"}):
        assert _apply_page(app, work_name="Fresh Applicant", **changes) == fresh, changes
