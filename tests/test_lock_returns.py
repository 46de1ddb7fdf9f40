"""Locking and unlocking the vetting key return to the page the coordinator was on."""

from __future__ import annotations

import io

import pytest
from flask import Flask

from app.web.navigation import local_path
from tests.conftest import VETTING_PASSPHRASE, holder_file
from tests.flows import coordinator_client, unlock
from tests.webtools import csrf_token

OFF_SITE = ["//evil.example", "https://evil.example", "http://evil.example/coordinator/",
            "/\\evil.example", "\\\\evil.example", "javascript:alert(1)", "evil.example",
            "/\t/evil.example", "/\n/evil.example", "", None]


@pytest.mark.parametrize("target", OFF_SITE)
def test_next_that_could_leave_the_site_is_refused(target: str | None) -> None:
    assert local_path(target) is None


def test_next_keeps_a_local_path_with_its_query() -> None:
    assert local_path("/coordinator/reports?status=new") == "/coordinator/reports?status=new"


def test_lock_returns_to_the_page_it_was_pressed_on(app: Flask, keys_dir) -> None:
    client, _coordinator = coordinator_client(app)
    unlock(client, keys_dir)
    page = client.get("/coordinator/reports?status=new").get_data(as_text=True)
    assert 'name="next" value="/coordinator/reports?status=new"' in page
    response = client.post("/coordinator/lock", data={
        "csrf_token": csrf_token(client, "/coordinator/reports"),
        "next": "/coordinator/reports?status=new"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/coordinator/reports?status=new"
    assert "Vetting key locked." in client.get("/coordinator/reports").get_data(as_text=True)


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example"])
def test_lock_refuses_to_send_anyone_off_site(app: Flask, keys_dir, target: str) -> None:
    client, _coordinator = coordinator_client(app)
    unlock(client, keys_dir)
    response = client.post("/coordinator/lock", data={
        "csrf_token": csrf_token(client, "/coordinator/reports"), "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/coordinator/"


def _unlock_to(client, keys_dir, target: str):
    path = getattr(client, "key_file", None) or holder_file(keys_dir, 1)
    passphrase = getattr(client, "key_passphrase", None) or VETTING_PASSPHRASE
    return client.post("/coordinator/unlock", query_string={"next": target}, data={
        "csrf_token": csrf_token(client, "/coordinator/unlock"),
        "key_file": (io.BytesIO(path.read_bytes()), path.name), "passphrase": passphrase,
    }, content_type="multipart/form-data")


def test_unlock_returns_to_the_page_it_was_asked_from(app: Flask, keys_dir) -> None:
    client, _coordinator = coordinator_client(app)
    page = client.get("/coordinator/disclosures/").get_data(as_text=True)
    assert "/coordinator/unlock?next=/coordinator/disclosures/" in page
    form = client.get("/coordinator/unlock?next=/coordinator/disclosures/")
    assert "next=/coordinator/disclosures/" in form.get_data(as_text=True)
    response = _unlock_to(client, keys_dir, "/coordinator/disclosures/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/coordinator/disclosures/"


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example"])
def test_unlock_refuses_to_send_anyone_off_site(app: Flask, keys_dir, target: str) -> None:
    client, _coordinator = coordinator_client(app)
    response = _unlock_to(client, keys_dir, target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/coordinator/"
