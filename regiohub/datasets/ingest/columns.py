"""Column names: checking them, turning them into safe keys, and reading units and roles."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from django.utils.translation import gettext as _

from .errors import IngestError

MAX_COLUMNS = 1000
MAX_KEY_LENGTH = 63  # PostgreSQL's identifier limit; DuckDB and Delta are fine with it

_FOLD = str.maketrans({"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d"})
_SYMBOLS = (("€", " eur "), ("%", " pct "), ("°", " "), ("#", " nr "), ("/", " per "))
_UNIT = re.compile(r"[(\[]\s*([^()\[\]]{1,20}?)\s*[)\]]\s*$")

LATITUDE_NAMES = {"lat", "latitude", "breedtegraad", "breedte", "y_wgs84"}
LONGITUDE_NAMES = {"lon", "lng", "long", "longitude", "lengtegraad", "lengte", "x_wgs84"}
# Codes that look like numbers but are names of things: they stay text (NIS, postal code).
CODE_TOKENS = {"nis", "refnis", "nis5", "niscode", "postcode", "postal", "zip", "kbo", "btw"}
ID_TOKENS = {"id", "uuid", "refnis", "nis", "niscode", "nis5"}


def check_column_names(header: list[str], hint: str = "") -> list[str]:
    """The header's names, stripped; refuses empty, duplicate and too many names.

    `hint` is added to the message about empty and duplicate names (a likely fix)."""
    suffix = f" {hint}" if hint else ""
    names = [str(name).strip() if name is not None else "" for name in header]
    if len(names) > MAX_COLUMNS:
        raise IngestError(
            _("The file has %(count)s columns; we accept at most %(maximum)s.")
            % {"count": len(names), "maximum": MAX_COLUMNS}
        )
    empty = [str(position) for position, name in enumerate(names, start=1) if not name]
    if empty:
        raise IngestError(
            _("Column %(positions)s of the header row has no name. Give every column a name.")
            % {"positions": ", ".join(empty)}
            + suffix
        )
    duplicates = [name for name, count in Counter(names).items() if count > 1]
    if duplicates:
        raise IngestError(
            _("The header row has the same column name more than once: %(names)s.")
            % {"names": ", ".join(f"“{name}”" for name in duplicates)}
            + suffix
        )
    return names


def make_keys(names: list[str]) -> list[str]:
    """A safe, unique identifier per column name: `Bedrag (€)` becomes `bedrag_eur`."""
    keys: list[str] = []
    used: set[str] = set()
    for position, name in enumerate(names, start=1):
        base = to_key(name) or f"column_{position}"
        key, number = base, 1
        while key in used:
            number += 1
            suffix = f"_{number}"
            key = base[: MAX_KEY_LENGTH - len(suffix)] + suffix
        used.add(key)
        keys.append(key)
    return keys


def to_key(name: str) -> str:
    text = name.lower().translate(_FOLD)
    for symbol, word in _SYMBOLS:
        text = text.replace(symbol, word)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    key = re.sub(r"[^a-z0-9]+", "_", text).strip("_")
    if key[:1].isdigit():
        key = f"c_{key}"
    return key[:MAX_KEY_LENGTH].rstrip("_")


def guess_unit(name: str) -> str:
    """The unit in brackets at the end of a header: `snelheid [km/h]` gives `km/h`."""
    match = _UNIT.search(name)
    if match:
        return match.group(1)
    if name.rstrip().endswith("%"):
        return "%"
    return ""


def tokens(key: str) -> set[str]:
    return set(key.split("_"))


def is_code_name(key: str) -> bool:
    return bool(tokens(key) & CODE_TOKENS)
