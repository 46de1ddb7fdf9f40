"""Explicit configuration: every setting the app reads is a field here.

`create_app(config)` takes one of these; nothing else in the app reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _translations() -> Path:
    """translations/ in a checkout; an installed package carries its own copy (setup.py)."""
    checkout = REPO_ROOT / "translations"
    return checkout if checkout.is_dir() else Path(__file__).resolve().parents[1] / "translations"


@dataclass(frozen=True)
class Config:
    keys_dir: Path = REPO_ROOT / "keys"
    database_path: Path = REPO_ROOT / "var" / "uglymugs.db"
    schema_path: Path = REPO_ROOT / "schema.sql"
    # The steps `db upgrade` applies to an existing database (app/vault/migrations.py).
    migrations_path: Path = REPO_ROOT / "migrations"
    # The compiled catalogues (LOCALE/LC_MESSAGES/messages.mo) pages and notices are
    # translated from.
    translations_path: Path = field(default_factory=_translations)
    # Secure cookies need HTTPS; only the plain-http localhost demo turns this off.
    secure_cookies: bool = True
    # Forms here are short text; anything bigger is a mistake or an attack.
    max_content_length: int = 256 * 1024
    quick_exit_url: str = "https://www.bbc.co.uk/weather"
    testing: bool = False
    # At most this many Argon2id password hashes at once (each takes 64 MiB).
    max_concurrent_hashes: int = 2
    hash_wait_seconds: float = 3.0
    # Tests only: the same hashing code with parameters that take milliseconds.
    cheap_password_hashing: bool = False
    extra: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Build a config from UGLYMUGS_* environment variables (the CLI and gunicorn path)."""
        env = os.environ if environ is None else environ
        config = cls()
        if "UGLYMUGS_KEYS_DIR" in env:
            config = replace(config, keys_dir=Path(env["UGLYMUGS_KEYS_DIR"]))
        if "UGLYMUGS_DATABASE" in env:
            config = replace(config, database_path=Path(env["UGLYMUGS_DATABASE"]))
        if env.get("UGLYMUGS_INSECURE_COOKIES") == "1":
            config = replace(config, secure_cookies=False)
        if "UGLYMUGS_QUICK_EXIT_URL" in env:
            config = replace(config, quick_exit_url=env["UGLYMUGS_QUICK_EXIT_URL"])
        return config
