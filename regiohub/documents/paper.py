"""The paper channel: letters for citizens and companies without an eBox go to the print
partner in a daily batch per partner (docs/research/issue-21-ebox.md §5 and §6.6).

A batch is a folder on disk, the canonical artefact::

    <paper root>/<partnerId>/<YYYY-MM-DD>/<batchId>/
      manifest.json                     what is in it, with the SHA-256 of every file
      letters/<letterId>/cover.pdf      address/cover sheet, generated here, printed first
      letters/<letterId>/doc-N.pdf      the sealed PDFs, byte for byte as they were sealed

It is written as ``<batchId>.tmp/``, every file fsynced, then renamed to ``<batchId>/``:
the rename is the commit point, so a crash leaves either a whole batch or a ``.tmp`` that
the next build throws away. A sealed PDF is never rewritten (that would break its seal):
the address goes on a separate cover sheet whose address block sits behind the window of
a C5/6 envelope. No national register number is written anywhere in a batch: the print
partner needs the address, not the person's number.

:class:`PartnerClient` hands a batch to the partner over HTTP (``POST /batches``, the batch
id as ``Idempotency-Key``, so a retry after a lost answer is recognised: ``409``) and reads
what the partner reports back per letter (accepted, printed, posted, delivered, returned).
It tries once; the task that calls it retries with backoff, on :class:`RetryableError` only.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import os
import re
import shutil
import textwrap
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import requests
from django.utils import formats, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from regiohub.core.identifiers import IdentifierError, enterprise_number, national_number
from regiohub.documents.pdfs import MAX_BYTES, MAX_FILES

FORMAT_VERSION = "1.0"
#: bpost: at most 6 address lines of at most 50 characters (7 lines abroad: the country).
MAX_ADDRESS_LINES = 6
MAX_ADDRESS_LINES_ABROAD = 7
MAX_LINE = 50
MAX_REFERENCE = 80
LANGUAGES = ("nl", "fr", "de", "en")
PRIORITIES = ("prior", "non-prior")
#: Where a reader can check an electronic seal when the letter does not say otherwise:
#: the European Commission's DSS validation service.
SEAL_CHECK_URL = "https://ec.europa.eu/digital-building-blocks/DSS/webapp-demo/validation"

_BELGIAN_LAST_LINE = re.compile(r"^(?P<postcode>\d{4})\s+(?P<municipality>\S.*)$")
_POSTCODE_ONLY = re.compile(r"^\d{4}$")
_PARTNER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]{0,39}$")
_LETTER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_NIS = re.compile(r"^\d{5}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Eleven digits in the spellings of a national register number (``85071512397``,
#: ``85.07.15-123.97``); only those with a valid check are refused.
_ELEVEN_DIGITS = re.compile(r"(?<![\d.])\d{2}[. ]?\d{2}[. ]?\d{2}[-. ]?\d{3}[. ]?\d{2}(?!\d)")

# --- The letter -------------------------------------------------------------------------


@dataclass(frozen=True)
class PaperLetter:
    """One letter for the print partner: its sealed PDFs and where it goes.

    ``address_lines`` is the recipient's block as bpost wants it (name, street and number,
    postcode and municipality last; for a letter abroad the country last); the person's
    national register number is not part of a paper letter.
    """

    letter_id: str
    idempotency_key: str
    reference: str
    dated: date
    address_lines: Sequence[str]
    return_address_lines: Sequence[str]
    #: The sealed PDFs, in the order they are printed; never rewritten.
    documents: Sequence[bytes]
    language: str = "nl"
    country_code: str = "BE"
    registered: bool = False
    acknowledgement_of_receipt: bool = False
    duplex: bool = True
    priority: str = "non-prior"
    seal_check_url: str = SEAL_CHECK_URL


class PaperProblem(ValueError):
    """Why a letter or a batch cannot go to the print partner, in words for staff."""

    def __init__(self, message: str, *, letter_id: str = "") -> None:
        super().__init__(f"{letter_id}: {message}" if letter_id else message)
        self.message = message
        self.letter_id = letter_id


class AddressProblem(PaperProblem):
    """An address block bpost would not take; ``line`` is the 1-based line at fault
    (``None`` for the block as a whole)."""

    def __init__(self, message: str, *, line: int | None = None, letter_id: str = "") -> None:
        super().__init__(message, letter_id=letter_id)
        self.line = line


class BatchConflict(PaperProblem):
    """A batch with this id exists already and holds other letters: a committed batch is
    never rewritten (it may be at the print partner); the next sequence number is free."""


def check_address(
    lines: Iterable[str], *, country_code: str = "BE", what: str | None = None
) -> tuple[str, ...]:
    """``lines`` as an address block bpost takes (each line stripped), or
    :class:`AddressProblem` naming the line at fault.

    At most 6 lines (7 abroad, the last being the country), none empty or over 50
    characters; in Belgium the last line is the postcode and the municipality.
    """
    label = what or _("The address")
    block = tuple(str(line).strip() for line in lines)
    abroad = country_code.upper() != "BE"
    limit = MAX_ADDRESS_LINES_ABROAD if abroad else MAX_ADDRESS_LINES
    if len(block) < 2:
        raise AddressProblem(
            _("%(what)s needs at least a name and a line with the postcode and municipality.")
            % {"what": label}
        )
    if len(block) > limit:
        raise AddressProblem(
            _("%(what)s has %(count)d lines; bpost takes at most %(limit)d.")
            % {"what": label, "count": len(block), "limit": limit}
        )
    for number, line in enumerate(block, start=1):
        if not line:
            raise AddressProblem(
                _("%(what)s: line %(number)d is empty.") % {"what": label, "number": number},
                line=number,
            )
        if _CONTROL.search(line):
            raise AddressProblem(
                _("%(what)s: line %(number)d holds a line break or a control character.")
                % {"what": label, "number": number},
                line=number,
            )
        if len(line) > MAX_LINE:
            raise AddressProblem(
                _(
                    "%(what)s: line %(number)d has %(count)d characters; bpost takes at most "
                    "%(limit)d: “%(line)s”."
                )
                % {
                    "what": label,
                    "number": number,
                    "count": len(line),
                    "limit": MAX_LINE,
                    "line": line,
                },
                line=number,
            )
    if not abroad:
        last = len(block)
        if _POSTCODE_ONLY.match(block[-1]):
            raise AddressProblem(
                _("%(what)s: line %(number)d has a postcode but no municipality.")
                % {"what": label, "number": last},
                line=last,
            )
        if not _BELGIAN_LAST_LINE.match(block[-1]):
            raise AddressProblem(
                _(
                    "%(what)s: the last line (%(number)d) must be the postcode and the "
                    "municipality, such as “8500 Kortrijk”; it is “%(line)s”."
                )
                % {"what": label, "number": last, "line": block[-1]},
                line=last,
            )
    return block


def check_letter(letter: PaperLetter) -> None:
    """:class:`PaperProblem` (or :class:`AddressProblem`) when ``letter`` cannot be put in
    a batch: an identifier that cannot be a folder name, no or too many PDFs, an address
    bpost would not take, or a national register number in a field the partner sees."""
    lid = letter.letter_id
    if not _LETTER_ID.match(lid or ""):
        raise PaperProblem(
            _(
                "A letter id is 1 to 64 letters, digits, “-” or “_”, starting with a letter "
                "or digit; “%(id)s” is not."
            )
            % {"id": lid}
        )
    if not letter.idempotency_key or _CONTROL.search(letter.idempotency_key):
        raise PaperProblem(_("The letter has no usable idempotency key."), letter_id=lid)
    if len(letter.reference) > MAX_REFERENCE or _CONTROL.search(letter.reference):
        raise PaperProblem(
            _("The reference is one line of at most %(limit)d characters.")
            % {"limit": MAX_REFERENCE},
            letter_id=lid,
        )
    if letter.language not in LANGUAGES:
        raise PaperProblem(
            _("The language is one of %(languages)s, not “%(language)s”.")
            % {"languages": ", ".join(LANGUAGES), "language": letter.language},
            letter_id=lid,
        )
    if letter.priority not in PRIORITIES:
        raise PaperProblem(
            _("The priority is “prior” or “non-prior”, not “%(priority)s”.")
            % {"priority": letter.priority},
            letter_id=lid,
        )
    if not re.fullmatch(r"[A-Z]{2}", letter.country_code):
        raise PaperProblem(
            _("The country code has two capital letters (“BE”), not “%(code)s”.")
            % {"code": letter.country_code},
            letter_id=lid,
        )
    if not letter.documents:
        raise PaperProblem(_("A letter has at least one PDF."), letter_id=lid)
    if len(letter.documents) > MAX_FILES:
        raise PaperProblem(
            _("A letter has at most %(count)d PDFs.") % {"count": MAX_FILES}, letter_id=lid
        )
    if sum(len(data) for data in letter.documents) > MAX_BYTES:
        raise PaperProblem(
            _("A letter's PDFs may together be at most %(mb)d MB.")
            % {"mb": MAX_BYTES // (1024 * 1024)},
            letter_id=lid,
        )
    for number, data in enumerate(letter.documents, start=1):
        if bytes(data[:5]) != b"%PDF-":
            raise PaperProblem(
                _("Document %(number)d is not a PDF.") % {"number": number}, letter_id=lid
            )
    for what, lines, country in (
        (_("The recipient's address"), letter.address_lines, letter.country_code),
        (_("The return address"), letter.return_address_lines, "BE"),
    ):
        try:
            check_address(lines, country_code=country, what=what)
        except AddressProblem as problem:
            raise AddressProblem(problem.message, line=problem.line, letter_id=lid) from None
    fields = {
        _("the letter id"): letter.letter_id,
        _("the idempotency key"): letter.idempotency_key,
        _("the reference"): letter.reference,
        _("the address"): " / ".join(letter.address_lines),
        _("the return address"): " / ".join(letter.return_address_lines),
    }
    for name, text in fields.items():
        if holds_national_number(text):
            raise PaperProblem(
                _("%(field)s holds a national register number; the print partner may not see one.")
                % {"field": capfirst(name)},
                letter_id=lid,
            )


def holds_national_number(text: str) -> bool:
    """Whether ``text`` holds a valid national register number in one of its spellings."""
    for found in _ELEVEN_DIGITS.finditer(text):
        try:
            national_number(found.group(0))
        except IdentifierError:
            continue
        return True
    return False


# --- The cover sheet --------------------------------------------------------------------

MM = 72 / 25.4
PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4 in points
#: The address block behind the window of a C5/6 envelope (DL window, 20 mm from the left
#: and 15 mm from the bottom, 45 mm high) holding an A4 sheet folded in three: the window
#: shows 20-120 mm from the left and 39-84 mm from the top of the sheet; 5 mm kept free
#: around it for the sheet's play in the envelope.
WINDOW_LEFT, WINDOW_TOP, WINDOW_WIDTH, WINDOW_BOTTOM = 25 * MM, 45 * MM, 90 * MM, 80 * MM
ADDRESS_SIZE = 10.0
MIN_ADDRESS_SIZE = 7.0


def cover_sheet(letter: PaperLetter) -> bytes:
    """The letter's one-page A4 address and cover sheet as a PDF, printed before its
    documents: the return address, the recipient's address behind the envelope's window,
    the reference, the date, the number of pages and where to check the seal.

    The sealed PDFs cannot carry an address added later (that would break the seal), so
    the address travels on this sheet. :class:`AddressProblem` when the address does not
    fit bpost's rules.
    """
    check_letter(letter)
    return _cover(letter, sum(_pages(data, letter.letter_id) for data in letter.documents))


def _cover(letter: PaperLetter, pages: int) -> bytes:
    import vl_convert

    with translation.override(letter.language):
        dated = formats.date_format(letter.dated, "j F Y")
        facts = [
            _("Reference: %(reference)s") % {"reference": letter.reference or "–"},
            _("Date: %(date)s") % {"date": dated},
            _("Pages: %(pages)d in %(documents)d document(s), and this sheet")
            % {"pages": pages, "documents": len(letter.documents)},
        ]
        seal = _("This letter is sealed electronically; check its seal at %(url)s") % {
            "url": letter.seal_check_url
        }
        if letter.registered:
            facts.append(_("Registered letter"))
    parts: list[str] = []
    y = 15 * MM
    for line in letter.return_address_lines:  # the sender, top left
        y += 11
        parts.append(_svg_text(20 * MM, y, line, size=9))
    # Behind the window: the return address on one small line, then the recipient.
    parts.append(
        _svg_text(WINDOW_LEFT, WINDOW_TOP + 7, ", ".join(letter.return_address_lines), size=6.5)
    )
    size = _fitting_size(letter.address_lines, WINDOW_WIDTH)
    y = WINDOW_TOP + 7 + size * 1.6
    for line in letter.address_lines:
        parts.append(_svg_text(WINDOW_LEFT, y, line, size=size))
        y += size * 1.2
    y = WINDOW_TOP + 12
    for fact in facts:  # to the right of the window
        for piece in textwrap.wrap(fact, 34) or [""]:
            parts.append(_svg_text(125 * MM, y, piece, size=9))
            y += 12
    y = 110 * MM  # below the first fold
    for piece in textwrap.wrap(seal, 95):
        parts.append(_svg_text(20 * MM, y, piece, size=9))
        y += 12
    parts.append(_svg_text(20 * MM, PAGE_HEIGHT - 12 * MM, letter.letter_id, size=6.5))
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{PAGE_WIDTH}" height="{PAGE_HEIGHT}" '
        f'viewBox="0 0 {PAGE_WIDTH} {PAGE_HEIGHT}"><rect width="100%" height="100%" '
        f'fill="white"/>{"".join(parts)}</svg>'
    )
    return vl_convert.svg_to_pdf(svg)


def _svg_text(x: float, y: float, text: str, *, size: float) -> str:
    return (
        f'<text x="{x:.2f}" y="{y:.2f}" font-size="{size:g}" fill="#000" '
        f'font-family="sans-serif">{html.escape(text)}</text>'
    )


def _em_width(text: str) -> float:
    """A generous estimate of a line's width in ems in a sans-serif font."""
    width = 0.0
    for char in text:
        if char in "MWmw@":
            width += 0.95
        elif char.isupper():
            width += 0.72
        elif char in "iljtf.,;:'|!() ":
            width += 0.3
        else:
            width += 0.56
    return width


