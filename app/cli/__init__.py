"""Operator commands: `flask --app app <command>`, one module per group.

keys (the key ceremony), database (init-db, db upgrade, db status), staff, serve (the
development server without address logging), audit, worker; and the demo's own commands
(app/demo/setup.py: demo-setup, smtp-sink).
"""

from __future__ import annotations

from flask import Flask

from app.cli import audit, database, keys, serve, staff, worker
from app.demo import setup as demo


def register(app: Flask) -> None:
    for group in (keys, database, staff, serve, audit, worker, demo):
        group.register(app)
