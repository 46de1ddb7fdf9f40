"""Shared fixtures for the crypto tests (constants live in crypto_testkit.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    # Lets a bare `pytest tests/crypto` work without installing the project.
    sys.path.insert(0, str(ROOT))

from crypto.keys import BoxPrivateKey, generate_box_keypair  # noqa: E402


@pytest.fixture
def vetting_key() -> BoxPrivateKey:
    return generate_box_keypair("vetting")


@pytest.fixture
def delivery_key() -> BoxPrivateKey:
    return generate_box_keypair("delivery")


@pytest.fixture
def other_key() -> BoxPrivateKey:
    return generate_box_keypair("vetting")
