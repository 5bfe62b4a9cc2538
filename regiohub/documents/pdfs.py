"""What a letter's PDFs must be before they are sealed and sent: PDFs (not a renamed
file), readable, not encrypted, with pages, without JavaScript, launch or form actions,
embedded files or rich media (a citizen's eBox or a print partner must get a document,
not a program), within the government document service's limits: at most 6 PDFs and
30 MB per letter.

pyHanko would seal an encrypted PDF without complaint and a sealed PDF can never be
rewritten, so this runs first, on the bytes as received.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

MAX_FILES = 6
MAX_BYTES = 30 * 1024 * 1024
#: Actions a letter never needs: they run code, open other files or send data.
FORBIDDEN_ACTIONS = {
    "/JavaScript", "/Launch", "/ImportData", "/SubmitForm", "/ResetForm",
    "/RichMediaExecute", "/Rendition", "/GoToE",
}  # fmt: skip
FORBIDDEN_ANNOTATIONS = {"/FileAttachment", "/RichMedia", "/Screen", "/Movie", "/3D"}
#: Objects looked at before a file is called too complex to check (a PDF bomb).
MAX_OBJECTS = 200_000


class PdfProblem(ValueError):
    """Why a file cannot be sealed, in words for the person who sent it; ``name`` is the
    file's name."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}" if name else message)
        self.name = name
        self.message = message


@dataclass(frozen=True)
class CheckedPdf:
    name: str
    data: bytes
    pages: int


def check_letter(files: list[tuple[str, bytes]]) -> list[CheckedPdf]:
    """Every file of a letter checked; :class:`PdfProblem` names the first file that is
    not fit and why (the sender fixes one thing at a time, the most basic first)."""
    if not files:
        raise PdfProblem("", _("A letter has at least one PDF."))
    if len(files) > MAX_FILES:
        raise PdfProblem("", _("A letter has at most %(count)d PDFs.") % {"count": MAX_FILES})
    total = sum(len(data) for _name, data in files)
    if total > MAX_BYTES:
        raise PdfProblem(
            "",
            _("A letter's PDFs may together be at most %(mb)d MB; these are %(size)s MB.")
            % {"mb": MAX_BYTES // (1024 * 1024), "size": f"{total / (1024 * 1024):.1f}"},
        )
    return [check_pdf(name, data) for name, data in files]


def check_pdf(name: str, data: bytes) -> CheckedPdf:
    """``data`` as a PDF fit to seal, or :class:`PdfProblem`."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.startswith(b"%PDF-") and b"%PDF-" not in data[:1024]:
        raise PdfProblem(name, _("This is not a PDF."))
    if b"%%EOF" not in data[-2048:]:
        raise PdfProblem(name, _("This PDF is incomplete (it does not end as a PDF ends)."))
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise PdfProblem(
                name, _("This PDF is protected with a password: send it without protection.")
            )
        pages = len(reader.pages)
        if pages == 0:
            raise PdfProblem(name, _("This PDF has no pages."))
        found = _forbidden(reader.trailer)
    except PdfProblem:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise PdfProblem(name, _("This PDF cannot be read: it is damaged.")) from None
    if found:
        raise PdfProblem(
            name,
            _("This PDF contains %(what)s: a letter may hold text and images only.")
            % {"what": ", ".join(sorted(found))},
        )
    return CheckedPdf(name=name, data=data, pages=pages)


def _forbidden(trailer: Any) -> set[str]:
    """What a letter may not carry, anywhere reachable from the trailer (every object once,
    without recursion: a deep or cyclic file cannot exhaust the stack)."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    found: set[str] = set()
    seen: set[tuple[int, int]] = set()
    stack: list[Any] = [trailer]
    looked = 0
    while stack:
        item = stack.pop()
        looked += 1
        if looked > MAX_OBJECTS:
            raise ValueError("too many objects")
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            item = item.get_object()
        if isinstance(item, DictionaryObject):  # streams are dictionaries too
            keys = set(item.keys())
            if "/JS" in keys or "/JavaScript" in keys:
                found.add(_("JavaScript"))
            if item.get("/S") in FORBIDDEN_ACTIONS:
                found.add(_("an action (%(action)s)") % {"action": str(item["/S"]).lstrip("/")})
            if (
                "/EmbeddedFiles" in keys
                or item.get("/Type") == "/EmbeddedFile"
                or (item.get("/Type") == "/Filespec" and "/EF" in keys)
            ):
                found.add(_("an embedded file"))
            if item.get("/Subtype") in FORBIDDEN_ANNOTATIONS:
                found.add(_("an attachment or media"))
            if "/XFA" in keys:
                found.add(_("an XFA form"))
            stack.extend(value for key, value in item.items() if key != "/Parent")
        elif isinstance(item, ArrayObject):
            stack.extend(item)
    return found
