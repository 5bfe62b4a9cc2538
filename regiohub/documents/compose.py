"""A letter composed from its municipality's letter template and rendered to PDF/A by typst
(issue 21): the template is typst source, everything the letter is about (the variables,
the letterhead, the recipient's address, the subject, the reference, the date) reaches it
only as data, never as source.

**PDF/A-2u.** typst writes PDF/A-1b to PDF/A-4; PDF/A-2 is what archives and the
government's document services accept most widely, and it allows the transparency a logo
may have. Level U is level B plus a Unicode mapping for every glyph, so the letter's text
is selectable and searchable by the standard's own rule, not by luck. Level A (tagged, alt
text for every image) is not claimed: the output *is* tagged, but a municipality's own
template could not be held to it, and the seal's signature field is added afterwards,
untagged. PDF/A-3 and -4f would allow embedded files, which :mod:`.pdfs` refuses. Signing
keeps PDF/A-2 (docs/research/issue-21-signing.md, section 8).

**Data, not source.** The data travel as one JSON string in typst's ``sys.inputs`` and
the prelude (:data:`PRELUDE`) parses it with ``json()``; a string shown in typst is shown
as text, so a value like ``#panic("x")``, ``]`` or ``*bold*`` prints as typed. A template
asks for a variable with ``var("name")`` (not ``v``: that is typst's vertical spacing); a
missing one stops the letter with an error that names it.

**A sandbox.** typst runs in a child process (``python -I -S``) in a fresh temporary root
holding only the template, the prelude and the logo: ``read()``, ``image()`` and
``include`` resolve inside that root and cannot leave it. The child has a wall-clock
timeout (:data:`TIMEOUT`, typst itself bounds only ``while`` loops and recursion, not a
``for`` over a huge range), a CPU and an address-space limit, may write no file (so
typst's package manager cannot unpack a download) and its HTTP proxy points at a closed
local port (so ``@preview`` packages are not fetched from the internet). Only typst's own
embedded fonts are used (Libertinus Serif, New Computer Modern, DejaVu Sans Mono): no
system fonts, so a letter renders the same on every machine. The child costs about 60 ms
on top of typst's own 10-30 ms.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.utils import dateformat, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

#: The PDF/A level every letter is written in (see the module's docstring).
PDF_STANDARD = "a-2u"
#: The languages a letter is written in; its dates and printed labels follow it.
LANGUAGES = ("nl", "fr", "de", "en")
#: How a date is written in each language (Django's date format; month names from Django).
DATE_FORMATS = {"nl": "j F Y", "fr": "j F Y", "de": "j. F Y", "en": "j F Y"}
#: Seconds one letter may take to render, the child process included.
TIMEOUT = 20.0
#: Address space the renderer may use.
MEMORY_BYTES = 2 * 1024**3
MAX_LOGO_BYTES = 2 * 1024 * 1024
#: The template shipped with regiohub, used until a municipality uploads its own.
DEFAULT_TEMPLATE = Path(__file__).with_name("letters") / "default.typ"

#: The prelude every template is compiled with, written next to it as ``regiohub.typ``.
PRELUDE = r"""// Written by regiohub.documents.compose for every letter: the letter's data and the
// helpers a template uses (README.md in regiohub/documents/letters/ describes them).
// The data come from sys.inputs, never from source: text shown from them prints as typed.
#let letter = json(bytes(sys.inputs.at("regiohub")))

/// A variable's text; `default` when the letter has none, else an error that names it.
#let var(name, default: auto) = {
  if name in letter.variables { letter.variables.at(name) }
  else if default != auto { default }
  else if letter.checking { "[" + name + "]" }
  else { panic("regiohub:missing-variable:" + name) }
}

/// Text with blank lines as paragraph breaks and single line breaks kept.
#let paragraphs(text) = {
  let parts = text.replace("\r\n", "\n").split(regex("\n[ \t]*\n"))
  for part in parts.map(p => p.trim()).filter(p => p != "") {
    part.split("\n").map(l => l.trim()).join(linebreak())
    parbreak()
  }
}

