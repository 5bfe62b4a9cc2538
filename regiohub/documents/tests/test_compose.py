"""A letter composed from a template is a PDF/A-2u whose text can be selected, with its
date written in the letter's language; what the letter is about reaches the template as
data, so hostile values print as typed; a template cannot read files outside its own
folder, fetch packages or run forever; a broken template or a missing variable is a
clear error; and the letter passes the PDF checks and can be sealed."""

from __future__ import annotations

import io
import re
import time
from datetime import UTC, date, datetime

import pytest
from django.utils import translation
from pypdf import PdfReader

from regiohub.documents.compose import (
    ComposeError,
    Letterhead,
    check_template,
    default_template,
    render,
    required_variables_of,
    variables_of,
    written_date,
)
from regiohub.documents.pdfs import check_pdf
from regiohub.documents.signing import Sealer, verify
from regiohub.documents.tests.pki import PASSPHRASE, make_pki

LOGO_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="60" height="30">'
    b'<rect width="60" height="30" fill="#1f3a5f"/><circle cx="15" cy="15" r="9" fill="#fc0"/>'
    b"</svg>"
)
CREATED = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def letterhead(**changes) -> Letterhead:
    fields = {
        "name": "Stad Kortrijk",
        "department": "Dienst Omgeving",
        "address_lines": ("Grote Markt 54", "8500 Kortrijk"),
        "phone": "056 27 80 00",
        "email": "omgeving@kortrijk.be",
        "website": "www.kortrijk.be",
        "enterprise_number": "0207451227",
        "logo": LOGO_SVG,
        "colour": "#1f3a5f",
        "verify_url": "https://www.kortrijk.be/zegel",
    }
    fields.update(changes)
    return Letterhead(**fields)


def letter(source: str | None = None, **changes) -> bytes:
    arguments = {
        "variables": {
            "body": "Geachte heer Peeters,\n\nUw aanvraag OMV-42 is goedgekeurd.",
            "signatory": "An Desmet\nDiensthoofd",
        },
        "letterhead": letterhead(),
        "recipient_lines": ["Jan Peeters", "Kerkstraat 12 bus 3", "8500 Kortrijk"],
        "subject": "Omgevingsvergunning voor een carport",
        "reference": "OMV-2026-0042",
        "dated": date(2026, 12, 7),
        "language": "nl",
        "created": CREATED,
    }
    arguments.update(changes)
    return render(default_template() if source is None else source, **arguments)


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def pdf_a(pdf: bytes) -> tuple[str, str]:
    """The PDF/A part and conformance its XMP metadata claim (as elements, as typst writes
    them, or as attributes, as pyHanko rewrites them)."""
    root = PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data().decode()
    part = re.search(r'pdfaid:part(?:>|=")(\w+)', xmp)
    conformance = re.search(r'pdfaid:conformance(?:>|=")(\w+)', xmp)
    return (part.group(1) if part else "", conformance.group(1) if conformance else "")


def refused(source: str | None = None, **changes) -> ComposeError:
    with translation.override("en"), pytest.raises(ComposeError) as error:
        letter(source, **changes)
    return error.value


@pytest.mark.parametrize(
    ("language", "written"), [("nl", "7 december 2026"), ("fr", "7 décembre 2026")]
)
def test_a_letter_is_pdf_a_2u_with_its_text_selectable(language, written):
    pdf = letter(language=language)
    reader = PdfReader(io.BytesIO(pdf))
    assert pdf_a(pdf) == ("2", "U")
    assert reader.trailer["/Root"]["/Lang"] == f"{language}-BE"
    assert reader.metadata.title == "Omgevingsvergunning voor een carport"
    text = text_of(pdf)
    for expected in (
        "Stad Kortrijk",
        "Jan Peeters",
        "Omgevingsvergunning voor een carport",
        "OMV-2026-0042",
        "Uw aanvraag OMV-42 is goedgekeurd.",
        written,
        "https://www.kortrijk.be/zegel",
        "0207.451.227",
    ):
        assert expected in text


def test_dates_are_written_in_the_letters_language():
    day = date(2026, 12, 7)
    assert [written_date(day, code) for code in ("nl", "fr", "de", "en")] == [
        "7 december 2026",
        "7 décembre 2026",
        "7. Dezember 2026",
        "7 December 2026",
    ]
    assert written_date(date(2026, 3, 1), "fr") == "1er mars 2026"
    assert written_date(day, "nl-BE") == "7 december 2026"
    with translation.override("en"), pytest.raises(ComposeError, match="not in es"):
        written_date(day, "es")


def test_hostile_values_print_as_typed():
    hostile = '#panic("x") #read("/etc/passwd") ] *bold* $x^2$ \\ <label> @ref // no comment'
    pdf = letter(
        variables={"body": hostile, "signatory": "]"},
        subject="*" + hostile,
        reference="#sys.inputs",
        recipient_lines=["#panic(1)", "Kerkstraat 12", "8500 Kortrijk"],
        letterhead=letterhead(name="Stad ] #panic()", department="*vet*"),
    )
    text = re.sub(r"\s+", " ", text_of(pdf))
    assert hostile in text and "*" + hostile in text
    for typed in ("#sys.inputs", "#panic(1)", "Stad ] #panic()", "*vet*"):
        assert typed in text
    assert "root:x:0:0" not in text


