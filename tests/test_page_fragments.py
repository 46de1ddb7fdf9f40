"""Fragments rendered once per process must be the page the template would render.

The footer's language chooser is rendered once per language and then only has the
request's CSRF token and return path filled in (app/web/language.py). These tests render
the template afresh beside it, in the same request, and compare every byte.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from flask import Flask, render_template_string

from app import create_app
from app.vault import db
from app.web import language as page_language
from app.web.front_door import FrontDoor
from tests.webtools import post_form

FRESH = '{% include "_language.html" %}'
CACHED = "{{ language_chooser() }}"


@pytest.fixture
def lang_app(config, database_key, translations_dir) -> Flask:
    translated = replace(config, translations_path=translations_dir)
    db.init_database(translated.database_path, database_key, translated.schema_path)
    return create_app(translated)


def _both(app: Flask, path: str, code: str | None) -> tuple[str, str]:
    cookie = page_language.cookie_name(bool(app.config["SESSION_COOKIE_SECURE"]))
    headers = {"Cookie": f"{cookie}={code}"} if code else {}
    with app.test_request_context(path, headers=headers):
        app.preprocess_request()
        return render_template_string(CACHED), render_template_string(FRESH)


@pytest.mark.parametrize("code", [None, "es", "zh_Hans", "th"])
def test_cached_language_chooser_is_the_template_rendered_afresh(lang_app, code) -> None:
    for _ in range(2):  # the first render fills the cache, the second reads it
        cached, fresh = _both(lang_app, "/", code)
        assert cached == fresh


def test_cached_language_chooser_escapes_and_follows_each_pages_return_path(lang_app) -> None:
    _both(lang_app, "/", None)
    cached, fresh = _both(lang_app, '/login?next=<b>"x"&y=\'z\'', None)
    assert cached == fresh
    assert "<b>" not in cached and "&lt;b&gt;" in cached
    assert _both(lang_app, "/apply", None)[0].count('value="/apply"') == 1


def test_cached_language_chooser_carries_each_visitors_own_token(lang_app) -> None:
    first, _ = _both(lang_app, "/", None)
    second, _ = _both(lang_app, "/", None)
    tokens = [re.search(r'name="csrf_token" value="([^"]+)"', html) for html in (first, second)]
    assert all(tokens)
    assert tokens[0].group(1) != tokens[1].group(1)  # type: ignore[union-attr]


def test_language_chooser_on_a_page_still_changes_the_language(lang_app) -> None:
    client = lang_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    chooser = page[page.index('class="language-chooser"'):]
    token = re.search(r'name="csrf_token" value="([^"]+)"', chooser)
    assert token
    response = client.post("/language", data={"csrf_token": token.group(1), "locale": "es",
                                              "next": "/login"})
    assert response.status_code in (302, 303)
    assert 'lang="es"' in client.get("/login").get_data(as_text=True)


@pytest.mark.parametrize("code", [None, "es", "pl"])
def test_labels_resolved_once_per_language_render_as_the_lazy_labels(lang_app, code) -> None:
    from app.common import choices, identifiers
    from app.web.translations import labels_per_language

    page = "{% for k in keys %}{{ labels[k] }}|{% endfor %}"
    for mapping in (dict(choices.AREAS), dict(choices.REPORT_CATEGORIES), identifiers.KINDS):
        cookie = page_language.cookie_name(bool(lang_app.config["SESSION_COOKIE_SECURE"]))
        with lang_app.test_request_context("/", headers={"Cookie": f"{cookie}={code}"}
                                           if code else {}):
            lang_app.preprocess_request()
            cached = labels_per_language(f"test {id(mapping)}", lambda m=mapping: m)
            assert cached is labels_per_language(f"test {id(mapping)}", lambda: {})
            assert (render_template_string(page, keys=list(mapping), labels=cached)
                    == render_template_string(page, keys=list(mapping), labels=mapping))


def test_feed_labels_follow_each_readers_language(lang_app) -> None:
    from app.common import choices
    from app.web.translations import labels_per_language

    cookie = page_language.cookie_name(bool(lang_app.config["SESSION_COOKIE_SECURE"]))
    shown = {}
    for code in ("en", "es"):
        with lang_app.test_request_context("/", headers={"Cookie": f"{cookie}={code}"}):
            lang_app.preprocess_request()
            shown[code] = labels_per_language("areas", lambda: dict(choices.AREAS))["ldn"]
    assert shown["en"] == "London"
    assert shown["es"] != shown["en"]


TRANSLATED = ('{{ _("Updated on %(day)s", day=day) }}|{{ _("Quick exit") }}|'
              '{{ gettext("Page %(n)d", n=3) }}|{{ ngettext("%(num)d day", "%(num)d days", 2) }}|'
              '{% trans %}Quick exit{% endtrans %}|{{ _("100%% sure") }}|'
              '{{ _("Reporter\'s reference") }}|'
              '{{ _("Reporter\'s reference") ~ "<i>" }}')


@pytest.mark.parametrize("autoescape", [True, False])
@pytest.mark.parametrize("code", ["en", "es"])
def test_template_gettext_renders_as_jinjas_own_newstyle_gettext(lang_app, code,
                                                                 autoescape) -> None:
    from flask_babel import get_translations
    from jinja2 import Environment

    cookie = page_language.cookie_name(bool(lang_app.config["SESSION_COOKIE_SECURE"]))
    with lang_app.test_request_context("/", headers={"Cookie": f"{cookie}={code}"}):
        lang_app.preprocess_request()
        ours = lang_app.jinja_env.overlay(autoescape=autoescape).from_string(TRANSLATED)
        # Off as well as on: a plain-text template must not get HTML entities.
        reference = Environment(extensions=["jinja2.ext.i18n"],
                                autoescape=autoescape)  # noqa: S701
        reference.install_gettext_translations(  # type: ignore[attr-defined]
            get_translations(), newstyle=True)
        expected = reference.from_string(TRANSLATED)
        for day in ("2026-12-01", '<b>"it\'s"</b> & more'):
            assert ours.render(day=day) == expected.render(day=day)


# --- the first page, shared by signed-out visitors (app/web/shared_pages.py) ------------

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _fresh_first_page(app: Flask, cookie: str | None) -> tuple[str, str]:
    """The first page rendered afresh for one visitor, and that visitor's token."""
    from flask import render_template
    from flask_wtf.csrf import generate_csrf

    headers = {"Cookie": cookie} if cookie else {}
    with app.test_request_context("/", headers=headers):
        app.preprocess_request()
        return render_template("index.html"), generate_csrf()


