"""Operator commands: `flask --app app <command>`, one module per group.

keys (the key ceremony), database (init-db, db upgrade, db status), backup (create,
verify, restore), doctor (a deployment preflight), staff, serve (the
development server without address logging), audit, worker; and the demo's own commands
(app/demo/setup.py: demo-setup, smtp-sink).
"""

from __future__ import annotations

from flask import Flask

from app.cli import audit, backup, database, doctor, keys, serve, staff, worker
from app.demo import setup as demo


def register(app: Flask) -> None:
    for group in (keys, database, backup, doctor, staff, serve, audit, worker, demo):
        group.register(app)