/// Lines (the recipient's address, the sender's) one under the other.
#let lines(items) = items.filter(l => l != "").join(linebreak())

/// The municipality's logo sized by `args` (width, height, fit), or nothing when it has none.
#let logo(..args) = {
  let head = letter.letterhead
  if head.logo != none { image(head.logo, alt: head.name, ..args) }
}

/// The letterhead's colour (black when it has none).
#let accent = if letter.letterhead.colour != none { rgb(letter.letterhead.colour) } else { black }

/// The letter's date as a typst datetime (letter.date.text is it written out).
#let dated = datetime(year: letter.date.year, month: letter.date.month, day: letter.date.day)
"""
#: The template's first line: the prelude imported, the language (hyphenation, the PDF's
#: language) and the document's title and author set. On one line, so that the template's
#: own line numbers are off by exactly one, which the error messages correct.
HEADER = (
    '#import "/regiohub.typ": *;#set text(lang: letter.language, region: "BE");'
    "#set document(title: letter.subject, author: letter.letterhead.name)\n"
)
MAIN = "letter.typ"
MISSING = "regiohub:missing-variable:"
#: How a template asks for a variable by name (``var("name")``), for :func:`variables_of`.
VARIABLE = re.compile(r"""(?<![\w-])var\(\s*"([A-Za-z_][\w-]*)"\s*(,|\))""")
HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
#: A proxy nobody listens on: typst's package downloader honours the proxy variables.
NO_NETWORK = "http://127.0.0.1:9"

#: What runs in the child: the job on stdin, the PDF on stdout, typst's error as JSON with
#: exit status 3. Limits are set before typst is loaded.
CHILD = r"""
import json, resource, sys
job = json.loads(sys.stdin.buffer.read())
for name, value in job["limits"].items():
    resource.setrlimit(getattr(resource, name), (value, value))
sys.path[:0] = job["path"]
import typst
try:
    pdf = typst.compile(
        job["main"], root=job["root"], format="pdf", pdf_standards=job["standard"],
        sys_inputs=job["inputs"], font_paths=[], ignore_system_fonts=True,
        package_path=job["packages"], package_cache_path=job["packages"],
        timestamp=job["timestamp"],
    )
except typst.TypstError as error:
    sys.stdout.write(json.dumps({"message": error.message, "diagnostic": error.diagnostic,
                                 "hints": list(error.hints or [])}))
    sys.exit(3)
sys.stdout.buffer.write(pdf)
"""


class ComposeError(Exception):
    """Why a letter or a template cannot be rendered, in words for the person who wrote
    the template or the letter. ``line`` and ``column`` point into the template (from 1)
    when typst named a place there; ``variable`` is the missing variable's name; ``detail``
    is typst's own message."""

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        variable: str = "",
        detail: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.variable = variable
        self.detail = detail


@dataclass(frozen=True)
class Letterhead:
    """Who sends the letter, as the top of its first page shows it."""

    name: str
    department: str = ""
    address_lines: tuple[str, ...] = ()
    phone: str = ""
    email: str = ""
    website: str = ""
    #: KBO/BCE number; printed as 0207.451.227 when it is a valid one.
    enterprise_number: str = ""
    #: A PNG, JPEG or SVG image.
    logo: bytes | None = None
    #: ``#1f3a5f`` or ``#13f``; the template's accent colour.
    colour: str = ""
    #: Where a reader can check the letter's electronic seal, printed under every page.
    verify_url: str = ""


def default_template() -> str:
    """The template shipped with regiohub (``letters/default.typ``)."""
    return DEFAULT_TEMPLATE.read_text(encoding="utf-8")


def variables_of(source: str) -> list[str]:
    """The variables ``source`` asks for with ``var("name")``, in order of first use,
    including those it gives a default. Names a template builds at run time are not seen
    here, but rendering still refuses a letter that lacks one."""
    return list(dict.fromkeys(found.group(1) for found in VARIABLE.finditer(source)))


