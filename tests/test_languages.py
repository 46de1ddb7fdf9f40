"""Languages: complete catalogues, the choice of language, and notices in the member's own.

The catalogues are read as they are in translations/ and compiled afresh for the run
(conftest.translations_dir), so what is tested is what `make translations` ships.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import sys
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.plurals import get_plural
from flask import Flask

from app import create_app
from app.auth import accounts
from app.common.languages import CODES, SOURCE, Language
from app.delivery import SendRate
from app.vault import db, outbox
from app.web import language as page_language
from app.web.access import AUDITOR, COORDINATOR, MEMBER
from app.web.state import state
from app.worker.delivery import BODIES, SUBJECTS, Courier, NoticeLanguages, deliver_all_due
from tests.people import (
    make_member,
    make_published_alert,
    make_report,
    make_staff,
    sign_in,
    signed_in_client,
)
from tests.test_disclosures import make_contact_request, make_disclosure_request
from tests.test_routes_by_role import EXPECTED, _support_id
from tests.webtools import csrf_token, hidden_fields, post_form

REPO = Path(__file__).resolve().parent.parent
TRANSLATED = tuple(code for code in CODES if code != SOURCE)


def _status_script():
    spec = importlib.util.spec_from_file_location("i18n_status", REPO / "scripts" /
                                                  "i18n_status.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("i18n_status", module)
    spec.loader.exec_module(module)
    return module


STATUS = _status_script()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """Every string in the code today, extracted as the integrator's script extracts it."""
    return STATUS.extract(tmp_path_factory.mktemp("pot") / "messages.pot")


def _catalogue(code: str) -> Catalog:
    return STATUS.read_catalogue(REPO / "translations" / code / "LC_MESSAGES" / "messages.po")


@pytest.fixture
def lang_app(config, database_key, translations_dir) -> Flask:
    translated = replace(config, translations_path=translations_dir)
    db.init_database(translated.database_path, database_key, translated.schema_path)
    return create_app(translated)


@pytest.fixture
def lang_conn(lang_app: Flask, database_key: bytes):
    connection = db.connect(state(lang_app).config.database_path, database_key)
    yield connection
    connection.close()


def _cookie(app: Flask) -> str:
    return page_language.cookie_name(bool(app.config["SESSION_COOKIE_SECURE"]))


def _html_lang(response) -> tuple[str, str]:
    found = re.search(r'<html lang="([^"]+)" dir="([^"]+)">', response.get_data(as_text=True))
    assert found, "the page declares its language and direction"
    return found.group(1), found.group(2)


# The catalogues themselves.

def test_every_listed_language_has_a_catalogue_and_every_catalogue_is_listed() -> None:
    assert set(STATUS.catalogues()) == set(TRANSLATED)


@pytest.mark.parametrize("code", TRANSLATED)
def test_catalogue_translates_every_string_in_the_code_with_nothing_fuzzy(
        code: str, template: Catalog) -> None:
    problems = [p.line() for p in STATUS.problems(code, _catalogue(code), template)]
    assert problems == [], "run scripts/i18n_status.py --list " + code


@pytest.mark.parametrize("code", TRANSLATED)
def test_catalogue_passes_babels_checkers_and_keeps_every_placeholder(code: str) -> None:
    catalog = _catalogue(code)
    assert not catalog.fuzzy, "the header is not marked fuzzy"
    # Babel's own checkers: python-format placeholders and plural counts.
    assert [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()] == []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = STATUS.placeholders(ids[-1])
        assert all(STATUS.placeholders(form) == wanted for form in forms), ids[0]
        # Markup the templates mark safe must come through whole, or a page breaks.
        tags = sorted(re.findall(r"</?[a-z]+[^>]*>", ids[0]))
        assert all(sorted(re.findall(r"</?[a-z]+[^>]*>", form)) == tags for form in forms), \
            ids[0]


