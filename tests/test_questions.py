""""Ask for more information" that can be answered: question, answer, reading, purge.

The organisation reads the coordinator's question in its account and answers there; the
answer is sealed to the vetting key and read by a coordinator through a logged unseal.
"""

from __future__ import annotations

from datetime import timedelta

from app.membership import decisions as memberships
from app.membership import questions
from app.web.state import state
from app.worker import retention
from tests import canary
from tests.flows import applicant, apply, coordinator_client, decide, member_id_of, unlock
from tests.people import sign_in
from tests.webtools import plain, post_form

QUESTION = "Qcanaryquestion: which page of the website shows the outreach work?"
ANSWER = "Acanaryanswer: ask Jo Bloggs at the Tuesday drop-in, 12 Canary Street."


def _ask(coordinator, member_id: str, question: str = QUESTION):
    return decide(coordinator, member_id, "request-info", reason="website", question=question)


def _events(conn) -> list[str]:
    from app.vault import log

    return [str(e.body.get("event", "unseal")) for e in log.entries(conn)]


def test_an_organisation_answers_a_question_and_the_coordinator_reads_it(
        app, conn, keys_dir, config, database_key) -> None:
    username = apply(app, "project")
    member_id = member_id_of(conn, username)
    coordinator, person = coordinator_client(app)
    page = plain(coordinator.get(f"/coordinator/applications/{member_id}"))
    assert "Do not name or describe anyone" in page
    assert _ask(coordinator, member_id).status_code == 302

    # The organisation signs in, is sent to its messages, and reads the question.
    org = app.test_client()
    signed = sign_in(app, org, applicant(username))
    assert signed.status_code == 302 and signed.headers["Location"].endswith("/account/messages")
    listing = plain(org.get("/account/messages"))
    assert "A question from a coordinator" in listing and QUESTION not in listing
    (question,) = questions.for_application(conn, member_id)
    shown = plain(org.get(f"/account/messages/questions/{question.id}"))
    assert QUESTION in shown and "will be deleted after" in shown
    # It can reach nothing else of a member's.
    assert org.get("/alerts").status_code == 403
    assert org.get("/account").status_code == 403

    answered = post_form(org, f"/account/messages/questions/{question.id}/answer",
                         {"answer": ANSWER},
                         form_url=f"/account/messages/questions/{question.id}")
    assert answered.status_code == 302
    assert conn.execute("SELECT status FROM members WHERE id = ?",
                        (member_id,)).fetchone()[0] == "pending", "back in the queue"
    again = post_form(org, f"/account/messages/questions/{question.id}/answer",
                      {"answer": "second go"},
                      form_url=f"/account/messages/questions/{question.id}")
    assert again.status_code == 400, "an answer is given once"

    # The coordinator sees that it was answered, and reads it only with the key (logged).
    application = coordinator.get(f"/coordinator/applications/{member_id}")
    assert ANSWER not in application.get_data(as_text=True)
    assert post_form(coordinator, f"/coordinator/applications/{member_id}/answers", {},
                     form_url=f"/coordinator/applications/{member_id}").status_code == 423
    assert unlock(coordinator, keys_dir).status_code == 302
    # The application page, with the key unlocked, first checks the contact for duplicates.
    assert coordinator.get(f"/coordinator/applications/{member_id}").status_code == 200
    before = len(_events(conn))
    read = post_form(coordinator, f"/coordinator/applications/{member_id}/answers", {},
                     form_url=f"/coordinator/applications/{member_id}")
    assert read.status_code == 200 and ANSWER in read.get_data(as_text=True)
    from app.vault import log

    entry = log.entries(conn)[before].body
    assert entry["records"] == [f"application_questions/{question.id}"]
    assert entry["actor"] == person.account_id and entry["purpose"] == "vetting"
    assert _events(conn) == ["information_requested", "information_answered",
                             "vetting_key_unlocked", "contact_index_key_created", "unseal",
                             "unseal"]

    # Neither text is anywhere in the files; the answer not even under the database key.
    for path in canary.database_files(config.database_path):
        assert canary.find(path.read_bytes(), ["Qcanaryquestion", "Acanaryanswer"]) == []
    dump = canary.decrypted_dump(config.database_path, database_key)
    assert canary.find(dump, ["Acanaryanswer", "Jo Bloggs"]) == []
    assert log.verify(conn).ok


