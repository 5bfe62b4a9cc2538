"""Where the table is on a sheet: title rows above the header, header rows to join,
merged cells to fill, empty columns to leave out.

The same rules for Excel and CSV, on the first rows of the file as text:

* The header is the first row that names (nearly) every column the rows below it use: at
  least two thirds of them, and more than one cell when the table has more than one
  column. A title, a subtitle or a "Bron: Statbel" line above it names one or two cells
  and is skipped. The steward can say "the header is on row N" instead.
* Header rows are joined ("2025" over "Jan" gives "2025 Jan") when one row alone leaves
  columns without a name or with the same name: a row below it that fills in only those
  columns, or a row right above it that labels groups of its columns. A merged header cell
  gives its name to each column below it; so does a group label followed by empty cells.
* Merged cells below the header (Excel): a label, code or date merged over several rows is
  filled down, so every row has it; a number merged over rows (not a year or a code) stays
  in its first row only, so it is not counted twice.
* Columns without a name and without a value are left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from openpyxl.utils import get_column_letter

from .columns import check_column_names, to_key, tokens
from .errors import IngestError
from .types import ReadNote
from .units import canonical

#: Rows searched for the header.
HEADER_SEARCH_ROWS = 50
#: Rows below a candidate that show which columns the table uses.
_LOOK_AHEAD = 20
MAX_HEADER_ROWS = 4
_GROUP_LABEL_LENGTH = 20

_NUMBER_LIKE = re.compile(r"^[+-]?[\d.,\s\u00a0\u202f]*\d[\d.,\s\u00a0\u202f]*$")
_YEAR = re.compile(r"^(?:1[89]|20|21)\d\d$")
_IN_BRACKETS = re.compile(r"^[(\[][^()\[\]]{1,20}[)\]]$")
_REF = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?$")
#: Column names that say a column holds keys or periods: merged numbers there fill down.
KEY_WORDS = {
    "jaar", "year", "annee", "an", "maand", "month", "mois", "kwartaal", "quarter",
    "trimestre", "periode", "period", "week", "semaine", "dag", "day", "jour", "datum",
    "date", "code", "nis", "refnis", "niscode", "id", "nr", "nummer", "numero", "number",
    "postcode", "zip",
}  # fmt: skip


def header_hint() -> str:
    return _("Is there a title above the header? Choose the row the header is on.")


@dataclass(frozen=True)
class Merge:
    """A merged range: rows as numbered in the file, columns counted from 0."""

    top: int
    left: int
    bottom: int
    right: int

    @classmethod
    def parse(cls, ref: str) -> Merge | None:
        match = _REF.match(ref.strip().upper())
        if not match:
            return None
        first_col, first_row, last_col, last_row = match.groups()
        left = _column_index(first_col)
        right = _column_index(last_col) if last_col else left
        top = int(first_row)
        bottom = int(last_row) if last_row else top
        return cls(min(top, bottom), min(left, right), max(top, bottom), max(left, right))

    @property
    def ref(self) -> str:
        first = f"{get_column_letter(self.left + 1)}{self.top}"
        last = f"{get_column_letter(self.right + 1)}{self.bottom}"
        return first if first == last else f"{first}:{last}"


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1


@dataclass
class Sheet:
    """The non-empty rows of a sheet, each with its number as in the file.

    `kinds` (Excel) says per cell what Excel held, a letter per cell: "n" a number, "d" a
    date, "b" yes/no, "s" text, " " nothing; CSV cells are all text.
    """

    rows: list[tuple[int, list[str | None]]]
    kinds: list[str] | None = None
    merges: list[Merge] = field(default_factory=list)
    letters: bool = False  # name columns by letter (Excel) or by position (CSV)

    def kind(self, index: int, position: int) -> str:
        cells = self.rows[index][1]
        if position >= len(cells) or cells[position] is None:
            return ""
        if self.kinds is None:
            return "s"
        return self.kinds[index][position].strip()

    def column_name(self, position: int) -> str:
        return get_column_letter(position + 1) if self.letters else str(position + 1)


@dataclass
class Header:
    first: int  # index in Sheet.rows of the first header row
    count: int  # how many rows make the header
    names: list[str]  # per position, "" where a column has no name
    numbers: tuple[int, ...]  # the header rows as numbered in the file
    notes: list[ReadNote]

    @property
    def last(self) -> int:
        return self.first + self.count - 1


def find_header(sheet: Sheet, chosen: int = 0) -> Header:
    """The header of `sheet`: found, or on row `chosen` (as numbered in the file)."""
    rows = sheet.rows
    if chosen:
        found = [index for index, (number, _cells) in enumerate(rows) if number == chosen]
        if not found:
            raise IngestError(
                _(
                    "Row %(row)s is empty, or the file does not have it. "
                    "Choose the row the header is on."
                )
                % {"row": chosen}
            )
        block = [found[0]]
    else:
        block = [_find_top(sheet)]
        if block[0] > 0 and _labels_groups(sheet, block[0] - 1, block[0]):
            block.insert(0, block[0] - 1)
    while len(block) < MAX_HEADER_ROWS and _continues(sheet, block, block[-1] + 1):
        block.append(block[-1] + 1)
    units = block[-1] + 1 if _units_row(sheet, block, block[-1] + 1) else None
    if units is not None:  # "km/h" under "Snelheid": "Snelheid (km/h)"
        block.append(units)
    names, merged = _names(sheet, block, units)
    numbers = tuple(rows[index][0] for index in block)
    notes = []
    if block[0] > 0:
        above = [number for number, _cells in rows[: block[0]]]
        notes.append(ReadNote("title_rows", _span(above), str(numbers[0])))
    if len(block) > 1:
        example = next((name for name in names if " " in name), names[0] if names else "")
        notes.append(ReadNote("header_joined", _span(list(numbers)), example))
    if merged:
        notes.append(ReadNote("merged_header", _refs(merged)))
    return Header(block[0], len(block), names, numbers, notes)


def _find_top(sheet: Sheet) -> int:
    rows = sheet.rows
    for index in range(min(len(rows), HEADER_SEARCH_ROWS)):
        ahead: set[int] = set()
        for later in range(index + 1, min(len(rows), index + 1 + _LOOK_AHEAD)):
            ahead |= _covered(sheet, later)
        if not ahead:
            break
        own = _values(sheet, index)
        if (len(own) < 2 and len(ahead) >= 2) or not _names_things(sheet, index):
            continue
        if 3 * len(_covered(sheet, index) & ahead) >= 2 * len(ahead):
            return index
    # No row below to compare with (a header without rows): the widest row of names.
    searched = [i for i in range(min(len(rows), HEADER_SEARCH_ROWS)) if _names_things(sheet, i)]
    return max(searched, key=lambda index: (len(_covered(sheet, index)), -index), default=0)


def _names_things(sheet: Sheet, index: int) -> bool:
    """Could the row be a header: are at least half of its cells names, not data?"""
    own = _values(sheet, index)
    return 2 * sum(_header_like(sheet, index, position) for position in own) >= len(own)


def _values(sheet: Sheet, index: int) -> set[int]:
    return {position for position, value in enumerate(sheet.rows[index][1]) if value is not None}


def _covered(sheet: Sheet, index: int) -> set[int]:
    """The positions a row has a value in, or that a merged cell covers in it."""
    number = sheet.rows[index][0]
    covered = _values(sheet, index)
    for merge in sheet.merges:
        if merge.top <= number <= merge.bottom:
            covered.update(range(merge.left, merge.right + 1))
    return covered


def _filled(sheet: Sheet, index: int) -> tuple[list[str | None], set[int], list[Merge]]:
    """A header row's cells with merged cells filled in (across and down), the positions
    filled that way, and the merges that spread a name across columns."""
    number, cells = sheet.rows[index]
    cells = list(cells)
    filled: set[int] = set()
    across = []
    by_number = {row_number: cells for row_number, cells in sheet.rows}
    for merge in sheet.merges:
        if not merge.top <= number <= merge.bottom:
            continue
        source = by_number.get(merge.top, [])
        value = source[merge.left] if merge.left < len(source) else None
        if value is None:
            continue
        if merge.right > merge.left and merge.top == number:
            across.append(merge)
        for position in range(merge.left, merge.right + 1):
            if position == merge.left and number == merge.top:
                continue
            while len(cells) <= position:
                cells.append(None)
            cells[position] = value
            filled.add(position)
    return cells, filled, across


def _spread(cells: list[str | None], used: set[int]) -> set[int]:
    """Fill empty cells right of a group label ("2025", empty, empty over "Jan", "Feb",
    "Mar") where the row below has a value; returns the positions filled."""
    spread = set()
    label = None
    for position in range(max(len(cells), max(used, default=-1) + 1)):
        value = cells[position] if position < len(cells) else None
        if value is not None and position not in spread:
            label = value
            continue
        if label is not None and position in used:
            while len(cells) <= position:
                cells.append(None)
            cells[position] = label
            spread.add(position)
        elif position not in used:
            label = None
    return spread


def _header_like(sheet: Sheet, index: int, position: int) -> bool:
    kind = sheet.kind(index, position)
    value = sheet.rows[index][1][position]
    if kind in ("d", "b"):
        return False
    if kind == "n" or (value is not None and _NUMBER_LIKE.match(value)):
        return bool(value is not None and _YEAR.match(value.strip()))
    return True


def _header_names(
    sheet: Sheet, block: list[int], below_last: set[int] | None = None, units: int | None = None
) -> tuple[list[str], set[int], list[Merge]]:
    """The names the header rows `block` give each position (parts joined, the same part
    twice in a row once), the positions named by a merged cell or a group label (they
    may share a name with their neighbours), and the merges that spread a name across.

    A group label spreads over the empty cells right of it where the next header row (or
    `below_last`, for the last one) has a value. The cells of the row `units` are put in
    brackets."""
    rows = []
    merged: list[Merge] = []
    spread: set[int] = set()
    for order, index in enumerate(block):
        cells, filled, across = _filled(sheet, index)
        if index == units:
            cells = [_bracketed(value) if value is not None else None for value in cells]
        below = _values(sheet, block[order + 1]) if order + 1 < len(block) else below_last
        if order + 1 < len(block) and block[order + 1] == units:
            below = set()
        filled |= _spread(cells, below or set())
        rows.append(cells)
        spread |= filled
        merged.extend(across)
    width = max(len(cells) for cells in rows)
    names = []
    for position in range(width):
        parts: list[str] = []
        for cells in rows:
            value = cells[position] if position < len(cells) else None
            text = " ".join(str(value).split()) if value is not None else ""
            if text and (not parts or parts[-1] != text):
                parts.append(text)
        names.append(" ".join(parts))
    return names, spread, list(dict.fromkeys(merged))


def _bracketed(value: str) -> str:
    text = " ".join(str(value).split())
    return text if text[:1] in "([" else f"({text})"


def _units_row(sheet: Sheet, block: list[int], candidate: int) -> bool:
    """Is row `candidate` a row of units (`km/h`, `(EUR)`) under the header's names?"""
    rows = sheet.rows
    if candidate >= len(rows) - 1 or rows[candidate][0] != rows[block[-1]][0] + 1:
        return False
    own = _values(sheet, candidate)
    if not own or any(sheet.kind(candidate, position) != "s" for position in own):
        return False
    cells = rows[candidate][1]
    if not all(canonical(cells[p]) or _IN_BRACKETS.match(cells[p].strip()) for p in own):
        return False
    names, _spread_positions, _merged = _header_names(sheet, block)
    named = {position for position, name in enumerate(names) if name}
    # Units over every column of a one-row table could be data ("m" for male): a units row
    # has several units, or leaves a label column without one.
    return own <= named and (len(own) >= 2 or len(named) > len(own))