@pytest.mark.parametrize("code", [None, "es", "th"])
def test_shared_first_page_is_the_page_rendered_afresh_with_each_visitors_token(
        lang_app, code) -> None:
    cookie = f"{page_language.cookie_name(False)}={code}" if code else None
    seen = set()
    for _ in range(3):  # the first fills the cache; the others are served from it
        client = lang_app.test_client()
        if cookie:
            client.set_cookie(*cookie.split("="))
        shared = client.get("/").get_data(as_text=True)
        token = TOKEN.search(shared)
        assert token
        seen.add(token.group(1))
        fresh, fresh_token = _fresh_first_page(lang_app, cookie)
        assert shared == fresh.replace(fresh_token, token.group(1))
        # The token is this visitor's: the chooser's form accepts it for their session.
        answer = client.post("/language", data={"csrf_token": token.group(1),
                                                "locale": "en", "next": "/"})
        assert answer.status_code in (302, 303)
    assert len(seen) == 3


def test_first_page_is_not_shared_with_a_waiting_message_or_a_query(lang_app) -> None:
    client = lang_app.test_client()
    client.get("/")
    with client.session_transaction() as session:
        session["_flashes"] = [("message", "A message for this visitor only")]
    assert "A message for this visitor only" in client.get("/").get_data(as_text=True)
    assert "A message for this visitor only" not in lang_app.test_client().get("/").get_data(
        as_text=True)
    page = lang_app.test_client().get("/?a=<b>").get_data(as_text=True)
    assert 'value="/?a=%3Cb%3E"' in page or 'value="/?a=&lt;b&gt;"' in page
    assert 'name="next" value="/"' in lang_app.test_client().get("/").get_data(as_text=True)