def _fitting_size(lines: Sequence[str], width: float) -> float:
    """The largest font size (at most 10 pt) at which every line fits the window."""
    widest = max((_em_width(line) for line in lines), default=1.0) or 1.0
    return max(MIN_ADDRESS_SIZE, min(ADDRESS_SIZE, width / widest))


def _pages(data: bytes, letter_id: str) -> int:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        return len(PdfReader(io.BytesIO(data), strict=False).pages)
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise PaperProblem(
            _("A document of this letter cannot be read as a PDF."), letter_id=letter_id
        ) from None


# --- The batch on disk ------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    """A committed batch folder and its manifest."""

    batch_id: str
    folder: Path
    manifest: dict[str, Any]
    #: The manifest's bytes as written (what is uploaded as the ``manifest`` part).
    manifest_bytes: bytes = field(repr=False)

    @property
    def letter_ids(self) -> list[str]:
        return [letter["letterId"] for letter in self.manifest["letters"]]

    def files(self) -> list[tuple[str, str]]:
        """``(path in the batch, sha256)`` of every file the manifest names."""
        found: list[tuple[str, str]] = []
        for letter in self.manifest["letters"]:
            found.append((letter["cover"]["file"], letter["cover"]["sha256"]))
            found.extend((doc["file"], doc["sha256"]) for doc in letter["documents"])
        return found

    def verify(self) -> None:
        """:class:`PaperProblem` when a file is missing or differs from the manifest (a
        disk fault, or a hand that edited the folder): such a batch is not sent."""
        for name, digest in self.files():
            path = self.folder / name
            if not path.is_file():
                raise PaperProblem(
                    _("Batch %(batch)s lacks %(file)s.") % {"batch": self.batch_id, "file": name}
                )
            if _sha256_file(path) != digest:
                raise PaperProblem(
                    _("Batch %(batch)s: %(file)s differs from its manifest.")
                    % {"batch": self.batch_id, "file": name}
                )

    def archive(self) -> bytes:
        """The batch as a ZIP (the manifest and every file it names, stored as they are,
        in a fixed order with fixed times, so the same batch gives the same bytes),
        after checking every file against the manifest."""
        self.verify()
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            names = ["manifest.json", *(name for name, _digest in self.files())]
            for name in names:
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = (
                    zipfile.ZIP_DEFLATED if name.endswith(".json") else zipfile.ZIP_STORED
                )
                archive.writestr(info, (self.folder / name).read_bytes())
        return out.getvalue()