def test_a_coordinator_can_ask_again_and_the_purge_counts_from_the_last_question(
        app, conn) -> None:
    now = state(app).clock()
    member_id = member_id_of(conn, apply(app, "project"))
    memberships.request_info(conn, member_id, "website", "First?", None, now - timedelta(days=40))
    memberships.request_info(conn, member_id, "official_email", "Second?", None,
                             now - timedelta(days=10))
    assert len(questions.for_application(conn, member_id)) == 2
    done = retention.purge(conn, now)
    assert done.applications == 0
    assert conn.execute("SELECT count(*) FROM members WHERE id = ?",
                        (member_id,)).fetchone()[0] == 1
    done = retention.purge(conn, now + timedelta(days=21))
    assert done.applications == 1
    assert conn.execute("SELECT count(*) FROM application_questions WHERE member_id = ?",
                        (member_id,)).fetchone()[0] == 0


def test_an_answered_application_is_not_purged_as_unanswered(app, conn, server_keys) -> None:
    username = apply(app, "project")
    member_id = member_id_of(conn, username)
    now = state(app).clock()
    question_id = memberships.request_info(conn, member_id, "website", "Which page?", None,
                                           now - timedelta(days=40))
    account_id = conn.execute("SELECT id FROM accounts WHERE username = ?",
                              (username,)).fetchone()[0]
    questions.answer(conn, server_keys.vetting_public, member_id, account_id, question_id,
                     "This one.", now - timedelta(days=39))
    assert retention.purge(conn, now).applications == 0


def test_the_organisation_is_told_a_week_before_its_application_is_deleted(app,
                                                                          conn) -> None:
    member_id = member_id_of(conn, apply(app, "project"))
    now = state(app).clock()
    memberships.request_info(conn, member_id, "website", "Which page?", None,
                             now - timedelta(days=22))
    assert retention.purge(conn, now).warned == 0
    assert retention.purge(conn, now + timedelta(days=2)).warned == 1
    assert retention.purge(conn, now + timedelta(days=3)).warned == 0, "told once"
    notices = conn.execute("SELECT kind, dedupe_key FROM outbox WHERE member_id = ? "
                           "ORDER BY id", (member_id,)).fetchall()
    assert [n[0] for n in notices] == ["message", "message"]
    assert notices[1][1].startswith("purge-warning:")


def test_a_question_must_be_written_and_is_refused_with_a_message(app, conn) -> None:
    member_id = member_id_of(conn, apply(app, "project"))
    coordinator, _person = coordinator_client(app)
    refused = _ask(coordinator, member_id, question="   ")
    assert refused.status_code == 400
    assert "Write the question" in plain(refused)
    assert conn.execute("SELECT status FROM members WHERE id = ?",
                        (member_id,)).fetchone()[0] == "pending"
    assert questions.for_application(conn, member_id) == []


def test_an_empty_answer_is_refused_and_nothing_is_stored(app, conn) -> None:
    username = apply(app, "project")
    member_id = member_id_of(conn, username)
    coordinator, _person = coordinator_client(app)
    _ask(coordinator, member_id)
    (question,) = questions.for_application(conn, member_id)
    org = app.test_client()
    sign_in(app, org, applicant(username))
    refused = post_form(org, f"/account/messages/questions/{question.id}/answer",
                        {"answer": ""}, form_url=f"/account/messages/questions/{question.id}")
    assert refused.status_code == 400 and "Write your answer" in plain(refused)
    assert questions.for_application(conn, member_id)[0].answered_at is None


def test_a_pending_application_not_asked_anything_still_cannot_sign_in(app, conn) -> None:
    username = apply(app, "project")
    client = app.test_client()
    page = sign_in(app, client, applicant(username))
    assert page.status_code == 200 and "waiting for a coordinator" in plain(page)
    assert client.get("/account/messages").status_code == 302