def required_variables_of(source: str) -> list[str]:
    """The variables ``source`` asks for without a default: a letter must have these."""
    return list(
        dict.fromkeys(
            found.group(1) for found in VARIABLE.finditer(source) if found.group(2) == ")"
        )
    )


def written_date(dated: date, language: str) -> str:
    """``dated`` as a letter in ``language`` writes it: 7 december 2026, 7 décembre 2026,
    7. Dezember 2026, 7 December 2026 (1er décembre in French)."""
    language = _language(language)
    with translation.override(language):
        text = dateformat.format(dated, DATE_FORMATS[language])
    if language == "fr" and dated.day == 1:
        text = "1er" + text[1:]
    return text


def render(
    source: str,
    *,
    variables: Mapping[str, str],
    letterhead: Letterhead,
    recipient_lines: Sequence[str],
    subject: str,
    reference: str,
    dated: date,
    language: str,
    created: datetime | None = None,
    timeout: float = TIMEOUT,
) -> bytes:
    """The letter as a PDF/A-2u, or :class:`ComposeError`. ``created`` is the PDF's
    creation time (now when not given; pass one for byte-identical output)."""
    language = _language(language)
    data = _data(
        variables=variables,
        letterhead=letterhead,
        recipient_lines=recipient_lines,
        subject=subject,
        reference=reference,
        dated=dated,
        language=language,
        checking=False,
    )
    return _compile(source, data, letterhead.logo, created, timeout)


def check_template(
    source: str, *, language: str = "nl", letterhead: Letterhead | None = None
) -> None:
    """:class:`ComposeError` unless ``source`` renders a letter: every variable it asks
    for without a default shows as ``[name]``, with a sample letterhead (or
    ``letterhead``) and address."""
    language = _language(language)
    if letterhead is None:  # a sample, never shown: check_template returns no PDF
        letterhead = Letterhead(
            name="Municipality",
            department="Department",
            address_lines=("Street 1", "1000 City"),
            phone="+32 00 00 00 00",
            email="info@example.org",
            website="www.example.org",
            verify_url="https://example.org",
        )
    data = _data(
        variables={},  # every variable without a default shows as [name]
        letterhead=letterhead,
        recipient_lines=("Recipient", "Street 1", "1000 City"),
        subject="Subject",
        reference="REF-0001",
        dated=date.today(),
        language=language,
        checking=True,
    )
    _compile(source, data, letterhead.logo, None, TIMEOUT)


def _language(language: str) -> str:
    code = (language or "").lower().replace("_", "-").split("-")[0]
    if code not in LANGUAGES:
        raise ComposeError(
            _("A letter is written in Dutch, French, German or English, not in %(language)s.")
            % {"language": language}
        )
    return code


def _data(
    *,
    variables: Mapping[str, str],
    letterhead: Letterhead,
    recipient_lines: Sequence[str],
    subject: str,
    reference: str,
    dated: date,
    language: str,
    checking: bool,
) -> dict[str, Any]:
    """Everything the template sees as ``letter``: text only, labels in the letter's
    language (not the user's)."""
    colour = letterhead.colour.strip()
    if colour and not HEX_COLOUR.fullmatch(colour):
        raise ComposeError(
            _("The letterhead's colour must be written as #1f3a5f, not %(colour)s.")
            % {"colour": colour}
        )
    with translation.override(language):
        if letterhead.verify_url:
            seal = pgettext(
                "letter",
                "This letter carries the electronic seal of %(organisation)s; check it at %(url)s.",
            ) % {"organisation": letterhead.name, "url": letterhead.verify_url}
        else:
            seal = pgettext(
                "letter", "This letter carries the electronic seal of %(organisation)s."
            ) % {"organisation": letterhead.name}
        labels = {
            "date": pgettext("letter", "Date"),
            "reference": pgettext("letter", "Our reference"),
            "subject": pgettext("letter", "Subject"),
            "phone": pgettext("letter", "Phone"),
            "email": pgettext("letter", "E-mail"),
            "website": pgettext("letter", "Website"),
            "enterprise_number": pgettext("letter", "Enterprise number"),
            "closing": pgettext("letter", "Kind regards,"),
            "page": pgettext("letter", "Page"),
            "seal": seal,
        }
    return {
        "checking": checking,
        "language": language,
        "variables": {str(name): str(value) for name, value in variables.items()},
        "letterhead": {
            "name": letterhead.name,
            "department": letterhead.department,
            "address": [str(line) for line in letterhead.address_lines],
            "phone": letterhead.phone,
            "email": letterhead.email,
            "website": letterhead.website,
            "enterprise_number": _enterprise_number(letterhead.enterprise_number),
            "logo": f"/{logo}" if (logo := _logo_name(letterhead.logo)) else None,
            "colour": colour or None,
            "verify_url": letterhead.verify_url,
        },
        "recipient": [str(line) for line in recipient_lines if str(line).strip()],
        "subject": subject,
        "reference": reference,
        "date": {
            "iso": dated.isoformat(),
            "year": dated.year,
            "month": dated.month,
            "day": dated.day,
            "text": written_date(dated, language),
        },
        "labels": labels,
    }