def test_a_template_cannot_read_files_outside_its_folder():
    for source in (
        '#read("/etc/passwd")',
        '#read("../../../../../../etc/passwd")',
        '#image("/etc/hostname")',
        '#include "/etc/passwd"',
    ):
        error = refused(source)
        assert "root:" not in str(error) and error.line == 1
    # Its own folder holds the template and the prelude, nothing else of regiohub.
    assert "/regiohub" not in str(refused('#read("/../compose.py")'))


def test_a_template_cannot_fetch_packages():
    started = time.perf_counter()
    error = refused('#import "@preview/cetz:0.3.1": canvas\nHallo')
    assert "package" in str(error) and error.line == 1
    assert "refused" in str(error)  # through the dead proxy: never reaches the internet
    assert time.perf_counter() - started < 10


def test_a_template_that_never_ends_is_stopped():
    started = time.perf_counter()
    error = refused("#for i in range(100000000000) { }", timeout=1.0)
    assert "longer than 1 second " in str(error)
    assert time.perf_counter() - started < 5


def test_a_template_that_eats_memory_is_stopped(monkeypatch):
    monkeypatch.setattr("regiohub.documents.compose.MEMORY_BYTES", 768 * 1024**2)
    error = refused("#range(100000000).len()")
    assert "memory limit" in str(error)


def test_a_syntax_error_gives_typsts_message_and_the_templates_line():
    error = refused("Hallo\n\n#let greeting = \nWereld")
    assert error.line == 3  # as the template's author counts, not as typst saw the file
    assert "expected expression" in str(error) and f"line 3, column {error.column}" in str(error)
    with translation.override("en"), pytest.raises(ComposeError, match="expected expression"):
        check_template("Hallo\n#let greeting = ")


def test_a_missing_variable_is_named():
    source = 'Vergunning #var("permit_number") voor #var("applicant", default: "u")'
    error = refused(source, variables={})
    assert error.variable == "permit_number" and error.line == 1
    assert str(error) == (
        "The letter template needs the variable “permit_number”, which this letter lacks."
    )
    pdf = letter(source, variables={"permit_number": "OMV-7"})
    assert "Vergunning OMV-7 voor u" in text_of(pdf)


def test_variables_are_found_in_the_template():
    assert variables_of(default_template()) == ["salutation", "body", "closing", "signatory"]
    assert required_variables_of(default_template()) == ["body"]
    source = '#var("a") #var( "b" , default: "") #var("a") #nvar("c") #v(1em)'
    assert variables_of(source) == ["a", "b"] and required_variables_of(source) == ["a"]


def test_check_template_accepts_the_default_and_fills_placeholders():
    check_template(default_template())
    check_template(default_template(), language="fr", letterhead=letterhead(logo=None))
    check_template('#var("anything") #var(("built" + "-name"))')


def test_unprintable_characters_and_bad_letterheads_are_named():
    assert "😀" in str(refused(variables={"body": "Proficiat 😀"}))
    assert "PNG" in str(refused(letterhead=letterhead(logo=b"GIF89a....")))
    assert "#1f3a5f" in str(refused(letterhead=letterhead(colour="blue")))
    assert "not in xx" in str(refused(language="xx"))


def test_a_png_logo_and_no_logo_both_render():
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGBA", (120, 60), (31, 58, 95, 255)).save(out, format="PNG")
    with_png = PdfReader(io.BytesIO(letter(letterhead=letterhead(logo=out.getvalue()))))
    assert with_png.pages[0]["/Resources"]["/XObject"]
    assert "Stad Kortrijk" in text_of(letter(letterhead=letterhead(logo=None, colour="")))


def test_a_long_letter_runs_over_pages_the_same_way_twice():
    body = "\n\n".join(f"Alinea {n}. " + "Het college besliste. " * 30 for n in range(20))
    first = letter(variables={"body": body})
    second = letter(variables={"body": body})
    pages = len(PdfReader(io.BytesIO(first)).pages)
    assert pages > 1 and pages == len(PdfReader(io.BytesIO(second)).pages)
    assert first == second  # same creation time: the same bytes
    assert "Pagina" in text_of(first) or "Page" in text_of(first)


def test_the_letter_passes_the_checks_and_can_be_sealed():
    pdf = letter()
    assert check_pdf("brief.pdf", pdf).pages == 1
    pki = make_pki()
    sealer = Sealer.from_pkcs12(pki.seal_p12, PASSPHRASE, level="B-B")
    sealed = sealer.seal(pdf)
    assert verify(sealed.data, pki.validation_context()).ok
    assert pdf_a(sealed.data) == ("2", "U")  # pyHanko keeps the claim


def test_how_long_one_letter_takes():
    letter()  # warm the disk cache
    times = []
    for _ in range(5):
        started = time.perf_counter()
        letter()
        times.append(time.perf_counter() - started)
    print(f"\none letter: {min(times) * 1000:.0f} ms best, {max(times) * 1000:.0f} ms worst of 5")
