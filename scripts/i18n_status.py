"""Which strings still need translating: extract from the code, compare every catalogue.

Run after merging a branch that added or changed text (README, "Languages"):

    .venv/bin/python scripts/i18n_status.py            # report only; changes nothing
    .venv/bin/python scripts/i18n_status.py --update   # re-extract, pybabel update, report
    .venv/bin/python scripts/i18n_status.py --list ro  # every entry ro still needs

`--update` writes translations/messages.pot (git-ignored) and runs `pybabel update`, which
adds new strings untranslated, marks changed ones fuzzy (keeping the old English as
`#| msgid`, so a translator sees what changed) and keeps removed ones as obsolete (`#~`).
A fuzzy entry is never shown to anyone until a translator confirms it and removes the
flag. The exit status is 1 while any catalogue has an entry that needs work, so the
integrator can run this in a loop while translating. tests/test_languages.py holds the
same rules.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.common.languages import CODES, SOURCE  # noqa: E402

TRANSLATIONS = ROOT / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
PYBABEL = Path(sys.executable).parent / "pybabel"
# _l and lazy_gettext are not among pybabel's default keywords; N_ (notices) is.
KEYWORDS = ["-k", "_l", "-k", "lazy_gettext", "-k", "lazy_ngettext:1,2"]
# str.format fields ({code}) as well as %(name)s: Babel's checker sees only the second.
_BRACES = re.compile(r"(?<!\{)\{([a-z_][a-z0-9_]*)\}(?!\})")
_PERCENT = re.compile(r"%\((\w+)\)[sd]|%[sd]")


def extract(output: Path) -> Catalog:
    """Every translatable string in app/ (Python and templates), as a template catalogue."""
    subprocess.run(  # noqa: S603 (a fixed command: the venv's own pybabel)
        [str(PYBABEL), "-q", "extract", "-F", str(ROOT / "babel.cfg"), *KEYWORDS,
         "--add-comments=Translators:", "--project=uglymugs", "--sort-by-file",
         "-o", str(output), "."],
        check=True, cwd=ROOT)
    with output.open("rb") as source:
        return read_po(source)


def catalogues() -> dict[str, Path]:
    return {po.parts[-3]: po for po in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))}


def read_catalogue(path: Path) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=path.parts[-3])


def placeholders(text: str) -> list[str]:
    return sorted(_BRACES.findall(text) + [m.group(0) for m in _PERCENT.finditer(text)])


@dataclass(frozen=True)
class Problem:
    locale: str
    kind: str  # missing, untranslated, fuzzy, placeholders, check
    msgid: str
    where: str
    detail: str = ""

    def line(self) -> str:
        extra = f" ({self.detail})" if self.detail else ""
        return f"{self.locale}\t{self.kind}\t{self.where}\t{self.msgid!r}{extra}"


def _ids(message: Message) -> tuple[str, ...]:
    return message.id if isinstance(message.id, tuple) else (message.id,)


def _strings(message: Message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def problems(locale: str, catalog: Catalog, template: Catalog | None) -> Iterator[Problem]:
    """Everything in one catalogue that keeps a page or a notice from being fully translated."""
    if template is not None:
        for wanted in template:
            if wanted.id and wanted.id not in catalog:
                yield Problem(locale, "missing", _ids(wanted)[0], _where(wanted))
    for message in catalog:
        if not message.id:
            continue
        first, where = _ids(message)[0], _where(message)
        if message.fuzzy:
            yield Problem(locale, "fuzzy", first, where)
        if not all(_strings(message)):
            yield Problem(locale, "untranslated", first, where)
            continue
        source = placeholders(" ".join(_ids(message)[-1:]))
        for form in _strings(message):
            if placeholders(form) != source:
                yield Problem(locale, "placeholders", first, where,
                              f"{placeholders(form)} instead of {source}")
        for error in message.check(catalog):
            yield Problem(locale, "check", first, where, str(error))


def _where(message: Message) -> str:
    return ", ".join(f"{path}:{line}" for path, line in message.locations[:2]) or "-"


def update(template_path: Path) -> None:
    """pybabel update every catalogue; a language listed but without one gets a new one."""
    for code in CODES:
        if code != SOURCE and not (TRANSLATIONS / code / "LC_MESSAGES" / "messages.po").exists():
            subprocess.run(  # noqa: S603 (a fixed command: the venv's own pybabel)
                [str(PYBABEL), "-q", "init", "-i", str(template_path), "-d", str(TRANSLATIONS),
                 "-l", code], check=True, cwd=ROOT)
    subprocess.run(  # noqa: S603 (a fixed command: the venv's own pybabel)
        [str(PYBABEL), "-q", "update", "-i", str(template_path), "-d", str(TRANSLATIONS),
         "--previous"], check=True, cwd=ROOT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--update", action="store_true",
                        help="write translations/messages.pot and pybabel-update every catalogue")
    parser.add_argument("--list", metavar="LOCALE",
                        help="print each entry that needs work in LOCALE (or 'all')")
    args = parser.parse_args(argv)
    if args.update:
        template = extract(TEMPLATE)
        update(TEMPLATE)
    else:
        with tempfile.TemporaryDirectory() as folder:
            template = extract(Path(folder) / "messages.pot")
    total = sum(1 for message in template if message.id)
    print(f"{total} strings in the code.")
    needing_work = 0
    for locale, path in catalogues().items():
        found = list(problems(locale, read_catalogue(path), template))
        needing_work += len(found)
        counts = {kind: sum(1 for p in found if p.kind == kind)
                  for kind in ("missing", "untranslated", "fuzzy", "placeholders", "check")}
        summary = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n) or "complete"
        print(f"{locale:8} {summary}")
        if args.list in (locale, "all"):
            for problem in found:
                print("    " + problem.line())
    return 1 if needing_work else 0


if __name__ == "__main__":
    sys.exit(main())
