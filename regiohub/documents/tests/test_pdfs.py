"""A letter's PDFs are checked before they are sealed: what is not a PDF, is damaged,
encrypted, empty, carries JavaScript, actions or embedded files, or is over the limits is
refused with a message that names the file and says why; a plain letter passes."""

from __future__ import annotations

import io

import pytest
from django.utils import translation
from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

from regiohub.documents.pdfs import MAX_BYTES, PdfProblem, check_letter, check_pdf


def pdf(pages: int = 1, then=None) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if then is not None:
        then(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def refused(name: str, data: bytes) -> str:
    with translation.override("en"), pytest.raises(PdfProblem) as problem:
        check_pdf(name, data)
    assert problem.value.name == name
    return problem.value.message


def test_a_plain_letter_passes():
    checked = check_pdf("besluit.pdf", pdf(2))
    assert checked.pages == 2 and checked.name == "besluit.pdf"


def test_what_is_not_a_pdf_is_named():
    assert refused("brief.docx", b"PK\x03\x04 a word file") == "This is not a PDF."
    assert "incomplete" in refused("half.pdf", pdf()[:-200])
    assert "damaged" in refused("kapot.pdf", b"%PDF-1.7\n garbage \n%%EOF")
    assert "no pages" in refused("leeg.pdf", pdf(0))


def test_an_encrypted_pdf_is_refused():
    def encrypt(writer):
        writer.encrypt(user_password="", owner_password="geheim")

    assert "password" in refused("beveiligd.pdf", pdf(then=encrypt))


def test_javascript_actions_and_embedded_files_are_refused():
    def javascript(writer):
        action = DictionaryObject(
            {
                NameObject("/S"): NameObject("/JavaScript"),
                NameObject("/JS"): TextStringObject("app.alert('hallo');"),
            }
        )
        writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)

    def attachment(writer):
        writer.add_attachment("bijlage.exe", b"MZ...")

    def launch(writer):
        action = DictionaryObject(
            {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("cmd")}
        )
        writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)

    assert "JavaScript" in refused("js.pdf", pdf(then=javascript))
    assert "embedded file" in refused("bijlage.pdf", pdf(then=attachment))
    assert "action (Launch)" in refused("launch.pdf", pdf(then=launch))


def test_a_letters_limits():
    with translation.override("en"):
        with pytest.raises(PdfProblem, match="at least one PDF"):
            check_letter([])
        with pytest.raises(PdfProblem, match="at most 6 PDFs"):
            check_letter([(f"{n}.pdf", pdf()) for n in range(7)])
        big = pdf() + b"%" + b"x" * MAX_BYTES + b"\n%%EOF"
        with pytest.raises(PdfProblem, match="at most 30 MB"):
            check_letter([("groot.pdf", big)])
        with pytest.raises(PdfProblem, match=r"tweede\.pdf: This is not a PDF\."):
            check_letter([("eerste.pdf", pdf()), ("tweede.pdf", b"no")])
    assert [c.pages for c in check_letter([("a.pdf", pdf(1)), ("b.pdf", pdf(3))])] == [1, 3]
