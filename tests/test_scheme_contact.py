"""The scheme's own contact details: configurable, and shown where pages say to use them."""

from __future__ import annotations

from flask import Flask

from app import create_app
from app.web.config import Config
from tests.conftest import with_config
from tests.people import make_member, signed_in_client

DETAILS = {"UGLYMUGS_SCHEME_CONTACT_EMAIL": "coordinator@scheme.example.org",
           "UGLYMUGS_SCHEME_CONTACT_PHONE": "01632 960 123",
           "UGLYMUGS_SCHEME_CONTACT_HOURS": "Monday to Friday, 10:00 to 16:00"}


def test_contact_details_come_from_the_environment_and_blank_means_unset() -> None:
    config = Config.from_env(DETAILS)
    assert (config.scheme_contact_email, config.scheme_contact_phone,
            config.scheme_contact_hours) == tuple(DETAILS.values())
    blank = Config.from_env({"UGLYMUGS_SCHEME_CONTACT_EMAIL": "  "})
    assert blank.scheme_contact_email is None and blank.scheme_contact_phone is None


def test_pages_that_say_contact_the_scheme_show_its_details(app: Flask, config) -> None:
    # `app` has made the database and its key holders; this one reads the same files.
    app = create_app(with_config(config, scheme_contact_email="coordinator@scheme.example.org",
                                 scheme_contact_phone="01632 960 123",
                                 scheme_contact_hours="Monday to Friday, 10:00 to 16:00"))
    page = signed_in_client(app, make_member(app)).get("/reports").get_data(as_text=True)
    assert 'href="mailto:coordinator@scheme.example.org"' in page
    assert 'href="tel:01632960123"' in page
    assert "Hours: Monday to Friday, 10:00 to 16:00" in page


def test_without_details_the_page_says_so_neutrally(app: Flask) -> None:
    page = signed_in_client(app, make_member(app)).get("/reports").get_data(as_text=True)
    assert "This scheme has not put its contact details on the site." in page
    assert "mailto:" not in page


def test_the_demo_sets_example_details() -> None:
    from app.demo.run import commands

    web = dict((name, env) for name, _argv, env in commands(5000, 8025))["the web server"]
    assert web["UGLYMUGS_SCHEME_CONTACT_EMAIL"].endswith("example.org")