@pytest.mark.parametrize("code", TRANSLATED)
def test_catalogue_has_the_plural_forms_of_its_language(code: str) -> None:
    catalog = _catalogue(code)
    expected = get_plural(code)
    assert catalog.num_plurals == expected.num_plurals
    plurals = [m for m in catalog if m.id and isinstance(m.id, tuple)]
    assert plurals, "the source has plural messages"
    assert all(len(m.string) == expected.num_plurals and all(m.string) for m in plurals)


def test_the_source_text_of_a_notice_is_in_the_catalogues(template: Catalog) -> None:
    for text in {*SUBJECTS.values(), *BODIES.values()}:
        assert text in template, text


# Choosing the language of a page.

@pytest.mark.parametrize(("header", "expected"), [
    ("ro-RO,ro;q=0.9,en;q=0.5", ("ro", "ltr")),
    ("pl", ("pl", "ltr")),
    ("pt-PT,pt;q=0.8", ("pt-BR", "ltr")),
    ("zh-CN,zh;q=0.9", ("zh-Hans", "ltr")),
    ("zh-TW", ("en", "ltr")),
    ("de-DE,de;q=0.9", ("en", "ltr")),
    ("de;q=0.9,hu;q=0.8,en;q=0.1", ("hu", "ltr")),
    ("en;q=0.2,th;q=0.9", ("th", "ltr")),
    ("", ("en", "ltr")),
])
def test_a_first_visit_follows_the_browsers_accept_language(lang_app, header: str,
                                                             expected) -> None:
    response = lang_app.test_client().get("/", headers={"Accept-Language": header})
    assert response.status_code == 200
    assert _html_lang(response) == expected


def test_a_first_visit_is_written_in_that_language(lang_app) -> None:
    page = lang_app.test_client().get("/", headers={"Accept-Language": "ro"})
    html = page.get_data(as_text=True)
    assert "Ieșire rapidă" in html and "Quick exit" not in html


def test_the_chooser_is_on_every_page_and_needs_no_script(lang_app) -> None:
    for url in ("/", "/login", "/apply", "/no-such-page"):
        html = lang_app.test_client().get(url).get_data(as_text=True)
        form = re.search(r'<form class="language-chooser" method="post" action="/language">'
                         r"(.*?)</form>", html, re.S)
        assert form, url
        assert 'name="csrf_token"' in form.group(1) and 'type="submit"' in form.group(1)
        options = re.findall(r'<option value="([^"]+)" lang="([^"]+)"', form.group(1))
        assert [code for code, _tag in options] == list(CODES)


def test_a_choice_before_sign_in_is_kept_in_a_cookie_and_beats_accept_language(
        lang_app) -> None:
    client = lang_app.test_client()
    fields = hidden_fields(client, "/apply")
    assert fields["next"] == "/apply"
    chosen = client.post("/language", data={"csrf_token": fields["csrf_token"],
                                            "next": "/apply", "locale": "pl"})
    assert chosen.status_code == 303 and chosen.headers["Location"] == "/apply"
    cookie = chosen.headers["Set-Cookie"]
    assert cookie.startswith(f"{_cookie(lang_app)}=pl;")
    assert "HttpOnly" in cookie and "Max-Age=" in cookie
    later = client.get("/apply", headers={"Accept-Language": "ro"})
    assert _html_lang(later) == ("pl", "ltr")
    assert "Szybkie wyjście" in later.get_data(as_text=True)


def test_the_chooser_goes_back_to_the_page_with_its_query(lang_app) -> None:
    client = lang_app.test_client()
    assert hidden_fields(client, "/login?required=1")["next"] == "/login?required=1"
    chosen = client.post("/language", data={"csrf_token": csrf_token(client, "/"),
                                            "next": "/login?required=1", "locale": "es"})
    assert chosen.headers["Location"] == "/login?required=1"


@pytest.mark.parametrize("target", ["https://elsewhere.example/", "//elsewhere.example/x",
                                    "/\\elsewhere.example", "javascript:alert(1)", "",
                                    "/no-such-page", "/logout"])
