"""Every route against every role: who gets what.

EXPECTED lists every endpoint the app serves and the roles that reach it. A new route that
is not listed here fails `test_every_route_is_listed`, so nobody can add one without
saying who may reach it.
"""

from __future__ import annotations

import pytest
from flask import Flask

from app.access import EVERYONE, ROLES, allowed_roles
from tests.conftest import ROLE_HEADER

# endpoint -> (a URL that reaches it, the roles that get it)
EXPECTED: dict[str, tuple[str, frozenset[str]]] = {
    "public.index": ("/", EVERYONE),
    "static": ("/static/style.css", EVERYONE),
}


def test_every_route_is_listed(app: Flask) -> None:
    served = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert served == set(EXPECTED)


def test_every_route_states_its_roles(app: Flask) -> None:
    for rule in app.url_map.iter_rules():
        assert allowed_roles(app, rule.endpoint) is not None, rule.endpoint


def test_stated_roles_match_the_expectations(app: Flask) -> None:
    for endpoint, (_url, roles) in EXPECTED.items():
        assert allowed_roles(app, endpoint) == roles, endpoint


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(EXPECTED))
def test_route_answers_each_role_as_expected(client, endpoint: str, role: str) -> None:
    url, roles = EXPECTED[endpoint]
    response = client.get(url, headers={ROLE_HEADER: role})
    if role in roles:
        assert response.status_code == 200
    else:
        assert response.status_code in (302, 403, 404)
