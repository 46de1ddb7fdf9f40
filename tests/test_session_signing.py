"""The session cookie's signer is built once per key, and follows a key that changes."""

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
