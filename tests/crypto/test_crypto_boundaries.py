"""The crypto package stays framework-free and builds only on libsodium's primitives."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import crypto

PACKAGE = Path(crypto.__file__).resolve().parent
ROOT = PACKAGE.parent
FORBIDDEN = ("flask", "app", "werkzeug", "sqlite3", "sqlcipher3", "random", "cryptography")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_crypto_never_imports_flask_app_or_weak_randomness() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        assert not _imports(path) & set(FORBIDDEN), path.name


def test_importing_crypto_loads_no_framework() -> None:
    code = (
        "import sys, crypto, crypto.keystore, crypto.envelope, crypto.audit_chain;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'app', 'werkzeug')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_public_api_is_exported() -> None:
    for name in crypto.__all__:
        assert hasattr(crypto, name), name
