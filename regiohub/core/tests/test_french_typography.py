"""French typography in the French catalogue: a no-break space (U+00A0, or the narrow
U+202F) before ":", ";", "?" and "!" and inside « », so that a line never breaks before
the colon ("Fusionné ici :" with the colon alone on the next line) and none is missing.

Punctuation that is not prose stays as it is: URLs ("https://"), times ("14:00"), code
("%(column)s:day", JSON keys such as "done":).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2]
FRENCH = PACKAGE / "locale" / "fr" / "LC_MESSAGES" / "django.po"

# Punctuation that follows a plain space (or tab) instead of a no-break one.
PLAIN_SPACE = re.compile(r"[ \t]+[:;?!»]|«[ \t]")
# Prose punctuation (followed by a space, the end or a closing mark) glued to the word
# before it. An ASCII quote before it is code (a JSON key), not prose.
# (``\s`` includes U+00A0 and U+202F.)
NO_SPACE = re.compile(r'[^\s"][:;?!](?=\s|$|[»”)\]])|«\S|\S»')


def french_messages() -> list[tuple[int, str, str]]:
    """(line, msgid, msgstr) of each translated form of the active entries."""
    found: list[tuple[int, str, str]] = []
    entry: dict[str, str] = {}
    field, start = "", 0

    def finish() -> None:
        for name, value in entry.items():
            if name.startswith("msgstr") and value and entry.get("msgid"):
                found.append((start, entry["msgid"], value))

    for number, raw in enumerate(FRENCH.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith('"'):
            entry[field] += ast.literal_eval(line)
            continue
        keyword, _, value = line.partition(" ")
        if keyword == "msgctxt" or (keyword == "msgid" and field != "msgctxt"):
            finish()
            entry, start = {}, number
        field = keyword
        entry[field] = ast.literal_eval(value)
    finish()
    return found


def test_the_catalogue_is_read():
    messages = french_messages()
    assert len(messages) > 500
    assert any(msgstr == "citoyen" for _line, _msgid, msgstr in messages)


@pytest.mark.parametrize("problem", ["plain space", "missing space"])
def test_french_punctuation_has_a_no_break_space(problem):
    pattern = PLAIN_SPACE if problem == "plain space" else NO_SPACE
    wrong = [
        f"  line {line}: {msgstr!r}"
        for line, _msgid, msgstr in french_messages()
        if pattern.search(msgstr)
    ]
    assert not wrong, (
        f"French msgstrs with a {problem} before : ; ? ! or inside « » (use U+00A0):\n"
        + "\n".join(wrong)
    )


TEMPLATE_PUNCTUATION = re.compile(
    r"""(\{%\s*(translate|trans)\s+("[^"]*"|'[^']*')[^%]*%\}|\{%\s*endblocktranslate\s*%\})"""
    r"""\s?[:;?!]"""
)


def test_templates_keep_punctuation_inside_the_translation():
    """``{% translate "Merged here" %}:`` puts the colon out of the translator's reach:
    French needs a no-break space before it. The colon belongs in the message."""
    wrong = [
        f"  {path.relative_to(PACKAGE)}: {match.group()!r}"
        for path in sorted(PACKAGE.rglob("templates/**/*"))
        if path.is_file() and path.suffix in (".html", ".txt")
        for match in TEMPLATE_PUNCTUATION.finditer(path.read_text(encoding="utf-8"))
    ]
    assert not wrong, "punctuation after a translated string:\n" + "\n".join(wrong)


@pytest.mark.parametrize(
    ("msgstr", "ok"),
    [
        ("Fusionné ici\u00a0:", True),
        ("Fusionné ici :", False),
        ("Fusionné ici:", False),
        ("Pourquoi\u202f?", True),
        ("la feuille « %(sheet)s »", False),
        ("la feuille «\u00a0%(sheet)s\u00a0»", True),
        ("p. ex. https://gemeente.be, 14:00, %(column)s:day", True),
        ('p. ex. {"done": "resolved"}', True),
    ],
)
def test_the_rules_themselves(msgstr, ok):
    found = [
        match.group() for pattern in (PLAIN_SPACE, NO_SPACE) if (match := pattern.search(msgstr))
    ]
    assert (not found) is ok, found
