"""Checks of an .xlsx file's XML that openpyxl does not make.

* A document type declaration (``<!DOCTYPE``, with ``<!ENTITY`` definitions) in any XML
  part is refused before openpyxl reads the file: Excel and LibreOffice never write one,
  and entities are how "billion laughs" and external-entity attacks are built.
* A formula cell without a stored (cached) value: a workbook written by a program that
  does not calculate (a script, some exports) has only the formula (``<v/>`` or no ``<v>``),
  and reading it for its values would give an empty cell without a word. Those cells are
  named instead. A text result stored empty (``t="str"`` with ``<v></v>``) is a value.

Both read the XML with expat, streaming, and never expand or fetch anything. The merged
ranges of a sheet, which openpyxl's read-only mode does not give, are read here too, by
scanning the sheet's XML as bytes.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path
from xml.parsers import expat

from django.utils.translation import gettext as _

from .errors import IngestError

_CHUNK = 64 * 1024
#: XML parts of a workbook (the rest are images, printer settings, VBA, ...).
_XML_SUFFIXES = (".xml", ".rels", ".vml")
#: A formula element (``<f>``, ``<f t="shared" .../>``, also with a namespace prefix).
_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s/>]")
#: Cells named in the message, at most.
SHOWN_CELLS = 10


class _RootReached(Exception):
    pass


class _Doctype(Exception):
    pass


def check_xml_parts(path: Path) -> None:
    """Refuse an .xlsx with a document type declaration or entity in any XML part."""
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.is_dir() or not info.filename.lower().endswith(_XML_SUFFIXES):
                    continue
                with archive.open(info) as part:
                    _check_prologue(part, info.filename)
    except (zipfile.BadZipFile, EOFError, zlib.error):
        raise IngestError(_("This file is not a valid Excel (.xlsx) file.")) from None


def _check_prologue(part, name: str) -> None:
    """Parse ``part`` up to its root element: a DOCTYPE can only come before it."""
    parser = expat.ParserCreate()

    def doctype(*_args: object) -> None:
        raise _Doctype

    def root(*_args: object) -> None:
        raise _RootReached

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    parser.StartElementHandler = root
    try:
        while chunk := part.read(_CHUNK):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except _RootReached:
        return
    except _Doctype:
        raise IngestError(
            _(
                "This Excel file contains a document type declaration (DOCTYPE or ENTITY) in "
                "“%(part)s”. Excel never writes one and we do not read such files; open the "
                "file in Excel or LibreOffice and save it again."
            )
            % {"part": name[:100]}
        ) from None
    except expat.ExpatError:
        raise IngestError(
            _("This file is not a valid Excel (.xlsx) file: “%(part)s” is damaged.")
            % {"part": name[:100]}
        ) from None


def formulas_without_value(path: Path, sheet_part: str) -> tuple[list[str], int]:
    """The cells (``B7``) of one sheet that hold a formula but no stored value: the first
    :data:`SHOWN_CELLS` of them and how many there are."""
    part_name = sheet_part.lstrip("/")
    with zipfile.ZipFile(path) as archive:
        with archive.open(part_name) as part:
            if not _has_formula(part):
                return [], 0
        with archive.open(part_name) as part:
            return _scan_cells(part)


def _has_formula(part) -> bool:
    tail = b""
    while chunk := part.read(1024 * 1024):
        if _FORMULA_TAG.search(tail + chunk):
            return True
        tail = chunk[-64:]
    return False


def _scan_cells(part) -> tuple[list[str], int]:
    found: list[str] = []
    count = 0
    cell: dict[str, object] = {}

    def local(name: str) -> str:
        return name.rsplit(":", 1)[-1]

    def start(name: str, attrs: dict[str, str]) -> None:
        tag = local(name)
        if tag == "c":
            cell.clear()
            cell["r"] = attrs.get("r", "?")
            # A text result may be stored empty (<v></v>); a number may not.
            cell["text"] = attrs.get("t", "n") in ("str", "s", "inlineStr")
        elif tag == "f" and cell:
            cell["f"] = True
        elif tag == "v" and cell:
            cell["in_v"] = True
            cell["v"] = bool(cell["text"])

    def text(data: str) -> None:
        if cell.get("in_v") and data.strip():
            cell["v"] = True

    def end(name: str) -> None:
        nonlocal count
        tag = local(name)
        if tag == "v":
            cell.pop("in_v", None)
        elif tag == "c" and cell:
            if cell.get("f") and not cell.get("v"):
                count += 1
                if len(found) < SHOWN_CELLS:
                    found.append(str(cell["r"]))
            cell.clear()

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.buffer_text = True
    try:
        while chunk := part.read(_CHUNK):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError:
        raise IngestError(_("This file is not a valid Excel (.xlsx) file.")) from None
    return found, count


#: A merged range (``<mergeCell ref="B4:B9"/>``, also with a namespace prefix).
_MERGE_TAG = re.compile(
    rb"""<(?:[A-Za-z_][\w.-]*:)?mergeCell\s[^>]*?\bref\s*=\s*["']([A-Za-z$]+\d+(?::[A-Za-z$]+\d+)?)["']"""
)


def merged_ranges(path: Path, sheet_part: str) -> list[str]:
    """The merged ranges of one sheet (``B4:B9``), in file order.

    openpyxl does not give them in read-only mode; they follow the cells in the sheet's
    XML, so the part is scanned as bytes, streaming."""
    part_name = sheet_part.lstrip("/")
    found: dict[str, None] = {}
    tail = b""
    with zipfile.ZipFile(path) as archive, archive.open(part_name) as part:
        while chunk := part.read(1024 * 1024):
            for match in _MERGE_TAG.finditer(tail + chunk):
                found[match.group(1).decode("ascii")] = None
            tail = chunk[-200:]
    return list(found)
