"""The session cookie: signed once per key, and opening a session only while it should."""

from __future__ import annotations

from tests.people import make_member, signed_in_client


def test_a_session_signed_under_an_old_key_is_not_accepted_after_the_key_changes(app) -> None:
    client = signed_in_client(app, make_member(app))
    assert client.get("/account").status_code == 200
    interface = app.session_interface
    before = interface.get_signing_serializer(app)
    assert interface.get_signing_serializer(app) is before, "built once for one key"
    app.secret_key = b"another session key for this test only, 32+ bytes"
    assert interface.get_signing_serializer(app) is not before
    # The cookie signed under the old key no longer opens a session: sent to sign in.
    assert client.get("/account").status_code == 302



def test_an_altered_session_cookie_opens_no_session(app) -> None:
    client = signed_in_client(app, make_member(app))
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(name).value
    client.set_cookie(name, cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"))
    for _ in range(2):
        assert client.get("/account").status_code == 302, "sent to sign in"


def test_a_session_cookie_past_its_lifetime_opens_no_session(app, monkeypatch) -> None:
    import time

    client = signed_in_client(app, make_member(app))
    assert client.get("/account").status_code == 200
    later = time.time() + app.permanent_session_lifetime.total_seconds() + 5
    monkeypatch.setattr(time, "time", lambda: later)
    assert client.get("/account").status_code == 302, "expired: sent to sign in"


def test_a_cookie_kept_from_before_sign_out_opens_no_session(app) -> None:
    """Whoever copied the cookie gets nothing once its owner signs out: the signature
    still verifies, but the token in it is no longer a live session."""
    client = signed_in_client(app, make_member(app))
    name = app.config["SESSION_COOKIE_NAME"]
    page = client.get("/account").get_data(as_text=True)
    cookie = client.get_cookie(name).value
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert client.post("/logout", data={"csrf_token": token}).status_code in (302, 303)
    replay = app.test_client()
    replay.set_cookie(name, cookie)
    assert replay.get("/account").status_code == 302, "the old cookie opens no session"