def test_the_chooser_never_sends_anyone_off_site_or_to_a_page_get_cannot_show(
        lang_app, target: str) -> None:
    client = lang_app.test_client()
    chosen = client.post("/language", data={"csrf_token": csrf_token(client, "/"),
                                            "next": target, "locale": "bg"})
    assert chosen.status_code == 303 and chosen.headers["Location"] == "/"


@pytest.mark.parametrize("locale", ["de", "en_GB", "", "ro'; --"])
def test_the_chooser_refuses_a_language_it_does_not_offer_and_sets_nothing(
        lang_app, locale: str) -> None:
    client = lang_app.test_client()
    refused = client.post("/language", data={"csrf_token": csrf_token(client, "/"),
                                             "next": "/", "locale": locale})
    assert refused.status_code == 400
    assert "Set-Cookie" not in refused.headers or _cookie(lang_app) not in \
        refused.headers["Set-Cookie"]


def test_the_chooser_refuses_a_request_without_its_csrf_token(lang_app) -> None:
    refused = lang_app.test_client().post("/language", data={"locale": "ro", "next": "/"})
    assert refused.status_code == 400
    assert _cookie(lang_app) not in refused.headers.get("Set-Cookie", "")


def test_a_signed_in_choice_is_saved_on_the_account_and_follows_to_another_device(
        lang_app) -> None:
    person = make_member(lang_app)
    phone = signed_in_client(lang_app, person)
    chosen = post_form(phone, "/language", {"locale": "hu", "next": "/account"},
                       form_url="/account")
    assert chosen.status_code == 303 and chosen.headers["Location"] == "/account"
    conn = db.connect(state(lang_app).config.database_path,
                      state(lang_app).keys.database_key)
    try:
        assert accounts.by_id(conn, person.account_id).locale == "hu"
    finally:
        conn.close()
    laptop = lang_app.test_client()  # no cookie, a browser that asks for Romanian
    assert sign_in(lang_app, laptop, person).status_code == 302
    page = laptop.get("/account", headers={"Accept-Language": "ro"})
    assert _html_lang(page) == ("hu", "ltr")
    assert "Gyors kilépés" in page.get_data(as_text=True)


def test_an_account_without_a_choice_follows_the_device(lang_app) -> None:
    client = signed_in_client(lang_app, make_member(lang_app))
    assert _html_lang(client.get("/account", headers={"Accept-Language": "th"})) == \
        ("th", "ltr")


def test_an_application_keeps_the_language_it_was_made_in(lang_app) -> None:
    from tests.flows import INDIVIDUAL, USERNAME

    client = lang_app.test_client()
    client.set_cookie(_cookie(lang_app), "ro")
    sent = post_form(client, "/apply/individual", INDIVIDUAL)
    assert sent.status_code == 200
    username = USERNAME.search(sent.get_data(as_text=True)).group(1)
    conn = db.connect(state(lang_app).config.database_path,
                      state(lang_app).keys.database_key)
    try:
        assert accounts.by_username(conn, username).locale == "ro"
    finally:
        conn.close()


def test_the_direction_comes_from_the_locale_so_a_right_to_left_language_needs_no_code(
        lang_app, monkeypatch) -> None:
    assert Language("ar", "العربية").direction == "rtl"
    assert Language("ar", "العربية").tag == "ar"
    monkeypatch.setattr(page_language, "language", lambda _code: Language("ar", "العربية"))
    assert _html_lang(lang_app.test_client().get("/")) == ("ar", "rtl")


# Notices, written by the worker with no request.

class _Outbox:
    def __init__(self) -> None:
        self.sent: list = []

    def send(self, notice) -> None:
        self.sent.append(notice)


def _deliver(app: Flask, conn, delivery_key, languages: NoticeLanguages) -> list:
    channel = _Outbox()
    courier = Courier(key=delivery_key, channels={"email": channel, "sms": channel},
                      rates={"email": SendRate(1_000_000), "sms": SendRate(1_000_000)},
                      languages=languages)
    deliver_all_due(conn, courier, state(app).clock)
    return channel.sent


def _translated(code: str, text: str) -> str:
    message = _catalogue(code).get(text)
    assert message is not None and message.string and message.string != text
    return str(message.string)


