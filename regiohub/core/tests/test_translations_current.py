"""The translation catalogues are current: every message the code marks for translation is
in the committed Dutch catalogue (docs/decisions/0008-english-msgids-dutch-default.md).

``makemessages`` runs on a copy of the package, so the real catalogues are never touched.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from django.core.management import call_command

PACKAGE = Path(__file__).resolve().parents[2]
CATALOGUE = Path("locale") / "nl" / "LC_MESSAGES" / "django.po"


def messages(po: Path) -> set[tuple[str | None, str]]:
    """The (msgctxt, msgid) pairs of the active entries of a .po file: without the header,
    comments, flags, plural forms and obsolete (``#~``) entries. Strings are compared as
    written (still escaped): both files come from the same gettext tools."""
    entries: list[dict[str, str]] = []
    current: dict[str, str] = {}
    field = ""
    for raw in po.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith('"'):
            if field:
                current[field] += line[1:-1]
            continue
        keyword, _, value = line.partition(" ")
        if keyword == "msgctxt" or (keyword == "msgid" and "msgid" in current):
            entries.append(current)
            current = {}
        field = keyword
        current[field] = value.strip()[1:-1]
    entries.append(current)
    return {(entry.get("msgctxt"), entry["msgid"]) for entry in entries if entry.get("msgid")}


def test_translations_are_current(tmp_path, settings, monkeypatch):
    committed_po = PACKAGE / CATALOGUE
    committed_bytes = committed_po.read_bytes()
    copy = tmp_path / PACKAGE.name
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    settings.LOCALE_PATHS = [copy / "locale"]
    monkeypatch.chdir(copy)

    call_command("makemessages", locale=["nl"], verbosity=0)

    assert committed_po.read_bytes() == committed_bytes, "makemessages touched the real files"
    missing = messages(copy / CATALOGUE) - messages(committed_po)
    listing = "\n".join(
        f"  {msgid!r}" + (f" (context {ctxt!r})" if ctxt is not None else "")
        for ctxt, msgid in sorted(missing, key=lambda pair: (pair[1], pair[0] or ""))
    )
    assert not missing, f"translations are out of date: run makemessages and translate\n{listing}"