def batch_id(partner: str, municipality_nis: str, day: date, sequence: int) -> str:
    """``<municipalityNIS>-<partnerId>-<YYYYMMDD>-<seq:03d>``, checked."""
    if not _PARTNER.match(partner or ""):
        raise PaperProblem(
            _("A partner id is 1 to 40 letters, digits or “_”; “%(partner)s” is not.")
            % {"partner": partner}
        )
    if not _NIS.match(municipality_nis or ""):
        raise PaperProblem(
            _("A municipality's NIS code has 5 digits; “%(nis)s” does not.")
            % {"nis": municipality_nis}
        )
    if not 1 <= sequence <= 999:
        raise PaperProblem(
            _("A batch's sequence number is 1 to 999, not %(sequence)d.") % {"sequence": sequence}
        )
    return f"{municipality_nis}-{partner}-{day:%Y%m%d}-{sequence:03d}"


def batch_folder(folder: Path, partner: str, day: date, identifier: str) -> Path:
    """Where the batch ``identifier`` lives under the paper root ``folder``."""
    return Path(folder) / partner / day.isoformat() / identifier


def build_batch(
    folder: Path,
    partner: str,
    municipality_nis: str,
    day: date,
    letters: list[PaperLetter],
    sequence: int,
    *,
    municipality_name: str = "",
    municipality_kbo: str = "",
) -> Batch:
    """Write the batch of ``letters`` for ``partner`` under the paper root ``folder``
    (``<folder>/<partner>/<day>/<batchId>/``) and return it.

    Idempotent: when the batch is there already with the same letters it is returned as it
    is (checked against its manifest); with other letters it is :class:`BatchConflict`. A
    ``.tmp`` folder left by a crash is thrown away and the batch written again. Every
    letter is checked first (:class:`PaperProblem`, :class:`AddressProblem`), so a bad
    letter leaves nothing behind.
    """
    identifier = batch_id(partner, municipality_nis, day, sequence)
    try:
        kbo = enterprise_number(municipality_kbo).digits if municipality_kbo else ""
    except IdentifierError as error:
        raise PaperProblem(
            _("The municipality's enterprise number: %(error)s") % {"error": error}
        ) from None
    if not letters:
        raise PaperProblem(_("A batch holds at least one letter."))
    seen: set[str] = set()
    for letter in letters:
        check_letter(letter)
        if letter.letter_id in seen:
            raise PaperProblem(_("This letter is twice in the batch."), letter_id=letter.letter_id)
        seen.add(letter.letter_id)
    final = batch_folder(folder, partner, day, identifier)
    temporary = final.with_name(identifier + ".tmp")
    if final.exists():
        if temporary.exists():
            shutil.rmtree(temporary)
        existing = load_batch(final)
        _same_letters(existing, letters)
        existing.verify()
        return existing
    if temporary.exists():  # left by a crash before the commit point
        shutil.rmtree(temporary)
    temporary.mkdir(parents=True)
    entries = []
    for letter in letters:
        entries.append(_write_letter(temporary, letter))
    manifest = {
        "formatVersion": FORMAT_VERSION,
        "batchId": identifier,
        "partnerId": partner,
        "municipality": {"nis": municipality_nis, "name": municipality_name, "kbo": kbo},
        "createdAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "letterCount": len(entries),
        "letters": entries,
    }
    for text in _texts(manifest):
        if holds_national_number(text):  # check_letter refused them; this stays a guard
            raise PaperProblem(_("The manifest would hold a national register number."))
    manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=2).encode() + b"\n"
    _write(temporary / "manifest.json", manifest_bytes)
    for directory in [*(temporary / "letters").iterdir(), temporary / "letters", temporary]:
        _fsync_directory(directory)
    os.rename(temporary, final)  # the commit point
    _fsync_directory(final.parent)
    return Batch(identifier, final, manifest, manifest_bytes)