@pytest.fixture
def delivery_key(keys_dir):
    from crypto import keystore
    from tests.conftest import DELIVERY_PASSPHRASE

    return keystore.load_delivery_private_key(keys_dir, DELIVERY_PASSPHRASE)


@pytest.mark.parametrize("code", ["ro", "zh_Hans"])
def test_a_members_notice_is_written_in_the_language_stored_on_their_account(
        lang_app, lang_conn, delivery_key, translations_dir, code: str) -> None:
    person = make_member(lang_app, alert_channel="email", email="lang.member@example.org")
    english = make_member(lang_app, alert_channel="email", email="en.member@example.org")
    accounts.set_locale(lang_conn, person.account_id, code)
    now = state(lang_app).clock()
    with db.transaction(lang_conn):
        for who in (person, english):
            assert outbox.enqueue_for_member(lang_conn, kind="approval", member_id=who.member_id,
                                             dedupe_key=f"approval:{who.member_id}", now=now)
    sent = {n.to: n for n in _deliver(lang_app, lang_conn, delivery_key,
                                      NoticeLanguages(translations_dir))}
    assert sent["lang.member@example.org"].subject == _translated(code, SUBJECTS["approval"])
    assert sent["lang.member@example.org"].body == _translated(code, BODIES["approval"])
    assert sent["en.member@example.org"].subject == SUBJECTS["approval"]
    assert sent["en.member@example.org"].body == BODIES["approval"]


def test_a_reset_code_notice_keeps_its_code_in_the_members_language(
        lang_app, lang_conn, delivery_key, translations_dir) -> None:
    person = make_member(lang_app, alert_channel="email", email="reset.lang@example.org")
    accounts.set_locale(lang_conn, person.account_id, "pl")
    assert post_form(lang_app.test_client(), "/reset",
                     {"username": person.username}).status_code == 200
    state(lang_app).periodic["reset-requests"].run_once()  # the queued request, resolved
    [notice] = _deliver(lang_app, lang_conn, delivery_key, NoticeLanguages(translations_dir))
    assert notice.subject == _translated("pl", SUBJECTS["reset"])
    polish = _translated("pl", BODIES["reset"])
    before, after = polish.split("{code}")
    assert notice.body.startswith(before) and notice.body.endswith(after)
    assert re.fullmatch(r"\d{8}", notice.body[len(before):len(notice.body) - len(after)])


def test_without_catalogues_the_worker_still_sends_every_notice_in_english(
        lang_app, lang_conn, delivery_key, tmp_path) -> None:
    person = make_member(lang_app, alert_channel="email", email="no.mo@example.org")
    accounts.set_locale(lang_conn, person.account_id, "bg")
    with db.transaction(lang_conn):
        outbox.enqueue_for_member(lang_conn, kind="message", member_id=person.member_id,
                                  dedupe_key="message:1", now=state(lang_app).clock())
    [notice] = _deliver(lang_app, lang_conn, delivery_key, NoticeLanguages(tmp_path / "none"))
    assert (notice.subject, notice.body) == (SUBJECTS["message"], BODIES["message"])


# Every page, in every language: no English left where a translation exists.

class _Visible(HTMLParser):
    """The text a reader meets: text nodes and the attributes read out or shown."""

    SHOWN = ("title", "aria-label", "placeholder", "alt")

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    # <code> holds record data (ids, the log's field names), never words to translate.
    SKIPPED = ("script", "style", "code")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self._skip += 1
        self.parts.extend(value for name, value in attrs if name in self.SHOWN and value)
        if tag == "input" and dict(attrs).get("type") in ("submit", "button"):
            self.parts.append(dict(attrs).get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return " \n ".join(re.sub(r"\s+", " ", part).strip() for part in parser.parts)


_SPLIT = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w+\}|<[^>]+>")