def _names(
    sheet: Sheet, block: list[int], units: int | None = None
) -> tuple[list[str], list[Merge]]:
    names, spread, merged = _header_names(sheet, block, units=units)
    # A name given to several columns by a merged cell: "Adres", "Adres 2".
    seen: dict[str, int] = {}
    for position, name in enumerate(names):
        if not name:
            continue
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1 and position in spread:
            names[position] = f"{name} {seen[name]}"
    return names, merged


def _continues(sheet: Sheet, block: list[int], candidate: int) -> bool:
    """Does row `candidate` complete the header `block`: does it name only columns that
    the header leaves without a name of their own (empty, shared or spread)?"""
    rows = sheet.rows
    if candidate >= len(rows) - 1 or rows[candidate][0] != rows[block[-1]][0] + 1:
        return False  # the last row is data; a header row follows right below
    _cells, filled, _across = _filled(sheet, candidate)
    own = _values(sheet, candidate) - filled
    if not own or not all(_header_like(sheet, candidate, p) for p in own):
        return False
    names, spread, _merged = _header_names(sheet, block, below_last=own)
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    open_positions = {
        position
        for position in range(max(len(names), max(own) + 1))
        if position >= len(names)
        or not names[position]
        or position in spread
        or counts[names[position]] > 1
    }
    return own <= open_positions


