from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest

from app.auth import accounts
from app.common.passwords import Passwords
from app.web.limits import SignInThrottle
from app.web.state import state
from tests.people import (
    PASSWORD,
    current_code,
    make_member,
    make_staff,
    sign_in,
    signed_in_client,
)
from tests.webtools import post_form, text, without_csrf_tokens


def _move_clock(app, by: timedelta) -> None:
    st = state(app)
    start = st.clock()
    st.clock = lambda: start + by


def test_member_signs_in_reaches_account_and_signs_out(app, client) -> None:
    person = make_member(app)
    response = sign_in(app, client, person)
    assert response.status_code == 302 and response.headers["Location"].endswith("/account")
    assert person.username in text(client.get("/account"))
    assert post_form(client, "/logout", {}, form_url="/account").status_code == 302
    assert "required=1" in client.get("/account").headers["Location"]


def test_unknown_username_and_wrong_password_get_the_same_answer(app, client,
                                                                monkeypatch) -> None:
    person = make_member(app)
    verified = []
    original = Passwords.verify

    def spy(self, stored, password):
        verified.append(stored is None)
        return original(self, stored, password)

    monkeypatch.setattr(Passwords, "verify", spy)
    wrong = post_form(client, "/login", {"username": person.username, "password": "nope" * 3})
    unknown = post_form(client, "/login", {"username": "no-such-user-0000",
                                           "password": "nope" * 3})
    assert wrong.status_code == unknown.status_code == 401
    assert without_csrf_tokens(wrong.get_data(as_text=True)).replace(person.username, "NAME") == \
        without_csrf_tokens(unknown.get_data(as_text=True)).replace("no-such-user-0000", "NAME")
    assert verified == [False, True], "an unknown name still costs one full hash"


def test_only_the_right_password_learns_an_application_is_pending(app, client) -> None:
    person = make_member(app, status="pending")
    wrong = post_form(client, "/login", {"username": person.username, "password": "x" * 12})
    assert wrong.status_code == 401 and "waiting" not in text(wrong)
    right = sign_in(app, client, person)
    assert right.status_code == 200 and "waiting for a coordinator" in text(right)
    assert "required=1" in client.get("/account").headers["Location"], "no session"


def test_sign_in_issues_a_new_session_token(app, client) -> None:
    person = make_member(app)
    with client.session_transaction() as planted:
        planted["token"] = "attacker-chosen-token"
        planted["other"] = "left over"
    sign_in(app, client, person)
    with client.session_transaction() as session:
        assert session["token"] != "attacker-chosen-token"
        assert "other" not in session
    first = session["token"]
    post_form(client, "/logout", {}, form_url="/account")
    sign_in(app, client, person)
    with client.session_transaction() as session:
        assert session["token"] != first


def test_session_ends_after_idle_timeout(app) -> None:
    client = signed_in_client(app, make_member(app))
    assert client.get("/account").status_code == 200
    _move_clock(app, timedelta(minutes=31))
    assert "required=1" in client.get("/account").headers["Location"]


def test_sign_out_everywhere_ends_every_session(app) -> None:
    person = make_member(app)
    laptop, phone = signed_in_client(app, person), signed_in_client(app, person)
    post_form(laptop, "/account/sign-out-everywhere", {}, form_url="/account")
    assert laptop.get("/account").status_code == 302
    assert phone.get("/account").status_code == 302


def test_changing_password_ends_other_sessions_but_not_this_one(app) -> None:
    person = make_member(app)
    here, elsewhere = signed_in_client(app, person), signed_in_client(app, person)
    response = post_form(here, "/account/password", {
        "current": PASSWORD, "new": "an even longer password", "confirm": "an even longer password",
    }, form_url="/account")
    assert response.status_code == 302
    assert here.get("/account").status_code == 200
    assert elsewhere.get("/account").status_code == 302
    fresh = app.test_client()
    assert post_form(fresh, "/login", {"username": person.username,
                                       "password": PASSWORD}).status_code == 401


def test_password_change_with_wrong_current_password_is_refused(app) -> None:
    client = signed_in_client(app, make_member(app))
    response = post_form(client, "/account/password", {
        "current": "not the password", "new": "an even longer password",
        "confirm": "an even longer password"}, form_url="/account")
    assert response.status_code == 400 and "current password is not right" in text(response)


def test_staff_must_give_a_totp_code(app, client) -> None:
    coordinator = make_staff(app, "coordinator")
    response = post_form(client, "/login", {"username": coordinator.username,
                                            "password": coordinator.password})
    assert response.headers["Location"].endswith("/login/code")
    assert client.get("/coordinator/").status_code == 302, "not signed in without the code"
    wrong = post_form(client, "/login/code", {"code": "000000"})
    assert wrong.status_code == 401
    right = post_form(client, "/login/code", {"code": current_code(app, coordinator.totp_secret)})
    assert right.headers["Location"].endswith("/coordinator/")
    assert client.get("/coordinator/").status_code == 200


