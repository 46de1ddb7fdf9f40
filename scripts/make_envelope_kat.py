"""Write the envelope known-answer test vector, tests/data/envelope_kat_v1.json.

Run ONCE; the output is committed and ``test_envelope_kat_v1_still_opens`` must keep
opening it for ever, so that no change to the code silently breaks envelopes already
stored in a database. Seal uses a fresh random data key and nonce, so running this again
would produce a different (equally valid) envelope: the script refuses to overwrite the
vector unless given --force, which should only ever accompany a new format version.

The private keys below are test keys, published here on purpose; never use them.

Usage: .venv/bin/python scripts/make_envelope_kat.py [--force]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crypto.envelope import bind, open_envelope, recipients_of, seal  # noqa: E402
from crypto.keys import BoxPrivateKey  # noqa: E402

OUTPUT = ROOT / "tests" / "data" / "envelope_kat_v1.json"

VETTING_PRIVATE_HEX = "f4ea74d901984bd68c6ca49f667fa4a11bd3402902acf7c13e40099eaa9c2459"
DELIVERY_PRIVATE_HEX = "638d33853c4f8b18958761303e001f941a513acd4709b38f4caa1e07e6fe6053"
BIND_ARGS = {"table": "members", "column": "contact", "row_id": 42, "version": 1}
PAYLOAD = '{"email":"kat@example.org","mobile":"+447700900123","note":"ünïcödé ✓"}'.encode()


def main() -> int:
    """Seal the fixed payload for the two fixed keys and record everything needed to open it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="overwrite an existing vector")
    args = parser.parse_args()
    if OUTPUT.exists() and not args.force:
        print(f"{OUTPUT} exists; refusing to replace a known-answer vector", file=sys.stderr)
        return 1

    vetting = BoxPrivateKey("vetting", bytes.fromhex(VETTING_PRIVATE_HEX))
    delivery = BoxPrivateKey("delivery", bytes.fromhex(DELIVERY_PRIVATE_HEX))
    associated_data = bind(**BIND_ARGS)
    envelope = seal(PAYLOAD, [vetting.public, delivery.public], associated_data)
    for key in (vetting, delivery):
        assert open_envelope(envelope, key, associated_data) == PAYLOAD

    vector = {
        "description": (
            "uglymugs envelope format v1 known-answer test; private keys are public test "
            "keys. Generated once by scripts/make_envelope_kat.py; do not regenerate."
        ),
        "format_version": 1,
        "recipients": [
            {
                "kind": key.kind,
                "private_key_hex": key.raw.hex(),
                "public_key_hex": key.public.raw.hex(),
                "key_id_hex": key.key_id.hex(),
                "fingerprint": key.fingerprint,
            }
            for key in (vetting, delivery)
        ],
        "bind": BIND_ARGS,
        "associated_data_hex": associated_data.hex(),
        "payload_hex": PAYLOAD.hex(),
        "envelope_hex": envelope.hex(),
        "recipient_key_ids_hex": [kid.hex() for kid in recipients_of(envelope)],
    }
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(vector, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