def _labels_groups(sheet: Sheet, upper: int, header: int) -> bool:
    """Does row `upper`, right above the header, label groups of its columns (years
    over months) rather than being a title?"""
    rows = sheet.rows
    if rows[upper][0] != rows[header][0] - 1:
        return False
    own = _values(sheet, upper)
    below = _values(sheet, header)
    if not own or not below or min(own) <= min(below):
        return False  # a title starts at the table's first column
    if not all(_header_like(sheet, upper, p) for p in own):
        return False
    before, _spread_before, _merged = _header_names(sheet, [header])
    after, _spread_after, _merged = _header_names(sheet, [upper, header])
    cells, filled, _across = _filled(sheet, upper)
    spread = filled | _spread(cells, below)
    if not spread or not spread <= below:
        return False
    duplicates_before = len(before) - len(set(before))
    duplicates_after = len(after) - len(set(after))
    if duplicates_after < duplicates_before:
        return True
    if duplicates_before or len(spread) < len(own):
        return False
    # Group labels over columns that are named already: several ("Mannen", "Vrouwen"),
    # or one short one ("2025" over "Jan", "Feb", "Mrt"; a title is a sentence).
    cells = sheet.rows[upper][1]
    return len(own) >= 2 or len(str(cells[min(own)])) <= _GROUP_LABEL_LENGTH