def load_batch(path: Path) -> Batch:
    """The committed batch in the folder ``path`` (a worker restarting picks it up here)."""
    path = Path(path)
    try:
        manifest_bytes = (path / "manifest.json").read_bytes()
        manifest = json.loads(manifest_bytes)
        identifier = manifest["batchId"]
        if not isinstance(manifest["letters"], list):
            raise TypeError("letters")
    except (OSError, ValueError, KeyError, TypeError):
        raise PaperProblem(
            _("%(folder)s is not a batch: its manifest is missing or damaged.") % {"folder": path}
        ) from None
    if identifier != path.name:
        raise PaperProblem(
            _("The manifest in %(folder)s is of batch %(batch)s.")
            % {"folder": path, "batch": identifier}
        )
    return Batch(identifier, path, manifest, manifest_bytes)


def _write_letter(batch: Path, letter: PaperLetter) -> dict[str, Any]:
    base = f"letters/{letter.letter_id}"
    (batch / base).mkdir(parents=True)
    documents = []
    for number, data in enumerate(letter.documents, start=1):
        name = f"{base}/doc-{number}.pdf"
        documents.append(
            {
                "file": name,
                "sha256": _write(batch / name, bytes(data)),
                "bytes": len(data),
                "pages": _pages(data, letter.letter_id),
            }
        )
    cover = _cover(letter, sum(doc["pages"] for doc in documents))
    return {
        "letterId": letter.letter_id,
        "idempotencyKey": letter.idempotency_key,
        "reference": letter.reference,
        "language": letter.language,
        "recipient": {
            "addressLines": [line.strip() for line in letter.address_lines],
            "countryCode": letter.country_code,
        },
        "returnAddressLines": [line.strip() for line in letter.return_address_lines],
        "options": _options(letter),
        "cover": {
            "file": f"{base}/cover.pdf",
            "sha256": _write(batch / f"{base}/cover.pdf", cover),
            "pages": 1,
        },
        "documents": documents,
    }