def test_signed_in_first_page_is_their_own(app) -> None:
    from tests.people import make_member, signed_in_client

    app.test_client().get("/")  # a signed-out page in the cache
    member = signed_in_client(app, make_member(app)).get("/").get_data(as_text=True)
    assert 'action="/logout"' in member and ">Sign in<" not in member
    stranger = app.test_client().get("/").get_data(as_text=True)
    assert 'action="/logout"' not in stranger and ">Sign in<" in stranger


# --- the front door: the first page for a stranger, before Flask (app/web/front_door.py) --

def _front_door(app: Flask) -> FrontDoor:
    door = app.wsgi_app
    while not isinstance(door, FrontDoor):  # past any middleware around it
        door = door.inner  # type: ignore[attr-defined]
    return door


def _counting_flask(app: Flask) -> list[str]:
    """Patch the front door's inner app to note each path Flask itself answers."""
    door = _front_door(app)
    inner = door.inner  # type: ignore[attr-defined]
    reached: list[str] = []

    def counted(environ, start_response):
        reached.append(environ["PATH_INFO"])
        return inner(environ, start_response)

    door.inner = counted  # type: ignore[attr-defined]
    return reached


def _cookie_attributes(header: str) -> tuple[str, list[str]]:
    name_value, *attributes = header.split("; ")
    return name_value.split("=", 1)[0], sorted(attributes)


@pytest.mark.parametrize("accept", [None, "ro,en;q=0.5", "zh-TW,th;q=0.8"])
def test_front_door_answers_a_stranger_exactly_as_flask_did_but_their_token(
        lang_app, accept) -> None:
    reached = _counting_flask(lang_app)
    headers = {"Accept-Language": accept} if accept else {}
    by_flask = lang_app.test_client().get("/", headers=headers)
    by_door = lang_app.test_client().get("/", headers=headers)
    assert reached == ["/"], "the second stranger is answered without Flask"
    assert by_door.status == by_flask.status
    plain = [(k, v) for k, v in by_flask.headers if k != "Set-Cookie"]
    assert sorted((k, v) for k, v in by_door.headers if k != "Set-Cookie") == sorted(plain)
    assert (_cookie_attributes(by_door.headers["Set-Cookie"])
            == _cookie_attributes(by_flask.headers["Set-Cookie"]))
    flask_token = TOKEN.search(by_flask.get_data(as_text=True)).group(1)
    door_token = TOKEN.search(by_door.get_data(as_text=True)).group(1)
    assert door_token != flask_token
    assert (by_door.get_data(as_text=True)
            == by_flask.get_data(as_text=True).replace(flask_token, door_token))


def test_front_door_token_changes_the_language_for_that_stranger_only(lang_app) -> None:
    lang_app.test_client().get("/")
    first, second = lang_app.test_client(), lang_app.test_client()
    token = TOKEN.search(first.get("/").get_data(as_text=True)).group(1)
    other = TOKEN.search(second.get("/").get_data(as_text=True)).group(1)
    chosen = first.post("/language", data={"csrf_token": token, "locale": "ro", "next": "/"})
    assert chosen.status_code == 303
    assert 'lang="ro"' in first.get("/").get_data(as_text=True)
    # Another stranger's token is no good for this session: it is a CSRF token, not a pass.
    refused = second.post("/language", data={"csrf_token": token, "locale": "ro"})
    assert refused.status_code == 400
    assert second.post("/language", data={"csrf_token": other, "locale": "en"}).status_code \
        == 303


@pytest.mark.parametrize("cookie, request_kwargs", [
    (("lang", "ro"), {}),
    (("unrelated", "1"), {}),
    (None, {"query_string": "a=1"}),
    (None, {"method": "HEAD"}),
])
def test_front_door_sends_anyone_with_a_cookie_or_a_query_to_flask(lang_app, cookie,
                                                                   request_kwargs) -> None:
    lang_app.test_client().get("/")
    reached = _counting_flask(lang_app)
    client = lang_app.test_client()
    if cookie:
        client.set_cookie(*cookie)
    client.open("/", **request_kwargs)
    assert reached == ["/"]