def fill_merged_rows(sheet: Sheet, header: Header, native: list[list[float | None]] | None):
    """Fill merged cells below the header, in place; returns the notes."""
    rows = sheet.rows
    last_header = rows[header.last][0]
    by_number = {number: index for index, (number, _cells) in enumerate(rows)}
    down, first_only = [], []
    for merge in sorted(sheet.merges, key=lambda m: (m.left, m.top)):
        if merge.top <= last_header or merge.bottom == merge.top:
            continue
        top = by_number.get(merge.top)
        if top is None:
            continue
        cells = rows[top][1]
        value = cells[merge.left] if merge.left < len(cells) else None
        if value is None:
            continue
        kind = sheet.kind(top, merge.left)
        number = kind == "n" or (kind == "s" and _NUMBER_LIKE.match(value))
        name = header.names[merge.left] if merge.left < len(header.names) else ""
        if number and not tokens(to_key(name)) & KEY_WORDS:
            first_only.append(merge)
            continue
        for row_number in range(merge.top + 1, merge.bottom + 1):
            index = by_number.get(row_number)
            if index is None:
                continue
            target = rows[index][1]
            while len(target) <= merge.left:
                target.append(None)
            if target[merge.left] is not None:
                continue
            target[merge.left] = value
            if sheet.kinds is not None:
                letters = sheet.kinds[index].ljust(merge.left + 1)
                sheet.kinds[index] = letters[: merge.left] + kind + letters[merge.left + 1 :]
            source = native[top] if native is not None else None
            if source is not None and merge.left < len(source) and source[merge.left] is not None:
                numbers = native[index] or []
                numbers.extend([None] * (merge.left + 1 - len(numbers)))
                numbers[merge.left] = source[merge.left]
                native[index] = numbers
        down.append(merge)
    notes = []
    if down:
        notes.append(ReadNote("merged_down", _refs(down)))
    if first_only:
        notes.append(ReadNote("merged_first", _refs(first_only)))
    return notes


def keep_columns(
    sheet: Sheet, header: Header, has_values: list[bool], first_value_row: list[int]
) -> tuple[list[int], list[str], list[ReadNote]]:
    """The positions of the columns to load, their names (checked) and a note about the
    empty columns left out. A column with values but no name is an error."""
    names = header.names + [""] * (len(has_values) - len(header.names))
    positions, kept, empty = [], [], []
    for position, name in enumerate(names):
        values = position < len(has_values) and has_values[position]
        if name:
            positions.append(position)
            kept.append(name)
        elif values:
            raise IngestError(
                _(
                    "Column %(column)s has values (from row %(row)s) but no name in the "
                    "header row. Give every column a name."
                )
                % {"column": sheet.column_name(position), "row": first_value_row[position]}
                + " "
                + header_hint()
            )
        else:
            empty.append(position)
    if not positions:
        raise IngestError(_("The header row has no names.") + " " + header_hint())
    last = positions[-1]
    shown = [sheet.column_name(p) for p in empty if p < last]
    notes = [ReadNote("empty_columns", ", ".join(shown))] if shown else []
    return positions, check_column_names(kept, header_hint()), notes


def _span(numbers: list[int]) -> str:
    if not numbers:
        return ""
    if len(numbers) == 1:
        return str(numbers[0])
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]}–{numbers[-1]}"
    return ", ".join(str(number) for number in numbers)


def _refs(merges: list[Merge], shown: int = 8) -> str:
    refs = [merge.ref for merge in merges]
    text = ", ".join(refs[:shown])
    if len(refs) > shown:
        text += " " + _("and %(count)d more") % {"count": len(refs) - shown}
    return text
