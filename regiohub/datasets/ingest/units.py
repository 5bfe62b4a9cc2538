"""Units written beside the numbers: `€ 1.234,56`, `1.234,56 EUR`, `12 %`, `3,5 km`.

A column whose values all carry the same known unit (or none) is a number column; the
unit becomes the column's unit and the numbers are loaded without it. Only known units
count, so `3 jan` or `12a` (a house number) never turn into numbers.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

#: Each unit as it is stored, and how it is written in the cells (lower case).
UNITS: dict[str, tuple[str, ...]] = {
    "EUR": ("€", "eur", "euro", "euros"),
    "USD": ("$", "usd"),
    "GBP": ("£", "gbp"),
    "%": ("%", "pct", "procent", "pourcent"),
    "‰": ("‰",),
    "km": ("km",),
    "m": ("m", "meter", "mètre", "metre"),
    "cm": ("cm",),
    "mm": ("mm",),
    "km²": ("km²", "km2"),
    "m²": ("m²", "m2"),
    "ha": ("ha",),
    "m³": ("m³", "m3"),
    "l": ("l", "liter", "litre"),
    "kg": ("kg",),
    "g": ("g",),
    "t": ("t", "ton", "tonne"),
    "kWh": ("kwh",),
    "MWh": ("mwh",),
    "GWh": ("gwh",),
    "kW": ("kw",),
    "MW": ("mw",),
    "km/h": ("km/h", "km/u"),
    "m/s": ("m/s",),
    "°C": ("°c", "° c", "°"),
    "min": ("min",),
    "u": ("u", "uur", "h"),
}
_CANONICAL = {alias: unit for unit, aliases in UNITS.items() for alias in aliases}
_CANONICAL.update({unit.lower(): unit for unit in UNITS})

# A sign, a currency before the number, the number, a unit after it.
_AFFIXES = (
    r"^(?P<sign>[+-]?)\s*(?P<pre>[€$£]|(?i:eur|usd|gbp))?\s*"
    r"(?P<number>[+-]?\d[\d.,\x{00a0}\x{202f} ]*?)\s*"
    r"(?P<post>[^\d\s+,.-][^\d]{0,9}?[23]?)?\s*$"
)
CURRENCY_OR_UNIT = r"[€$£%‰]|\d\s*[A-Za-z°]|^[A-Za-z]{1,3}\s*\d"


def canonical(unit: str) -> str:
    """The stored spelling of a unit written as `unit` (`€` gives `EUR`), else ""."""
    return _CANONICAL.get(unit.strip().lower(), "")


def same_unit(first: str, second: str) -> bool:
    if not first or not second:
        return False
    if first.strip().lower() == second.strip().lower():
        return True
    return bool(canonical(first)) and canonical(first) == canonical(second)


def split_units(sample: pa.Array) -> tuple[str, pa.Array]:
    """(the unit, the numbers without it) when every value of `sample` is a number with
    the same known unit or without one, and at least one has a unit; else ("", sample)."""
    if len(sample) == 0 or not pc.any(pc.match_substring_regex(sample, r"\d")).as_py():
        return "", sample
    parts = pc.extract_regex(sample, _AFFIXES)
    if parts.null_count:
        return "", sample
    written = pc.binary_join_element_wise(
        pc.struct_field(parts, "pre"), pc.struct_field(parts, "post"), ""
    )
    found = {text.strip().lower() for text in pc.unique(written).to_pylist() if text.strip()}
    units = {_CANONICAL.get(text) for text in found}
    if not found or None in units or len(units) != 1:
        return "", sample
    numbers = pc.binary_join_element_wise(
        pc.struct_field(parts, "sign"),
        pc.utf8_trim_whitespace(pc.struct_field(parts, "number")),
        "",
    )
    return units.pop(), numbers


def strip_unit(values, unit: str):
    """`values` with `unit` (in any of its spellings) taken off before or after the number."""
    aliases = set(UNITS.get(canonical(unit), ())) | {unit.strip().lower()}
    alternatives = "|".join(re.escape(alias) for alias in sorted(aliases, key=len, reverse=True))
    values = pc.replace_substring_regex(values, rf"(?i)^\s*([+-]?)\s*(?:{alternatives})\s*", r"\1")
    return pc.replace_substring_regex(values, rf"(?i)\s*(?:{alternatives})\s*$", "")


def shown_unit(name: str, unit: str) -> str:
    """The unit to show after a column's name: "" when the name already says it
    (`Bedrag (EUR)` with EUR, `Bedrag (€)` with EUR)."""
    if not unit:
        return ""
    lower = name.lower()
    spellings = {unit.lower()} | set(UNITS.get(canonical(unit), ()))
    for spelling in spellings:
        if re.search(rf"(?:^|[\s(\[]){re.escape(spelling)}(?:$|[\s)\]])", lower):
            return ""
    return unit