def _options(letter: PaperLetter) -> dict[str, Any]:
    return {
        "registered": letter.registered,
        "acknowledgementOfReceipt": letter.acknowledgement_of_receipt,
        "duplex": letter.duplex,
        "priority": letter.priority,
    }


def _same_letters(existing: Batch, letters: list[PaperLetter]) -> None:
    """:class:`BatchConflict` unless ``existing`` holds exactly ``letters``."""
    written = {entry["letterId"]: entry for entry in existing.manifest["letters"]}
    asked = [letter.letter_id for letter in letters]
    if list(written) != asked:
        raise BatchConflict(
            _("Batch %(batch)s exists already with other letters; use the next sequence number.")
            % {"batch": existing.batch_id}
        )
    for letter in letters:
        entry = written[letter.letter_id]
        same = (
            entry["idempotencyKey"] == letter.idempotency_key
            and entry["reference"] == letter.reference
            and entry["recipient"]["addressLines"] == [x.strip() for x in letter.address_lines]
            and entry["returnAddressLines"] == [x.strip() for x in letter.return_address_lines]
            and entry["options"] == _options(letter)
            and [doc["sha256"] for doc in entry["documents"]]
            == [hashlib.sha256(data).hexdigest() for data in letter.documents]
        )
        if not same:
            raise BatchConflict(
                _(
                    "Batch %(batch)s exists already with another version of this letter; "
                    "use the next sequence number."
                )
                % {"batch": existing.batch_id},
                letter_id=letter.letter_id,
            )