class _EnglishFinder:
    """The source fragments that a catalogue translates, looked up by their first word.

    A fragment is a run of a msgid between placeholders and tags. One that the catalogue
    leaves as it is (a police force's name), or that its own translations contain (an
    acronym such as SMS), is not English leaking through, so it is not looked for.
    """

    def __init__(self, catalog: Catalog) -> None:
        translations = " \n ".join(
            " ".join(m.string) if isinstance(m.string, tuple) else m.string
            for m in catalog if m.id)
        translations = re.sub(r"[ \t]+", " ", translations)
        self.by_first_word: dict[str, set[str]] = {}
        for message in catalog:
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if set(ids) <= set(strings):
                continue
            for source in ids:
                for fragment in _SPLIT.split(re.sub(r"\s+", " ", source)):
                    fragment = fragment.strip(" ,.:;()·")
                    if sum(c.isalpha() for c in fragment) < 3:
                        continue
                    if fragment in translations and re.search(  # `in` first: it is fast
                            rf"(?<!\w){re.escape(fragment)}(?!\w)", translations):
                        continue
                    first = re.match(r"\w+", fragment)
                    if first:
                        self.by_first_word.setdefault(first.group(0), set()).add(fragment)

    def english_in(self, text: str) -> set[str]:
        """Fragments found in `text`, whose parts (text nodes) are joined by " \\n ".

        A lone lowercase word ("alert", "reports") counts only as a whole part, a label
        of its own: inside a part it is as likely to be data (a test alert's title, a
        record named reports/...) as a leak.
        """
        found = set()
        for word in re.finditer(r"\w+", text):
            start = word.start()
            if start and text[start - 1].isalnum():
                continue
            for fragment in self.by_first_word.get(word.group(0), ()):
                end = start + len(fragment)
                if not text.startswith(fragment, start) or (
                        end < len(text) and text[end].isalnum()):
                    continue
                if fragment.isalpha() and fragment.islower() and not (
                        text[max(start - 2, 0):start] in ("", "\n ")
                        and text[end:end + 2] in ("", " \n")):
                    continue
                found.add(fragment)
        return found


@functools.cache
def _finder(code: str) -> _EnglishFinder:
    return _EnglishFinder(_catalogue(code))


def _reachable_pages(role: str) -> list[str]:
    return sorted(url for endpoint, (method, url, roles) in EXPECTED.items()
                  if method == "GET" and role in roles and endpoint != "static"
                  and not url.endswith((".csv", ".json")))


@pytest.mark.parametrize("role", ["anonymous", MEMBER, COORDINATOR, AUDITOR])
def test_every_page_a_role_can_get_renders_in_every_language_without_english_left(
        lang_app, role: str) -> None:
    applicant = make_member(lang_app, status="pending", work_name="Someone Applying")
    report_id = make_report(lang_app, wants_support=True)
    support_id = _support_id(lang_app, report_id)
    alert_id = make_published_alert(lang_app)
    coordinator = make_staff(lang_app, "coordinator")
    request_id = make_disclosure_request(lang_app, coordinator, applicant.member_id)
    contact_id, message_id = make_contact_request(lang_app, coordinator, report_id)
    if role == "anonymous":
        client = lang_app.test_client()
    else:
        client = signed_in_client(lang_app, coordinator if role == COORDINATOR else
                                  make_staff(lang_app, role) if role == AUDITOR else
                                  make_member(lang_app))
    urls = [url.format(member_id=applicant.member_id, report_id=report_id, alert_id=alert_id,
                       request_id=request_id, contact_id=contact_id, message_id=message_id,
                       account_id=coordinator.account_id, question_id="none",
                       support_id=support_id)
            for url in _reachable_pages(role)]
    assert len(urls) >= 5
    leaks = []
    for code in TRANSLATED:
        finder = _finder(code)
        client.set_cookie(_cookie(lang_app), code)
        for url in urls:
            response = client.get(url)
            assert response.status_code < 500, (code, url)
            if response.mimetype != "text/html" or 300 <= response.status_code < 400:
                continue
            html = response.get_data(as_text=True)
            assert _html_lang(response)[0] == code.replace("_", "-"), (code, url)
            for fragment in sorted(finder.english_in(_visible_text(html))):
                leaks.append(f"{code} {url}: {fragment!r}")
    assert leaks == []
