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
    # The name in tab titles and the header. None: a neutral, translated "Safety notices",
    # because titles show in history, on lock screens and in notification previews.
    site_name: str | None = None
    # How people reach the scheme's coordinators, shown wherever a page tells them to
    # (UGLYMUGS_SCHEME_CONTACT_EMAIL, _PHONE, _HOURS). None: pages say so neutrally.
    scheme_contact_email: str | None = None
    scheme_contact_phone: str | None = None
    scheme_contact_hours: str | None = None
    # Text alerts are offered only when the worker has a text-message gateway to send them.
    text_alerts: bool = False
    testing: bool = False
    # Where `backup create` and the worker's nightly backup write (None: a `backups`
    # folder beside the database), and how many nightly backups the worker keeps.
    backup_dir: Path | None = None
    backup_keep: int = 14
    # At most this many Argon2id password hashes at once (each takes 64 MiB).
    max_concurrent_hashes: int = 2
    hash_wait_seconds: float = 3.0
    # At most this many new applications an hour, from everyone together: a flood cannot
    # bury the coordinators' queue. Counted from stored applications, never per person.
    applications_per_hour: int = 30
    # Tests only: the same hashing code with parameters that take milliseconds (key files
    # that key commands make use libsodium's INTERACTIVE Argon2id limits too).
    cheap_password_hashing: bool = False
    # How often the web process counts waiting monitoring answers; 0: only when asked
    # (tests count explicitly).
    monitoring_flush_seconds: float = 3600.0
    # Open database connections kept for requests (gunicorn's --threads 8: one each).
    db_pool_size: int = 8
    # How often a background thread checkpoints the WAL (never on a request); None: never.
    checkpoint_seconds: float | None = 5.0
    # How often the day's check counts held in memory are written (app/checker/tally.py).
    check_flush_seconds: float = 300.0
    # How often waiting password-reset requests and wrong-code counts are resolved, off
    # every request (app/auth/reset.py): a code arrives within about this long.
    reset_queue_seconds: float = 10.0
    extra: Mapping[str, object] = field(default_factory=dict)

    @property
    def backups_path(self) -> Path:
        return self.backup_dir or self.database_path.parent / "backups"

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
        if env.get("UGLYMUGS_APPLICATIONS_PER_HOUR", "").isascii() and \
                env.get("UGLYMUGS_APPLICATIONS_PER_HOUR", "").isdigit():
            config = replace(config,
                             applications_per_hour=int(env["UGLYMUGS_APPLICATIONS_PER_HOUR"]))
        if "UGLYMUGS_BACKUP_DIR" in env:
            config = replace(config, backup_dir=Path(env["UGLYMUGS_BACKUP_DIR"]))
        if "UGLYMUGS_BACKUP_KEEP" in env:
            keep = env["UGLYMUGS_BACKUP_KEEP"]
            if not keep.isascii() or not keep.isdigit() or int(keep) < 1:
                raise ValueError("UGLYMUGS_BACKUP_KEEP must be a whole number, 1 or more")
            config = replace(config, backup_keep=int(keep))
        if "UGLYMUGS_QUICK_EXIT_URL" in env:
            config = replace(config, quick_exit_url=env["UGLYMUGS_QUICK_EXIT_URL"])
        if (site_name := env.get("UGLYMUGS_SITE_NAME", "").strip()):
            config = replace(config, site_name=site_name)
        if (email := env.get("UGLYMUGS_SCHEME_CONTACT_EMAIL", "").strip()):
            config = replace(config, scheme_contact_email=email)
        if (phone := env.get("UGLYMUGS_SCHEME_CONTACT_PHONE", "").strip()):
            config = replace(config, scheme_contact_phone=phone)
        if (hours := env.get("UGLYMUGS_SCHEME_CONTACT_HOURS", "").strip()):
            config = replace(config, scheme_contact_hours=hours)
        # The worker reads the gateway's settings (app/delivery/settings.py); the web
        # process needs only to know whether there is one.
        provider = env.get("UGLYMUGS_SMS_PROVIDER", "").strip().lower()
        if provider not in ("", "none"):
            config = replace(config, text_alerts=True)
        return config
