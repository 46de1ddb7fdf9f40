"""The package build compiles the catalogues: setup.cfg holds everything else.

translations/LOCALE/LC_MESSAGES/messages.po sit at the top of the checkout, outside any
package. A build (a wheel, or `pip install`) compiles each to messages.mo beside it, for a
checkout, and ships the compiled catalogues as app/translations/ package data, which
Config.translations_path falls back to when there is no checkout (app/web/config.py).
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
TRANSLATIONS = ROOT / "translations"


def compile_catalogues() -> list[Path]:
    """Compile each messages.po beside itself; fuzzy entries are left out, as pybabel does."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    compiled = []
    for po in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")):
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parts[-3])
        mo = po.with_suffix(".mo")
        with mo.open("wb") as target:
            write_mo(target, catalog, use_fuzzy=False)
        compiled.append(mo)
    return compiled


class BuildWithCatalogues(build_py):
    def run(self) -> None:
        super().run()
        for mo in compile_catalogues():
            target = Path(self.build_lib) / "app" / "translations" / mo.relative_to(TRANSLATIONS)
            self.mkpath(str(target.parent))
            self.copy_file(str(mo), str(target))


setup(cmdclass={"build_py": BuildWithCatalogues})
