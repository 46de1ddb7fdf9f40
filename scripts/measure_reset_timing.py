"""How long /reset (and the other pages that take a username) take for a member versus an
unknown username, measured through the real app, interleaved, with real Argon2id.

    PYTHONPATH=. .venv/bin/python scripts/measure_reset_timing.py [--samples 200]
        [--pages reset,reset_code,login]

Makes a throw-away key ceremony and database in a temporary folder, one active member who
chose email alerts, and an unknown username of the same length; then times each page's
POST for the two names in alternation (so load on the machine falls on both alike) and
prints, per page, each name's median, the mean difference (member minus unknown) and its
standard error. The deterministic check is tests/test_same_work.py; this is the figure.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app import create_app  # noqa: E402
from app.web.config import Config  # noqa: E402
from app.web.limits import ResetLimiter, SignInThrottle  # noqa: E402
from app.web.state import state  # noqa: E402
from crypto import keystore  # noqa: E402
from tests.conftest import (  # noqa: E402
    DELIVERY_PASSPHRASE,
    FAST_KDF,
    HOLDER_COUNT,
    holder_file,
    holder_passphrase,
    install_holders,
)
from tests.people import make_member  # noqa: E402

_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
UNLIMITED = 10**9

PAGES = {
    "reset": ("/reset", lambda name: {"username": name}, 200),
    "reset_code": ("/reset/code", lambda name: {"username": name, "code": "00000000",
                                                "new": "a brand new password",
                                                "confirm": "a brand new password"}, 400),
    "login": ("/login", lambda name: {"username": name, "password": "not the password"},
              401),
}


def _app(root: Path):
    from app.vault import db

    keys_dir = root / "keys"
    holder_file(keys_dir, 1).parent.mkdir(parents=True)
    keystore.init_keys(keys_dir, delivery_passphrase=DELIVERY_PASSPHRASE,
                       holders=[keystore.HolderOut(holder_file(keys_dir, n),
                                                   holder_passphrase(n))
                                for n in range(1, HOLDER_COUNT + 1)], **FAST_KDF)
    # Real Argon2id parameters; testing only so that Flask raises instead of logging.
    config = Config(keys_dir=keys_dir, database_path=root / "var" / "uglymugs.db",
                    testing=True, checkpoint_seconds=None)
    database_key = keystore.load_server_keys(keys_dir).database_key
    db.init_database(config.database_path, database_key, config.schema_path)
    install_holders(config, database_key)
    return create_app(config)


def _unlimited(app) -> None:
    st = state(app)
    st.throttle = SignInThrottle(free_failures=UNLIMITED, overall_burst=UNLIMITED,
                                 overall_per_minute=UNLIMITED)
    st.reset_limiter = ResetLimiter(requests_per_account=UNLIMITED,
                                    code_tries_per_account=UNLIMITED, burst=UNLIMITED,
                                    per_minute=UNLIMITED)


def _measure(app, page: str, names: dict[str, str], samples: int) -> dict[str, list[float]]:
    url, form, status = PAGES[page]
    clients = {}
    for label in names:
        client = app.test_client()
        clients[label] = (client, _TOKEN.search(client.get(url).get_data(as_text=True))[1])
    times: dict[str, list[float]] = {label: [] for label in names}
    for i in range(samples * 2 + 10):
        # Alternate which goes first, and throw away the first few as warm-up.
        order = list(names) if i % 2 == 0 else list(reversed(list(names)))
        for label in order:
            client, token = clients[label]
            _unlimited(app)
            data = {"csrf_token": token, **form(names[label])}
            start = time.perf_counter()
            response = client.post(url, data=data)
            elapsed = time.perf_counter() - start
            assert response.status_code == status, (page, label, response.status_code)
            if i >= 10 and len(times[label]) < samples:
                times[label].append(elapsed * 1000)
    return times


def _report(page: str, times: dict[str, list[float]]) -> None:
    member, unknown = times["member"], times["unknown"]
    difference = statistics.fmean(member) - statistics.fmean(unknown)
    error = (statistics.variance(member) / len(member)
             + statistics.variance(unknown) / len(unknown)) ** 0.5
    print(f"{page}: {len(member)} samples each; median member {statistics.median(member):.3f} ms, "
          f"unknown {statistics.median(unknown):.3f} ms; mean difference "
          f"{difference:+.3f} ms, standard error {error:.3f} ms "
          f"({difference / error if error else 0:+.1f} standard errors)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--pages", default="reset",
                        help="comma-separated: " + ", ".join(PAGES))
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="measure-reset-") as folder:
        app = _app(Path(folder))
        member = make_member(app, alert_channel="email", email="timed.member@example.org")
        names = {"member": member.username, "unknown": member.username[::-1]}
        for page in arguments.pages.split(","):
            _report(page, _measure(app, page.strip(), names, arguments.samples))
        state(app).shutdown()


if __name__ == "__main__":
    main()