def _enterprise_number(value: str) -> str:
    from regiohub.core.identifiers import IdentifierError, enterprise_number

    if not value:
        return ""
    try:
        return enterprise_number(value).formatted
    except IdentifierError:
        return value


def _logo_name(logo: bytes | None) -> str | None:
    """The logo's file name in the root, by what its bytes are."""
    if not logo:
        return None
    if len(logo) > MAX_LOGO_BYTES:
        raise ComposeError(
            _("The logo may be at most %(mb)d MB.") % {"mb": MAX_LOGO_BYTES // (1024 * 1024)}
        )
    if logo.startswith(b"\x89PNG\r\n\x1a\n"):
        return "logo.png"
    if logo.startswith(b"\xff\xd8\xff"):
        return "logo.jpg"
    if b"<svg" in logo[:4096]:
        return "logo.svg"
    raise ComposeError(_("The logo must be a PNG, JPEG or SVG image."))


def _child_env(work: str) -> dict[str, str]:
    """Nothing of the parent's environment: no credentials, no proxies but a dead one."""
    env = {
        "PATH": os.defpath,
        "HOME": work,
        "XDG_CACHE_HOME": os.path.join(work, "cache"),
        "XDG_DATA_HOME": os.path.join(work, "data"),
        "LC_ALL": "C.UTF-8",
        "NO_PROXY": "",
        "no_proxy": "",
    }
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"):
        env[name] = env[name.lower()] = NO_NETWORK
    return env


def _typst_path() -> list[str]:
    """Where the typst package lives, for the child (which runs without site-packages)."""
    spec = importlib.util.find_spec("typst")
    if spec is None or not spec.submodule_search_locations:
        raise ComposeError(_("The letter composer (typst) is not installed."))
    return [str(Path(next(iter(spec.submodule_search_locations))).parent)]


def _compile(
    source: str,
    data: dict[str, Any],
    logo: bytes | None,
    created: datetime | None,
    timeout: float,
) -> bytes:
    logo_name = _logo_name(logo)
    with tempfile.TemporaryDirectory(prefix="regiohub-letter-") as work:
        root = Path(work, "root")
        root.mkdir()
        (root / MAIN).write_text(HEADER + source, encoding="utf-8")
        (root / "regiohub.typ").write_text(PRELUDE, encoding="utf-8")
        if logo and logo_name:
            (root / logo_name).write_bytes(logo)
        job = {
            "main": str(root / MAIN),
            "root": str(root),
            "packages": str(Path(work, "packages")),
            "standard": PDF_STANDARD,
            "inputs": {"regiohub": json.dumps(data, ensure_ascii=False)},
            "timestamp": int(created.timestamp() if created else time.time()),
            "path": _typst_path(),
            "limits": {
                "RLIMIT_CPU": math.ceil(timeout) + 1,
                "RLIMIT_AS": MEMORY_BYTES,
                "RLIMIT_FSIZE": 0,
                "RLIMIT_CORE": 0,
            },
        }
        if not sys.executable:
            raise ComposeError(_("The letter composer cannot start: no Python interpreter."))
        try:
            done = subprocess.run(  # noqa: S603 (our interpreter, our code, no shell)
                [sys.executable, "-I", "-S", "-c", CHILD],
                input=json.dumps(job).encode(),
                capture_output=True,
                timeout=timeout,
                cwd=root,
                env=_child_env(work),
                check=False,
            )
        except subprocess.TimeoutExpired:
            seconds = max(1, round(timeout))
            raise ComposeError(
                ngettext(
                    "The letter took longer than %(seconds)d second to compose: "
                    "the template does too much work or never ends.",
                    "The letter took longer than %(seconds)d seconds to compose: "
                    "the template does too much work or never ends.",
                    seconds,
                )
                % {"seconds": seconds}
            ) from None
        if done.returncode == 0 and done.stdout.startswith(b"%PDF-"):
            return done.stdout
        if done.returncode == 3:
            raise _typst_error(json.loads(done.stdout), str(root))
        raise ComposeError(
            _("The letter could not be composed: the composer stopped (%(why)s).")
            % {"why": _why(done)}
        )


def _why(done: subprocess.CompletedProcess[bytes]) -> str:
    """A crashed child in a few words: the limit it hit, its signal or its last line."""
    said = done.stderr.decode("utf-8", "replace").strip()
    if "memory allocation" in said or "MemoryError" in said:
        return _("memory limit")
    last = said.splitlines()[-1] if said else ""
    if done.returncode < 0:
        try:
            name = signal.Signals(-done.returncode).name
        except ValueError:
            name = f"signal {-done.returncode}"
        return {"SIGXCPU": _("CPU time limit"), "SIGKILL": _("killed")}.get(name, name)
    return _redact(last)[:200] or f"exit status {done.returncode}"


LOCATION = re.compile(r"letter\.typ:(\d+):(\d+)")
UNPRINTABLE = re.compile(r'the text `"(.+?)"` could not be displayed')


def _typst_error(error: dict[str, Any], root: str) -> ComposeError:
    """typst's diagnostic as a :class:`ComposeError`: the missing variable named, the
    place in the template (lines as the template's author counts them), typst's words."""
    message = _redact(str(error.get("message", "")).replace(root, ""))
    diagnostic = str(error.get("diagnostic", "")).replace(root, "")
    hints = [hint for hint in error.get("hints", []) if "--root" not in hint]
    line = column = None
    found = LOCATION.search(diagnostic)
    if found and int(found.group(1)) > 1:
        line, column = int(found.group(1)) - 1, int(found.group(2))
    if MISSING in message:
        name = message.split(MISSING, 1)[1].strip().strip('"')
        return ComposeError(
            _("The letter template needs the variable “%(name)s”, which this letter lacks.")
            % {"name": name},
            line=line,
            column=column,
            variable=name,
            detail=message,
        )
    unprintable = list(dict.fromkeys(UNPRINTABLE.findall(diagnostic)))
    if unprintable:
        return ComposeError(
            _(
                "The letter contains characters its fonts cannot print: %(text)s. "
                "Remove them or replace them with ordinary letters."
            )
            % {"text": " ".join(unprintable)},
            detail=message,
        )
    if hints:
        message = f"{message} ({'; '.join(hints)})"
    if line is not None:
        text = _(
            "The letter template has an error on line %(line)d, column %(column)d: %(message)s"
        ) % {"line": line, "column": column, "message": message}
    else:
        text = _("The letter template has an error: %(message)s") % {"message": message}
    return ComposeError(text, line=line, column=column, detail=message)


def _redact(text: str) -> str:
    """No national register number in an error message (a variable may hold one)."""
    from regiohub.core.redact import redact

    return redact(text)
