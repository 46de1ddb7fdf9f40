from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parent.parent / "app" / "templates"


class _Resources(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []
        self.inline_scripts = 0
        self.style_blocks = 0
        self.style_attributes = 0
        self._in_script_without_src = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if "style" in attributes:
            self.style_attributes += 1
        if any(name.startswith("on") for name in attributes):
            self.inline_scripts += 1
        if tag == "style":
            self.style_blocks += 1
        if tag == "script" and not attributes.get("src"):
            self._in_script_without_src = True
        for name in ("src", "href", "action"):
            if attributes.get(name):
                self.urls.append((tag, name, attributes[name] or ""))

    def handle_data(self, data: str) -> None:
        if self._in_script_without_src and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script_without_src = False


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_first_page_explains_the_three_membership_types(client) -> None:
    page = _text(client.get("/"))
    for kind in ("Individual sex workers", "Projects", "Sites and establishments"):
        assert kind in page


def test_first_page_states_processing_hours(client) -> None:
    assert "Monday to Friday, 9:00 to 17:00" in _text(client.get("/"))


def test_first_page_states_what_data_is_held_and_the_promises(client) -> None:
    page = _text(client.get("/"))
    assert "A work name is all we need" in page
    assert "pay-as-you-go SIM" in page
    assert "A mobile number only if you want text alerts" in page
    for circumstance in ("protect a child", "prevent a crime", "put lives in danger",
                         "terrorism"):
        assert circumstance in page
    assert "we tell you what was shared, with whom and why" in page


@pytest.mark.parametrize("path", ["/", "/no-such-page"])
def test_quick_exit_is_on_every_page_and_works_without_script(client, path: str) -> None:
    parser = _Resources()
    parser.feed(client.get(path).get_data(as_text=True))
    exits = [url for tag, name, url in parser.urls if tag == "a" and url == "/exit"]
    assert exits == ["/exit"], "a plain link: no script, no form to fill in"
    leaving = client.get("/exit")
    assert leaving.status_code == 302
    assert leaving.headers["Location"] == "https://www.bbc.co.uk/weather"


def test_quick_exit_ends_the_session_and_forgets_the_unlocked_key(app, keys_dir) -> None:
    from app.common.ids import token_hash
    from app.web.state import state
    from tests.flows import coordinator_client, unlock

    client, _coordinator = coordinator_client(app)
    assert unlock(client, keys_dir).status_code == 302
    with client.session_transaction() as session:
        holder = token_hash(session["token"])
    clock = state(app).clock
    assert state(app).unlocks.expires_at(holder, clock()) is not None
    leaving = client.get("/exit")
    assert leaving.headers["Location"] == "https://www.bbc.co.uk/weather"
    assert state(app).unlocks.expires_at(holder, clock()) is None, "the key is forgotten"
    back = client.get("/coordinator/")
    assert back.status_code == 302 and "/login" in back.headers["Location"]


def test_tab_titles_use_a_neutral_name_unless_the_operator_chooses_another(
        app, config, database_key) -> None:
    from app import create_app
    from tests.conftest import with_config

    page = app.test_client().get("/apply").get_data(as_text=True)
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    assert "Safety notices" in title and "Ugly Mugs" not in title
    named = create_app(with_config(config, site_name="Ugly Mugs Example"))
    title = re.search(r"<title>(.*?)</title>",
                      named.test_client().get("/apply").get_data(as_text=True), re.S).group(1)
    assert title.endswith("Ugly Mugs Example")


def test_no_third_party_assets_and_no_inline_script_or_style(client) -> None:
    parser = _Resources()
    parser.feed(client.get("/").get_data(as_text=True))
    assert parser.inline_scripts == 0
    assert parser.style_blocks == 0 and parser.style_attributes == 0
    for tag, name, url in parser.urls:
        if tag == "a":
            continue  # links are navigation, not assets
        assert url.startswith("/"), f"<{tag} {name}={url}> loads from elsewhere"


def test_page_content_is_in_the_html_not_built_by_script(client) -> None:
    """With JavaScript off, everything must already be in the served HTML."""
    page = client.get("/").get_data(as_text=True)
    scripts = re.findall(r"<script[^>]*>", page)
    assert all("defer" in s and "quick-exit.js" in s for s in scripts)


def _untranslated_text(source: str) -> str:
    stripped = re.sub(r"{#.*?#}", " ", source, flags=re.S)
    stripped = re.sub(r"{%\s*trans\b.*?{%\s*endtrans\s*%}", " ", stripped, flags=re.S)
    stripped = re.sub(r"{{.*?}}", " ", stripped, flags=re.S)
    stripped = re.sub(r"{%.*?%}", " ", stripped, flags=re.S)
    stripped = re.sub(r"<!doctype[^>]*>", " ", stripped, flags=re.I)
    stripped = re.sub(r"<[^>]+>", " ", stripped, flags=re.S)
    stripped = re.sub(r"&[a-z]+;|[·\s]", " ", stripped)
    return stripped.strip()


@pytest.mark.parametrize(
    "template", sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html")))
def test_user_facing_text_goes_through_gettext(template: str) -> None:
    source = (TEMPLATES / template).read_text(encoding="utf-8")
    assert _untranslated_text(source) == ""


def test_a_page_looks_its_translations_up_once_not_once_per_string(app, client,
                                                                   monkeypatch) -> None:
    from app.web import translations

    calls = []
    real = translations.get_translations

    def counted():
        calls.append(1)
        return real()

    monkeypatch.setattr(translations, "get_translations", counted)
    page = client.get("/")
    assert page.status_code == 200 and "Quick exit" in page.get_data(as_text=True)
    assert len(calls) == 1