def test_front_door_answers_only_pages_flask_marked_shareable(lang_app) -> None:
    reached = _counting_flask(lang_app)
    for _ in range(2):
        lang_app.test_client().get("/apply")
        lang_app.test_client().get("/no-such-page")
    assert reached == ["/apply", "/no-such-page"] * 2


def test_front_door_keeps_no_strangers_token(lang_app) -> None:
    tokens = [TOKEN.search(lang_app.test_client().get("/").get_data(as_text=True)).group(1)
              for _ in range(3)]
    kept = "".join(piece for answer in _front_door(lang_app).answers.values()
                   for piece in answer.pieces)
    assert kept and not any(token in kept for token in tokens)


# --- the header and menu, shared by everyone of a role in a language ------------------

def _bar(page: str) -> str:
    return page[page.index('<a class="skip-link"'):page.index('<main id="main">')]


def _bar_rendered_afresh(app: Flask, client, path: str) -> str:
    """The header and menu as the template renders them for this client's next request."""
    from flask import render_template

    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    with app.test_request_context(path, headers={"Cookie": f"{cookie.key}={cookie.value}"}):
        app.preprocess_request()
        return render_template("_page_bar.html")


@pytest.mark.parametrize("role", ["member", "org_contact", "coordinator", "auditor"])
def test_shared_menu_is_the_menu_rendered_afresh_with_each_persons_token(app, role) -> None:
    from tests.people import make_member, make_staff, signed_in_client

    def person():
        if role in ("coordinator", "auditor"):
            return make_staff(app, role)
        return make_member(app, role=role, kind="project" if role == "org_contact"
                           else "individual")

    path = "/account"
    tokens = set()
    for _ in range(2):  # the first fills the cache, the second is served from it
        client = signed_in_client(app, person())
        page = client.get(path).get_data(as_text=True)
        token = TOKEN.search(page).group(1)
        tokens.add(token)
        fresh = _bar_rendered_afresh(app, client, path)
        fresh_token = TOKEN.search(fresh).group(1)
        assert _bar(page).strip() == fresh.replace(fresh_token, token).strip()
        assert client.post("/logout", data={"csrf_token": token}).status_code in (302, 303)
    assert len(tokens) == 2


def test_shared_menu_follows_the_role_not_the_first_visitor(app) -> None:
    from tests.people import make_member, make_staff, signed_in_client

    member = signed_in_client(app, make_member(app)).get("/account").get_data(as_text=True)
    coordinator = signed_in_client(app, make_staff(app, "coordinator")).get(
        "/account").get_data(as_text=True)
    stranger = app.test_client().get("/login").get_data(as_text=True)
    assert "Check a number" in _bar(member) and "Applications" not in _bar(member)
    assert "Applications" in _bar(coordinator) and "Check a number" not in _bar(coordinator)
    assert ">Sign out<" not in _bar(stranger) and ">Sign in<" in _bar(stranger)


def test_shared_chrome_names_only_its_own_templates(app) -> None:
    from app.web.shared_pages import shared_chrome

    with app.test_request_context("/"), pytest.raises(ValueError):
        shared_chrome("reports/mine.html")


# --- whole signed-in pages shared by readers who see the same alerts (same_page) --------

SAME_PAGES = "uglymugs.same_pages"


def _members(app: Flask, count: int, areas: tuple[str, ...] = ()) -> list:
    from tests.people import make_member, signed_in_client

    clients = []
    for n in range(count):
        client = signed_in_client(app, make_member(app, email=f"reader{n}@example.org"))
        if areas:
            post_form(client, "/alerts/areas", {"areas": list(areas)})
        clients.append(client)
    return clients


def _token_free(page: str) -> str:
    token = TOKEN.search(page)
    assert token
    return page.replace(token.group(1), "TOKEN")