def test_a_used_totp_code_is_refused_a_second_time(app) -> None:
    auditor = make_staff(app, "auditor")
    client = app.test_client()
    code = current_code(app, auditor.totp_secret)
    post_form(client, "/login", {"username": auditor.username, "password": auditor.password})
    assert post_form(client, "/login/code", {"code": code}).status_code == 302
    again = app.test_client()
    post_form(again, "/login", {"username": auditor.username, "password": auditor.password})
    assert post_form(again, "/login/code", {"code": code}).status_code == 401


def test_login_throttle_is_per_account(app) -> None:
    target, bystander = make_member(app), make_member(app)
    client = app.test_client()
    for _ in range(5):
        post_form(client, "/login", {"username": target.username, "password": "wrong" * 3})
    blocked = post_form(client, "/login", {"username": target.username, "password": PASSWORD})
    assert blocked.status_code == 429, "a browser the account does not know waits"
    assert "Please wait before trying again" in text(blocked)
    assert int(blocked.headers["Retry-After"]) > 0
    assert sign_in(app, app.test_client(), bystander).status_code == 302


def test_login_throttle_has_an_overall_limit(app) -> None:
    state(app).throttle = SignInThrottle(overall_burst=3, overall_per_minute=3)
    people = [make_member(app) for _ in range(4)]
    answers = [post_form(app.test_client(), "/login",
                         {"username": p.username, "password": "wrong" * 3}).status_code
               for p in people]
    assert answers == [401, 401, 401, 429]


def test_too_many_hashes_at_once_get_a_429(app) -> None:
    person = make_member(app)
    state(app).passwords = Passwords(max_concurrent=1, wait_seconds=0.05, cheap_for_tests=True)
    busy = state(app).passwords._slots
    client = app.test_client()
    token_page = client.get("/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                      token_page.get_data(as_text=True)).group(1)
    assert busy.acquire()
    try:
        response = client.post("/login", data={"username": person.username,
                                               "password": PASSWORD, "csrf_token": token})
    finally:
        busy.release()
    assert response.status_code == 429


def test_members_may_turn_on_totp(app) -> None:
    person = make_member(app)
    client = signed_in_client(app, person)
    page = client.get("/account/two-step")
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page.get_data(as_text=True))
    assert secret
    wrong = post_form(client, "/account/two-step", {"code": "123456"})
    assert wrong.status_code == 400
    import pyotp

    code = pyotp.TOTP(secret.group(1)).at(state(app).clock())
    turned_on = post_form(client, "/account/two-step", {"code": code})
    assert turned_on.status_code == 200 and "recovery codes" in turned_on.get_data(as_text=True)
    fresh = app.test_client()
    response = post_form(fresh, "/login", {"username": person.username, "password": PASSWORD})
    assert response.headers["Location"].endswith("/login/code")


def test_default_hashing_is_rfc9106_low_memory_and_rehashes_old_parameters(app, conn) -> None:
    real = Passwords()
    assert real.parameters.memory_cost == 65536
    assert real.parameters.time_cost == 3 and real.parameters.parallelism == 4
    person = make_member(app)  # hashed with the cheap test parameters
    before = accounts.by_username(conn, person.username).password_hash
    assert real.needs_rehash(before)
    assert accounts.authenticate(conn, real, person.username, PASSWORD) is not None
    after = accounts.by_username(conn, person.username).password_hash
    assert after != before and not real.needs_rehash(after)


def test_concurrent_sign_ins_do_not_crash(app) -> None:
    people = [make_member(app) for _ in range(4)]
    results: list[int] = []

    def attempt(person) -> None:
        results.append(sign_in(app, app.test_client(), person).status_code)

    threads = [threading.Thread(target=attempt, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [302] * 4


@pytest.mark.parametrize("role", ["coordinator", "auditor"])
def test_staff_create_command_makes_a_totp_login(app, role: str) -> None:
    result = app.test_cli_runner().invoke(args=["staff", "create", "--role", role])
    assert result.exit_code == 0, result.output
    username = re.search(rf"{role}: username (\S+)", result.output).group(1)
    secret = re.search(r"TOTP secret: ([A-Z2-7]+)", result.output).group(1)
    password = re.search(r"password:\s+(\S+)", result.output).group(1)
    client = app.test_client()
    post_form(client, "/login", {"username": username, "password": password})
    code = current_code(app, secret)
    assert post_form(client, "/login/code", {"code": code}).status_code == 302


def test_the_authenticator_app_lists_the_code_under_a_neutral_name(app) -> None:
    # An authenticator's list shows on a phone anyone may glance at: never "Ugly Mugs".
    person = make_member(app)
    page = signed_in_client(app, person).get("/account/two-step").get_data(as_text=True)
    uri = re.search(r'otpauth://[^"<\s]+', page)
    assert uri, "the setup link is on the page"
    assert "issuer=Safety%20notices" in uri.group(0)
    assert "mugs" not in uri.group(0).lower()
