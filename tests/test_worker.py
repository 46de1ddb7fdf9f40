"""The worker: notices reach exactly the right members over real SMTP and an SMS webhook
on loopback, survive being killed mid fan-out, and only the worker holds the delivery key."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from app.alerts import service as alerts
from app.delivery import DeliverySettings, SendRate, SmsSettings, channels
from app.membership import decisions as memberships
from app.membership.records import grant_delivery, insert_member
from app.vault import db
from app.vault import log as disclosure_log
from app.web.state import state
from app.worker import retention
from app.worker.delivery import Courier, deliver_all_due
from app.worker.scheduler import Jobs, build_scheduler
from crypto import keystore
from tests import canary
from tests.conftest import DELIVERY_PASSPHRASE
from tests.flows import resolve_waiting_resets
from tests.loopback import http_stub, smtp_server
from tests.people import make_member, make_published_alert, sign_in, signed_in_client
from tests.webtools import post_form, text, without_csrf_tokens

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def delivery_key(keys_dir):
    return keystore.load_delivery_private_key(keys_dir, DELIVERY_PASSPHRASE)


def _instant_rates() -> dict[str, SendRate]:
    return {"email": SendRate(1_000_000), "sms": SendRate(1_000_000)}


def _courier(delivery_key, smtp=None, sms_url: str | None = None) -> Courier:
    settings = DeliverySettings()
    if smtp is not None:
        settings = replace(settings, smtp=smtp.settings())
    if sms_url is not None:
        settings = replace(settings, sms=SmsSettings(provider="webhook", webhook_url=sms_url))
    return Courier(key=delivery_key, channels=channels(settings), rates=_instant_rates(),
                   settings=settings)


_VETTING: list = []


@pytest.fixture(autouse=True)
def _coordinator_key(vetting_key) -> None:
    """What an approving coordinator has unlocked (approval adds the delivery wrap)."""
    _VETTING[:] = [vetting_key]


def _member(conn, server_keys, *, area: str, channel: str, email: str = "",
            mobile: str = "", status: str = "active") -> str:
    contact = {k: v for k, v in (("email", email), ("mobile", mobile)) if v}
    with db.transaction(conn):
        member_id = insert_member(conn, server_keys, kind="individual",
                                  identity={"work_name": "Worker Test"}, contact=contact,
                                  alert_channel=channel)
        conn.execute("UPDATE members SET status = ? WHERE id = ?", (status, member_id))
        if status == "active":
            grant_delivery(conn, server_keys, member_id, _VETTING[0])
    alerts.set_member_areas(conn, member_id, [area])
    return member_id


def test_alert_reaches_each_opted_in_member_in_its_area_exactly_once(
        app, conn, server_keys, delivery_key) -> None:
    _member(conn, server_keys, area="ldn", channel="email", email="ldn.one@example.org")
    _member(conn, server_keys, area="ldn", channel="email", email="ldn.two@example.org")
    _member(conn, server_keys, area="ldn", channel="sms", mobile="07700 900111")
    _member(conn, server_keys, area="nw", channel="email", email="north@example.org")
    _member(conn, server_keys, area="ldn", channel="none", email="quiet@example.org")
    make_published_alert(app, areas=("ldn",))
    with smtp_server() as smtp, http_stub(200) as stub:
        courier = _courier(delivery_key, smtp, stub.url + "/sms")
        result = deliver_all_due(conn, courier, state(app).clock)
        again = deliver_all_due(conn, courier, state(app).clock)
        mails = smtp.messages
        texts = stub.requests
    assert result.sent == 3 and again.handled == 0
    assert sorted(r for m in mails for r in m.recipients) == [
        "ldn.one@example.org", "ldn.two@example.org"]
    assert [r.json()["to"] for r in texts] == ["+447700900111"]
    for mail in mails:
        assert mail.body.strip() == ("There is something new for you. "
                                     "Please sign in to read it."), "no alert content by default"
    [entry] = [e for e in disclosure_log.entries(conn) if e.body.get("purpose") ==
               "alert_delivery"]
    assert entry.body["member_count"] == 3
    assert "example.org" not in str(entry.body) and "7700" not in str(entry.body)


def test_temporary_failures_are_retried_later_and_permanent_ones_give_up(
        app, conn, server_keys, delivery_key) -> None:
    _member(conn, server_keys, area="ldn", channel="email", email="busy@example.org")
    _member(conn, server_keys, area="ldn", channel="email", email="gone@example.org")
    make_published_alert(app, areas=("ldn",))
    clock = state(app).clock
    with smtp_server(reject={"gone@example.org": 550}, defer={"busy@example.org": 1}) as smtp:
        courier = _courier(delivery_key, smtp)
        first = deliver_all_due(conn, courier, clock)
        assert (first.retrying, first.failed) == (1, 1)
        assert deliver_all_due(conn, courier, clock).handled == 0, "backoff: not yet"
        later = clock() + timedelta(minutes=2)
        second = deliver_all_due(conn, courier, lambda: later)
        assert second.sent == 1
        assert [m.recipients for m in smtp.messages] == [["busy@example.org"]]
    errors = [r[0] for r in conn.execute("SELECT last_error FROM outbox")]
    assert all("example.org" not in (e or "") for e in errors)


def test_approval_notice_goes_out_when_a_coordinator_approves(app, conn, server_keys,
                                                             delivery_key) -> None:
    member_id = _member(conn, server_keys, area="ldn", channel="email",
                        email="new.member@example.org", status="pending")
    memberships.approve(conn, member_id, None, state(app).clock(),  # type: ignore[arg-type]
                        read=True, keys=server_keys, vetting_key=_VETTING[0])
    with smtp_server() as smtp:
        deliver_all_due(conn, _courier(delivery_key, smtp), state(app).clock)
        [mail] = smtp.messages
    assert "Your account is ready" in mail.body


def test_password_reset_code_arrives_and_works_and_is_never_stored_plain(
        app, conn, config, server_keys, delivery_key, database_key) -> None:
    person = make_member(app, alert_channel="email", email="reset.me@example.org")
    client = app.test_client()
    asked = post_form(client, "/reset", {"username": person.username})
    unknown = post_form(app.test_client(), "/reset", {"username": "nobody-here-0000"})
    assert asked.status_code == unknown.status_code == 200
    # Each page carries its own session's CSRF token (the language chooser's form).
    tokenless = [without_csrf_tokens(text(page)) for page in (asked, unknown)]
    assert tokenless[0].replace(person.username, "") == tokenless[1].replace(
        "nobody-here-0000", ""), "the page never says whether the username exists"
    resolve_waiting_resets(app)
    with smtp_server() as smtp:
        deliver_all_due(conn, _courier(delivery_key, smtp), state(app).clock)
        [mail] = smtp.messages
    code = mail.body.split("code is ")[1][:8]
    dump = canary.decrypted_dump(config.database_path, database_key)
    assert code.encode() not in dump
    wrong = post_form(client, "/reset/code", {"username": person.username, "code": "00000000",
                                             "new": "a brand new password",
                                             "confirm": "a brand new password"})
    assert wrong.status_code == 400
    done = post_form(client, "/reset/code", {"username": person.username, "code": code,
                                            "new": "a brand new password",
                                            "confirm": "a brand new password"})
    assert done.status_code == 302
    assert sign_in(app, app.test_client(), replace(person, password="a brand new password")
                   ).status_code == 302


def test_canaries_absent_from_outbox_job_store_and_logs(app, conn, config, server_keys,
                                                        delivery_key, database_key,
                                                        all_logs) -> None:
    email = "canary.delivery.7731@example.org"
    _member(conn, server_keys, area="ldn", channel="email", email=email)
    make_published_alert(app, areas=("ldn",))
    with smtp_server() as smtp:
        courier = _courier(delivery_key, smtp)
        jobs = Jobs(config.database_path, database_key, courier, state(app).clock, None)
        scheduler = build_scheduler(jobs)
        stored = " ".join(f"{job!r} {job.args!r} {job.kwargs!r} {job.func!r}"
                          for job in scheduler.get_jobs())
        jobs.deliver()
        assert smtp.messages[0].recipients == [email]
    assert email not in stored and delivery_key.raw.hex() not in stored
    assert repr(courier).count(delivery_key.raw.hex()) == 0
    for path in canary.database_files(config.database_path):
        assert canary.find(path.read_bytes(), [email]) == []
    assert canary.find(canary.decrypted_dump(config.database_path, database_key), [email]) == []
    assert canary.find(all_logs.text.encode(), [email]) == []


def test_retention_purges_old_rejections_withdrawn_alerts_and_sent_notices(
        app, conn, server_keys) -> None:
    now = state(app).clock()
    old = _member(conn, server_keys, area="ldn", channel="email", email="old@example.org",
                  status="pending")
    memberships.reject(conn, old, "unverifiable", None, now - timedelta(days=31))  # type: ignore[arg-type]
    recent = _member(conn, server_keys, area="ldn", channel="email", email="r@example.org",
                     status="pending")
    memberships.reject(conn, recent, "unverifiable", None, now)  # type: ignore[arg-type]
    alert_id = make_published_alert(app)
    alerts.withdraw(conn, alert_id, None, now - timedelta(days=91), reason="inaccurate",
                    confirmed=True)
    done = retention.purge(conn, now)
    assert done.applications == 1 and done.alerts == 1
    ids = {r[0] for r in conn.execute("SELECT id FROM members")}
    assert old not in ids and recent in ids


def test_the_web_process_never_loads_the_delivery_private_key(app, monkeypatch) -> None:
    def refuse(*_args, **_kwargs):
        raise AssertionError("the web process tried to load a private key")

    monkeypatch.setattr(keystore, "load_delivery_private_key", refuse)
    monkeypatch.setattr(keystore, "read_private_key_file", refuse)
    person = make_member(app)
    make_published_alert(app)
    client = app.test_client()
    sign_in(app, client, person)
    for url in ("/", "/alerts", "/account", "/check", "/reports"):
        assert client.get(url).status_code == 200
    post_form(app.test_client(), "/reset", {"username": person.username})
    from app.web.state import state as app_state

    held = app_state(app).keys
    assert not any("private" in name for name in vars(held))


def _worker_env(config, keys_dir, smtp_port: int, passphrase: str = DELIVERY_PASSPHRASE):
    env = {k: v for k, v in os.environ.items() if not k.startswith("UGLYMUGS_")}
    env.update(UGLYMUGS_KEYS_DIR=str(keys_dir), UGLYMUGS_DATABASE=str(config.database_path),
               UGLYMUGS_DELIVERY_PASSPHRASE=passphrase, UGLYMUGS_SMTP_PORT=str(smtp_port),
               UGLYMUGS_EMAIL_PER_SECOND="1000")
    return env


def test_wrong_delivery_passphrase_stops_the_worker_with_a_clear_message(
        app, config, keys_dir) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "worker", "--once"], cwd=REPO,
        env=_worker_env(config, keys_dir, 25, passphrase="not the passphrase at all"),
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    assert "does not open the delivery key" in result.stderr
    assert "Traceback" not in result.stderr



def _message_ids_by_recipient(mails) -> dict[str, set[str]]:
    """The Message-IDs each recipient was sent: one each means exactly one notice each."""
    by_recipient: dict[str, set[str]] = {}
    for mail in mails:
        for recipient in mail.recipients:
            by_recipient.setdefault(recipient, set()).add(mail.message_id)
    return by_recipient

def test_killed_mid_fan_out_every_member_ends_with_exactly_one_notice(
        app, conn, config, keys_dir, server_keys) -> None:
    members = 1000
    with db.transaction(conn):
        for i in range(members):
            member_id = insert_member(conn, server_keys, kind="individual",
                                      identity={"work_name": f"M{i}"},
                                      contact={"email": f"member{i}@example.org"},
                                      alert_channel="email")
            conn.execute("UPDATE members SET status = 'active' WHERE id = ?", (member_id,))
            grant_delivery(conn, server_keys, member_id, _VETTING[0])
            conn.execute("INSERT INTO member_alert_areas (member_id, area) VALUES (?, 'ldn')",
                         (member_id,))
    make_published_alert(app, areas=("ldn",))
    assert conn.execute("SELECT count(*) FROM outbox").fetchone() == (members,)
    with smtp_server() as smtp:
        env = _worker_env(config, keys_dir, smtp.port)
        command = [sys.executable, "-m", "flask", "--app", "app", "worker", "--every", "1"]
        worker = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            smtp.wait_for(members // 3, timeout=120)
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
        killed_at = len(smtp.messages)
        assert killed_at < members, "the kill landed mid fan-out"
        restarted = subprocess.run([*command[:-2], "--once"], cwd=REPO, env=env,
                                   capture_output=True, text=True, timeout=300, check=False)
        assert restarted.returncode == 0, restarted.stderr
        mails = smtp.messages
    by_recipient = _message_ids_by_recipient(mails)
    assert len(by_recipient) == members, "nobody missed their notice"
    assert all(len(ids) == 1 for ids in by_recipient.values()), "one notice each"
    assert len(mails) <= members + 1, "at most the one notice in flight was sent twice"
    statuses = dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY status"))
    assert statuses == {"sent": members}


def test_member_switching_from_no_alerts_to_email_starts_getting_notices(
        app, conn, config, delivery_key, database_key) -> None:
    from crypto.envelope import recipients_of

    person = make_member(app)  # applied with no alert channel: contact not for delivery
    client = signed_in_client(app, person)
    bad = post_form(client, "/account/contact", {"email": "", "mobile": "",
                                                  "alert_channel": "email"})
    assert bad.status_code == 400 and "email address, a mobile number" in text(bad)
    saved = post_form(client, "/account/contact", {"email": "switched.canary@example.org",
                                                    "mobile": "", "alert_channel": "email"})
    assert saved.status_code == 302
    sealed = conn.execute("SELECT contact, alert_channel FROM members WHERE id = ?",
                          (person.member_id,)).fetchone()
    assert sealed[1] == "email"
    assert delivery_key.key_id in recipients_of(bytes(sealed[0]))
    alerts.set_member_areas(conn, person.member_id, ["ldn"])
    make_published_alert(app, areas=("ldn",))
    with smtp_server() as smtp:
        deliver_all_due(conn, _courier(delivery_key, smtp), state(app).clock)
        assert [m.recipients for m in smtp.messages] == [["switched.canary@example.org"]]
    dump = canary.decrypted_dump(config.database_path, database_key)
    assert canary.find(dump, ["switched.canary@example.org"]) == []


def test_a_member_approved_today_gets_the_notice_of_an_alert_published_today_for_her_area(
        app, conn, keys_dir, delivery_key) -> None:
    """The journey that queued "0 notices": apply, be approved, an alert the same day."""
    from tests.flows import apply, coordinator_client, decide, member_id_of, unlock

    username = apply(app, email="approved.today@example.org", alert_channel="email",
                     alert_area="ldn")
    member_id = member_id_of(conn, username)
    coordinator, _person = coordinator_client(app)
    unlock(coordinator, keys_dir)
    assert decide(coordinator, member_id, "approve").status_code == 302
    make_published_alert(app, areas=("ldn",))
    make_published_alert(app, areas=("sco",))  # not her area: no notice for it
    with smtp_server() as smtp:
        deliver_all_due(conn, _courier(delivery_key, smtp), state(app).clock)
        mails = [(m.recipients, m.subject) for m in smtp.messages]
    assert sorted(mails) == [(["approved.today@example.org"], "Something new for you"),
                             (["approved.today@example.org"], "Your account")]


def test_a_batch_goes_out_on_one_smtp_connection(app, conn, server_keys, delivery_key,
                                                 monkeypatch) -> None:
    from app.delivery.email_channel import EmailChannel

    opened = []
    connect = EmailChannel._connect

    def counting(channel):
        opened.append(1)
        return connect(channel)

    monkeypatch.setattr(EmailChannel, "_connect", counting)
    for i in range(12):
        _member(conn, server_keys, area="ldn", channel="email", email=f"m{i}@example.org")
    make_published_alert(app, areas=("ldn",))
    with smtp_server() as smtp:
        result = deliver_all_due(conn, _courier(delivery_key, smtp), state(app).clock)
        assert len(smtp.wait_for(12)) == 12
    assert result.sent == 12
    assert len(opened) == 1, "one SMTP session for the whole batch"


def test_a_dropped_smtp_connection_is_replaced_and_the_batch_carries_on(
        app, conn, server_keys, delivery_key, monkeypatch) -> None:
    import smtplib

    for i in range(4):
        _member(conn, server_keys, area="ldn", channel="email", email=f"m{i}@example.org")
    make_published_alert(app, areas=("ldn",))
    sent = smtplib.SMTP.sendmail
    calls = []

    def drop_second(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            self.close()
            raise smtplib.SMTPServerDisconnected("gone")
        return sent(self, *args, **kwargs)

    monkeypatch.setattr(smtplib.SMTP, "sendmail", drop_second)
    with smtp_server() as smtp:
        result = deliver_all_due(conn, _courier(delivery_key, smtp), state(app).clock)
        mails = smtp.wait_for(4)
    assert result.sent == 4 and len(mails) == 4


def test_sent_marks_are_batched_and_the_connection_ends_fully_synchronous(
        app, conn, server_keys, delivery_key) -> None:
    _member(conn, server_keys, area="ldn", channel="email", email="one@example.org")
    make_published_alert(app, areas=("ldn",))
    with smtp_server() as smtp:
        deliver_all_due(conn, _courier(delivery_key, smtp), state(app).clock)
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL again
    assert dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY status")) == {
        "sent": 1}


def test_email_and_texts_are_sent_at_the_same_time(app, conn, server_keys,
                                                  delivery_key) -> None:
    import threading

    for i in range(3):
        _member(conn, server_keys, area="ldn", channel="email", email=f"m{i}@example.org")
        _member(conn, server_keys, area="ldn", channel="sms", mobile=f"07700 90011{i}")
    make_published_alert(app, areas=("ldn",))
    threads: set[str] = set()
    with smtp_server() as smtp, http_stub(200) as stub:
        courier = _courier(delivery_key, smtp, stub.url + "/sms")
        for channel in courier.channels.values():
            # email sends through send_after (it overlaps the last mark's commit)
            name = "send_after" if hasattr(channel, "send_after") else "send"
            original = getattr(channel, name)

            def spy(*args, _send=original):
                threads.add(threading.current_thread().name)
                return _send(*args)

            setattr(channel, name, spy)
        result = deliver_all_due(conn, courier, state(app).clock)
    assert result.sent == 6
    assert len(threads) == 2, "each channel on its own thread"


def test_a_mark_that_fails_to_commit_stops_the_next_send_and_its_notice_is_resent_once(
        app, conn, server_keys, delivery_key, monkeypatch) -> None:
    # The point between a notice's send and its mark's commit (the commit now overlaps the
    # next send): a commit that never lands, as under kill -9, must hold back the next
    # notice at its final dot, and the unrecorded one is sent again under the same key.
    from app.vault import outbox

    members = 5
    for i in range(members):
        _member(conn, server_keys, area="ldn", channel="email", email=f"m{i}@example.org")
    make_published_alert(app, areas=("ldn",))
    real_mark_sent = outbox.mark_sent
    calls = []

    def dies_on_second(conn_, claimed, now) -> None:
        calls.append(claimed.id)
        if len(calls) == 2:
            raise RuntimeError("killed before the commit")
        real_mark_sent(conn_, claimed, now)

    with smtp_server() as smtp:
        monkeypatch.setattr(outbox, "mark_sent", dies_on_second)
        with pytest.raises(RuntimeError, match="killed before the commit"):
            deliver_all_due(conn, _courier(delivery_key, smtp), state(app).clock)
        assert len(smtp.messages) == 2, "nothing accepted after the mark that failed"
        monkeypatch.setattr(outbox, "mark_sent", real_mark_sent)
        deliver_all_due(conn, _courier(delivery_key, smtp), state(app).clock)
        mails = smtp.messages
    by_recipient = _message_ids_by_recipient(mails)
    assert len(by_recipient) == members, "nobody missed their notice"
    assert all(len(ids) == 1 for ids in by_recipient.values()), "a resend keeps its Message-ID"
    assert len(mails) == members + 1, "only the notice whose mark was lost went twice"
    assert dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY status")) == {
        "sent": members}


def test_marks_of_every_channel_are_written_by_one_thread(app, conn, server_keys,
                                                           delivery_key, monkeypatch) -> None:
    # Two channels' threads committing on the one connection could join each other's
    # transaction (db.transaction joins an open one), and a mark would then look durable
    # before it was: so all marks go through a single writer.
    import threading

    from app.vault import outbox

    for i in range(3):
        _member(conn, server_keys, area="ldn", channel="email", email=f"m{i}@example.org")
        _member(conn, server_keys, area="ldn", channel="sms", mobile=f"07700 90012{i}")
    make_published_alert(app, areas=("ldn",))
    writers: set[str] = set()
    real_mark_sent = outbox.mark_sent

    def spy(*args) -> None:
        writers.add(threading.current_thread().name)
        real_mark_sent(*args)

    monkeypatch.setattr(outbox, "mark_sent", spy)
    with smtp_server() as smtp, http_stub(200) as stub:
        result = deliver_all_due(conn, _courier(delivery_key, smtp, stub.url + "/sms"),
                                 state(app).clock)
    assert result.sent == 6
    assert len(writers) == 1 and next(iter(writers)).startswith("uglymugs-mark")