def _texts(value: Any) -> Iterable[str]:
    """Every text of the manifest a person or the partner reads (not the digests)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "sha256":
                yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def _write(path: Path, data: bytes) -> str:
    """Write ``data`` to ``path`` and fsync it; its SHA-256 (hex)."""
    with open(path, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    return hashlib.sha256(data).hexdigest()


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        for chunk in iter(lambda: source.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- The print partner's API ------------------------------------------------------------


class PaperStatus(StrEnum):
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    PRINTED = "PRINTED"
    POSTED = "POSTED"
    DELIVERED = "DELIVERED"
    RETURNED = "RETURNED"


class ReturnReason(StrEnum):
    """Why a letter was rejected or came back (modelled on bpost's return grounds)."""

    ADDRESS_INCOMPLETE = "ADDRESS_INCOMPLETE"
    ADDRESSEE_UNKNOWN = "ADDRESSEE_UNKNOWN"
    MOVED = "MOVED"
    REFUSED = "REFUSED"
    NOT_COLLECTED = "NOT_COLLECTED"
    DECEASED = "DECEASED"
    OTHER = "OTHER"


@dataclass(frozen=True)
class Uploaded:
    """The partner has the batch: just now (``duplicate`` false) or from an earlier try
    whose answer was lost (``duplicate`` true, ``409``)."""

    batch_id: str
    duplicate: bool
    received_at: str = ""
    letter_count: int | None = None


@dataclass(frozen=True)
class Event:
    """What the partner reports about one letter; ``seq`` orders them within a batch."""

    seq: int
    letter_id: str
    status: PaperStatus
    at: datetime
    reason: ReturnReason | None = None
    detail: str = ""
    mail_id: str = ""
    tracking_number: str = ""


class PartnerError(Exception):
    """The print partner did not take the batch or answered what we do not understand;
    ``retryable`` says whether trying again later may help."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class RetryableError(PartnerError):
    """No answer, a timeout, ``429`` or ``5xx``: try again later with the same batch id."""

    retryable = True


class PermanentError(PartnerError):
    """The partner refused the batch (``400``, ``401``, ``404``, ...): trying again with
    the same bytes gives the same answer; staff must look."""


class DuplicateLetters(PermanentError):
    """``422``: letters of this batch were already received in another batch."""

    def __init__(self, message: str, *, letter_ids: list[str], status: int = 422) -> None:
        super().__init__(message, status=status, code="DUPLICATE_LETTER")
        self.letter_ids = letter_ids


class PartnerClient:
    """The print partner's HTTP API (§6.6): ``POST /batches`` and
    ``GET /batches/{batchId}/events``. One attempt per call; the caller retries
    :class:`RetryableError` with backoff."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        session: requests.Session | None = None,
    ) -> None:
        if not re.match(r"^https?://[^/\s]+", base_url or ""):
            raise ValueError(f"The print partner's address must be an http(s) URL: {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()

    def upload(self, batch: Batch) -> Uploaded:
        """Hand ``batch`` to the partner: the manifest and the batch as a ZIP, the batch id
        as ``Idempotency-Key``. ``409`` (the partner has it from an earlier try) is a
        success too."""
        archive = batch.archive()
        response = self._call(
            "POST",
            "/batches",
            files={
                "manifest": ("manifest.json", batch.manifest_bytes, "application/json"),
                "archive": (f"{batch.batch_id}.zip", archive, "application/zip"),
            },
            headers={"Idempotency-Key": f'"{batch.batch_id}"'},
        )
        body = _json(response)
        if response.status_code == 201:
            if not isinstance(body, dict) or body.get("batchId") != batch.batch_id:
                raise PermanentError(
                    _("The print partner confirmed another batch than %(batch)s.")
                    % {"batch": batch.batch_id},
                    status=201,
                )
            count = body.get("letterCount")
            return Uploaded(
                batch.batch_id,
                duplicate=False,
                received_at=str(body.get("receivedAt") or ""),
                letter_count=count if isinstance(count, int) else None,
            )
        if response.status_code == 409:
            return Uploaded(batch.batch_id, duplicate=True)
        code = str(body.get("code") or "") if isinstance(body, dict) else ""
        if response.status_code == 422 and code == "DUPLICATE_LETTER":
            ids = body.get("letterIds") or []
            raise DuplicateLetters(
                _("The print partner already has these letters from another batch: %(ids)s.")
                % {"ids": ", ".join(str(i) for i in ids)},
                letter_ids=[str(i) for i in ids],
            )
        if response.status_code == 400 and code == "DIGEST_MISMATCH":
            raise PermanentError(
                _("The print partner found %(file)s different from the manifest.")
                % {"file": body.get("file") or "?"},
                status=400,
                code=code,
            )
        raise self._refusal(response, code)

    def events(self, batch_id: str, after: int = 0) -> list[Event]:
        """The partner's events of ``batch_id`` with a sequence number above ``after``, in
        order: one page (keep the last ``seq`` and ask again with it)."""
        if not isinstance(after, int) or after < 0:
            raise ValueError("after is a sequence number (0 or more)")
        response = self._call("GET", f"/batches/{batch_id}/events", params={"after": after})
        if response.status_code != 200:
            body = _json(response)
            raise self._refusal(
                response, str(body.get("code") or "") if isinstance(body, dict) else ""
            )
        body = _json(response)
        if not isinstance(body, dict) or body.get("batchId") != batch_id:
            raise PermanentError(
                _("The print partner answered events of another batch than %(batch)s.")
                % {"batch": batch_id},
                status=200,
            )
        events = [_event(item) for item in body.get("events") or []]
        last = after
        for event in events:
            if event.seq <= last:
                raise PermanentError(
                    _("The print partner's events are out of order (%(seq)d after %(last)d).")
                    % {"seq": event.seq, "last": last},
                    status=200,
                )
            last = event.seq
        return events

    def _call(self, method: str, path: str, **options: Any) -> requests.Response:
        try:
            return self.session.request(
                method,
                self.base_url + path,
                timeout=self.timeout,
                allow_redirects=False,
                **options,
            )
        except requests.Timeout:
            raise RetryableError(_("The print partner did not answer in time.")) from None
        except requests.ConnectionError:
            raise RetryableError(
                _("The connection to the print partner broke off before an answer.")
            ) from None

    def _refusal(self, response: requests.Response, code: str) -> PartnerError:
        status = response.status_code
        if status == 429 or status >= 500:
            return RetryableError(
                _("The print partner is unavailable (HTTP %(status)d).") % {"status": status},
                status=status,
                code=code,
            )
        return PermanentError(
            _("The print partner refused the request (HTTP %(status)d %(code)s).")
            % {"status": status, "code": code},
            status=status,
            code=code,
        )


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _event(item: Any) -> Event:
    try:
        reason = item.get("reason")
        return Event(
            seq=int(item["seq"]),
            letter_id=str(item["letterId"]),
            status=PaperStatus(item["status"]),
            at=datetime.fromisoformat(item["at"]),
            reason=ReturnReason(reason) if reason else None,
            detail=str(item.get("detail") or ""),
            mail_id=str(item.get("mailId") or ""),
            tracking_number=str(item.get("trackingNumber") or ""),
        )
    except (AttributeError, KeyError, TypeError, ValueError):
        raise PermanentError(
            _("The print partner sent an event we do not understand: %(event)s.")
            % {"event": json.dumps(item)[:200]},
            status=200,
        ) from None
