"""Where the worker takes the delivery passphrase from, in which order, and what it says
when none is given: never the passphrase itself, and never from a command-line argument."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.cli.worker import CREDENTIAL_NAME, delivery_passphrase

REPO = Path(__file__).resolve().parents[1]
SECRET = "tidy-violin-copper-meadow"


def _credentials(tmp_path: Path, text: str = SECRET) -> Path:
    folder = tmp_path / "credentials"
    folder.mkdir()
    (folder / CREDENTIAL_NAME).write_text(text + "\n", encoding="utf-8")
    return folder


def _never_asked() -> str:
    raise AssertionError("the prompt must not run when another source is given")


def test_systemd_credential_is_read_from_credentials_directory(tmp_path: Path) -> None:
    environ = {"CREDENTIALS_DIRECTORY": str(_credentials(tmp_path))}
    assert delivery_passphrase(environ, stdin_is_tty=True, prompt=_never_asked) == SECRET


def test_systemd_credential_wins_over_file_and_environment(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.write_text("from the file", encoding="utf-8")
    environ = {"CREDENTIALS_DIRECTORY": str(_credentials(tmp_path)),
               "UGLYMUGS_DELIVERY_PASSPHRASE_FILE": str(other),
               "UGLYMUGS_DELIVERY_PASSPHRASE": "from the environment"}
    assert delivery_passphrase(environ) == SECRET


def test_credentials_directory_without_our_credential_falls_through(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    environ = {"CREDENTIALS_DIRECTORY": str(folder),
               "UGLYMUGS_DELIVERY_PASSPHRASE": "from the environment"}
    assert delivery_passphrase(environ) == "from the environment"


def test_passphrase_file_wins_over_environment(tmp_path: Path) -> None:
    path = tmp_path / "passphrase"
    path.write_text(f"  {SECRET}\n", encoding="utf-8")
    environ = {"UGLYMUGS_DELIVERY_PASSPHRASE_FILE": str(path),
               "UGLYMUGS_DELIVERY_PASSPHRASE": "from the environment"}
    assert delivery_passphrase(environ) == SECRET


def test_environment_variable_is_used_alone() -> None:
    assert delivery_passphrase({"UGLYMUGS_DELIVERY_PASSPHRASE": SECRET},
                               stdin_is_tty=True, prompt=_never_asked) == SECRET


def test_prompt_is_asked_only_on_a_terminal_with_nothing_else_given() -> None:
    assert delivery_passphrase({}, stdin_is_tty=True, prompt=lambda: SECRET + "\n") == SECRET


def test_no_source_stops_with_a_message_naming_every_option(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        delivery_passphrase({}, stdin_is_tty=False, prompt=lambda: SECRET)
    assert stopped.value.code == 1
    message = capsys.readouterr().err
    for option in (CREDENTIAL_NAME, "LoadCredentialEncrypted", "UGLYMUGS_DELIVERY_PASSPHRASE",
                   "UGLYMUGS_DELIVERY_PASSPHRASE_FILE", "terminal"):
        assert option in message


def test_empty_prompt_answer_stops_the_worker(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        delivery_passphrase({}, stdin_is_tty=True, prompt=lambda: "  ")
    assert "no delivery passphrase was typed" in capsys.readouterr().err


def test_unreadable_or_empty_credential_is_a_clear_error_without_the_passphrase(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        delivery_passphrase({"CREDENTIALS_DIRECTORY": str(_credentials(tmp_path, "  "))})
    assert "is empty" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        delivery_passphrase({"UGLYMUGS_DELIVERY_PASSPHRASE_FILE": str(tmp_path / "absent")})
    assert "cannot read the delivery passphrase file" in capsys.readouterr().err


def test_worker_takes_the_systemd_credential_and_never_shows_it(
        app, config, keys_dir, tmp_path: Path) -> None:
    import os

    from tests.conftest import DELIVERY_PASSPHRASE

    env = {k: v for k, v in os.environ.items() if not k.startswith("UGLYMUGS_")}
    env.update(UGLYMUGS_KEYS_DIR=str(keys_dir), UGLYMUGS_DATABASE=str(config.database_path),
               UGLYMUGS_BACKUP_DIR=str(tmp_path / "backups"),
               CREDENTIALS_DIRECTORY=str(_credentials(tmp_path, DELIVERY_PASSPHRASE)))
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "worker", "--once"], cwd=REPO,
        env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
        check=False)
    assert result.returncode == 0, result.stderr
    assert "Worker ran once" in result.stdout
    assert DELIVERY_PASSPHRASE not in result.stdout + result.stderr