def test_the_feed_is_one_page_for_readers_of_the_same_alerts_each_with_their_token(
        app) -> None:
    from tests.people import make_published_alert

    make_published_alert(app, areas=("ldn",))
    first, second = _members(app, 2)
    pages = [first.get("/alerts").get_data(as_text=True),
             second.get("/alerts").get_data(as_text=True)]
    assert TOKEN.search(pages[0]).group(1) != TOKEN.search(pages[1]).group(1)
    assert _token_free(pages[0]) == _token_free(pages[1])
    assert len(app.extensions[SAME_PAGES]) == 1
    # Each reader's own token signs them out: it is theirs, not the first reader's.
    for client, page in zip((first, second), pages, strict=True):
        answer = client.post("/logout", data={"csrf_token": TOKEN.search(page).group(1)})
        assert answer.status_code == 302


def test_readers_of_other_areas_get_their_own_feed(app) -> None:
    from tests.people import make_published_alert

    make_published_alert(app, areas=("ldn",))
    make_published_alert(app, areas=("sco",))
    [everything] = _members(app, 1)
    [london] = _members(app, 1, areas=("ldn",))
    [manchester] = _members(app, 1, areas=("sco",))
    london_page = london.get("/alerts").get_data(as_text=True)
    manchester_page = manchester.get("/alerts").get_data(as_text=True)
    all_page = everything.get("/alerts").get_data(as_text=True)
    shown = "Open this alert on its own"
    assert london_page.count(shown) == manchester_page.count(shown) == 1
    assert all_page.count(shown) == 2
    assert len({_token_free(p) for p in (london_page, manchester_page, all_page)}) == 3


def test_a_kept_page_carries_no_query_a_reader_typed_nor_their_message(app) -> None:
    from tests.people import make_published_alert

    make_published_alert(app)
    typer, other = _members(app, 2)
    typed = typer.get("/alerts?page=1&note=CANARY-typed-by-a-member").get_data(as_text=True)
    assert "CANARY-typed-by-a-member" in typed  # their own page returns them there
    with typer.session_transaction() as session:
        session["_flashes"] = [("message", "CANARY for this reader only")]
    assert "CANARY for this reader only" in typer.get("/alerts").get_data(as_text=True)
    kept = "".join("".join(pieces) for pieces in app.extensions.get(SAME_PAGES, {}).values())
    assert "CANARY" not in kept
    assert "CANARY" not in other.get("/alerts").get_data(as_text=True)


def test_a_check_answer_is_shared_and_never_holds_the_value_checked(app) -> None:
    from tests.people import make_published_alert

    make_published_alert(app, identifiers=(("phone", "07700 900461"),))
    first, second = _members(app, 2)
    answers = [post_form(c, "/check", {"kind": "phone", "value": value}, form_url="/check")
               for c, value in ((first, "07700 900461"), (second, "+44 7700 900461"))]
    pages = [a.get_data(as_text=True) for a in answers]
    assert "A test alert" in pages[0]
    assert _token_free(pages[0]) == _token_free(pages[1])
    kept = "".join("".join(pieces) for pieces in app.extensions[SAME_PAGES].values())
    keys = " ".join(" ".join(k) for k in app.extensions[SAME_PAGES])
    for shown in ("900461", "7700"):
        assert shown not in kept and shown not in keys
    nothing = post_form(first, "/check", {"kind": "phone", "value": "07700 900999"},
                        form_url="/check").get_data(as_text=True)
    assert "A test alert" not in nothing and "No published alert mentions this" in nothing


def test_withdrawing_an_alert_drops_every_kept_page(app) -> None:
    from tests.flows import coordinator_client

    coordinator, _ = coordinator_client(app)
    alert_id = _published_by(app, coordinator)
    [reader] = _members(app, 1)
    assert "grey van" in reader.get("/alerts").get_data(as_text=True)
    assert app.extensions[SAME_PAGES]
    post_form(coordinator, f"/coordinator/alerts/{alert_id}/withdraw",
              {"reason": "inaccurate", "confirm": "y"},
              form_url=f"/coordinator/alerts/{alert_id}/withdraw")
    assert not app.extensions[SAME_PAGES]
    assert "grey van" not in reader.get("/alerts").get_data(as_text=True)


def _published_by(app: Flask, coordinator) -> str:
    from tests.test_alert_editing import _published

    return _published(app, coordinator)
