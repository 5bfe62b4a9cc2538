"""What a careless or hostile client may send the letters API is refused with a 400 that
names the field at fault (by the dotted name the service uses), a 404 or a 413, never a
server error, and nothing is stored: wrong check digits, what is not a plain PDF, too
many files, a paper letter without address, a subject in another language, NUL bytes,
megabytes where a reference goes, JSON that is not UTF-8 or not an object, unknown
fields, ids and positions that are not ids and positions, bodies over the limit."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

from regiohub.core.testing import run_tasks
from regiohub.documents.models import Letter, LetterEvent
from regiohub.documents.tests.conftest import ADDRESS, CITIZEN_PAPER, pdf
from regiohub.documents.tests.test_api import (
    URL,
    errors_of,
    handler_of,
    make_letter,
    metadata,
    no_whole_national_number,
    submit,
    token_client,
    upload,
)

MB = 1024 * 1024


@pytest.fixture(autouse=True)
def _numbers_masked() -> Iterator[None]:
    yield from no_whole_national_number()


@pytest.fixture
def api(sender: Any) -> Any:
    """A write token of a Kortrijk handler."""
    return token_client(handler_of(sender.organisation))


def _encrypted() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.encrypt(user_password="", owner_password="geheim")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _with_javascript() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    action = DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert('hallo');"),
        }
    )
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _recipient(**changes: Any) -> dict[str, Any]:
    return {**metadata()["recipient"], **changes}


REFUSED = {
    "national number check digits": (
        {"recipient": _recipient(number="93051822362")}, None, "recipient.number",
    ),
    "KBO check digits": (
        {"recipient": {"kind": "enterprise", "number": "0212148897"}}, None, "recipient.number",
    ),
    "no kind of recipient": ({"recipient": _recipient(kind="alien")}, None, "recipient.kind"),
    "not a PDF": ({}, [("brief.docx", b"PK\x03\x04 a word file")], "files"),
    "an encrypted PDF": ({}, [("beveiligd.pdf", _encrypted())], "files"),
    "a PDF with JavaScript": ({}, [("js.pdf", _with_javascript())], "files"),
    "seven files": ({}, [(f"{n}.pdf", pdf()) for n in range(7)], "files"),
    "no file": ({}, [], "files"),
    "no address for paper": (
        {"recipient": _recipient(number=CITIZEN_PAPER), "address": {}}, None, "address",
    ),
    "a subject in English": ({"subject": {"en": "Decision"}}, None, "subject"),
    "no subject": ({"subject": {}}, None, "subject"),
    "NUL in the reference": ({"reference": "OMV\x00-42"}, None, "reference"),
    "NUL in the name": ({"recipient": _recipient(name="An\x00Peeters")}, None, "recipient.name"),
    "NUL in an address line": (
        {"address": {"lines": ["Grote Markt\x00 54", "8500 Kortrijk"]}}, None, "address.lines.0",
    ),
    "a line break in an address line": (
        {"address": {"lines": ["Grote Markt\n54", "8500 Kortrijk"]}}, None, "address",
    ),
    "5 MB of reference": ({"reference": "R" * (5 * MB)}, None, "reference"),
    "a list for a name": ({"recipient": _recipient(name=["An"])}, None, "recipient.name"),
    "text for the lines": ({"address": {"lines": "Grote Markt 54"}}, None, "address.lines"),
    "an unknown field": ({"recipient_number": "93051822361"}, None, "recipient_number"),
    "a bad idempotency key": ({"idempotency_key": "sleutel-é"}, None, "idempotency_key"),
    "an unknown organisation": ({"organisation": "NOPE"}, None, "organisation"),
    "a huge organisation id": ({"organisation": "9" * 40}, None, "organisation"),
    "a template id beyond bounds": ({"template": 2**40}, None, "template"),
    "variables without a template": ({"variables": {"body": "x"}}, None, "variables"),
    "a country that is not one": ({"address": {"lines": ADDRESS, "country": "BEL"}}, None,
                                  "address.country"),
}  # fmt: skip


def nothing_stored() -> bool:
    return (
        not Letter.objects.exists()
        and not LetterEvent.objects.exists()
        and not default_storage.exists("letters")
    )


@pytest.mark.parametrize("case", REFUSED)
def test_bad_metadata_or_files_are_named(sender, ebox, api, case):
    changes, files, parameter = REFUSED[case]
    meta = {**metadata(), **changes}
    parts = None if files is None else [upload(name, data) for name, data in files]
    # The metadata as a JSON file part (a 5 MB form field is Django's to refuse).
    body = {"metadata": SimpleUploadedFile("m.json", json.dumps(meta).encode(), "application/json")}
    answer = api.post(URL, {**body, "files": [upload()] if parts is None else parts})
    assert answer.status_code == 400, answer.content[:500]
    assert parameter in errors_of(answer), errors_of(answer)
    assert all(len(item["message"]) <= 1000 for item in answer.json()["errors"])
    assert nothing_stored()


def test_several_faults_are_named_at_once(sender, ebox, api):
    meta = metadata(reference="", language="xx", recipient=_recipient(number="93051822362"))
    answer = submit(api, meta, [upload("x.pdf", b"not a pdf")])
    assert answer.status_code == 400
    assert {"reference", "language", "recipient.number", "files"} <= set(errors_of(answer))
    assert nothing_stored()


@pytest.mark.parametrize(
    "fields, parameter",
    [
        ({"reference": "OMV\x00"}, "reference"),
        ({"recipient.name": "An\x00"}, "recipient.name"),
        ({"address.lines": ["Grote\x00Markt 54", "8500 Kortrijk"]}, "address.lines.0"),
        ({"reference": "R" * (5 * MB)}, ""),  # over Django's limit of a form field
        ({"reference": ["a", "b"]}, "reference"),
        ({"subject.en": "Decision"}, "subject"),
        ({"recipient_number": "1"}, "recipient_number"),
        ({"metadata": "{}"}, "reference"),  # both
        ({"files": "not a file part"}, "files"),
        ({"variables": "[1, 2]"}, "variables"),
    ],
)
def test_bad_form_fields_are_named(sender, ebox, api, fields, parameter):
    form = {
        "reference": "OMV-1",
        "idempotency_key": "k-1",
        "recipient.kind": "citizen",
        "recipient.number": "93051822361",
        "recipient.name": "An Peeters",
        "address.lines": ADDRESS,
        "subject.nl": "Besluit",
    }
    answer = api.post(URL, {**form, "files": [upload()], **fields})
    assert answer.status_code == 400, answer.content[:500]
    assert parameter in errors_of(answer), errors_of(answer)
    assert nothing_stored()


BODIES = [
    (b'{"reference": "caf\xe9"}', "application/json", ""),  # Latin-1, not UTF-8
    (b"[1, 2, 3]", "application/json", "metadata"),
    (b'"a string"', "application/json", "metadata"),
    (b"{", "application/json", ""),
    (b"[" * 100_000, "application/json", ""),
    (b"NaN", "application/json", ""),
    (b"reference=x", "text/plain", "Content-Type"),
    (b"--x\r\n", "multipart/form-data", ""),  # no boundary
]
PARTS = [b'{"reference": "caf\xe9"}', b"[1, 2]", b"{]", b'{"a": NaN}', b""]


def test_a_body_or_metadata_part_that_is_not_a_json_object_is_refused(sender, api):
    for body, content_type, parameter in BODIES:
        answer = api.post(URL, body, content_type=content_type)
        assert answer.status_code in (400, 415), (body[:20], answer.content[:300])
        assert list(errors_of(answer)) == [parameter], body[:20]
    for part in PARTS:
        metadata_part = SimpleUploadedFile("m.json", part, "application/json")
        answer = api.post(URL, {"metadata": metadata_part, "files": [upload()]})
        assert answer.status_code == 400, part
        assert list(errors_of(answer)) == ["metadata"], part
    assert nothing_stored()


def test_an_unknown_file_part_is_refused(sender, api):
    body = {"metadata": json.dumps(metadata()), "files": [upload()], "bijlage": [upload()]}
    answer = api.post(URL, body)
    assert answer.status_code == 400 and list(errors_of(answer)) == ["bijlage"]


PATHS = [
    "not-a-uuid/",
    "12345678-1234-1234-1234-1234567890123/",
    f"{'9' * 200}/",
    "{public_id}/files/-1/",
    "{public_id}/files/0/",
    "{public_id}/files/2/",
    f"{{public_id}}/files/{'9' * 40}/",
    "{public_id}/files/1.5/",
    "{public_id}/files/%E2%91%A0/",  # a circled one: a digit to str.isdigit
    "not-a-uuid/files/1/",
]


def test_ids_and_positions_that_are_not_are_404(sender, ebox, api):
    letter = make_letter(sender.organisation)
    for path in PATHS:
        answer = api.get(URL + path.format(public_id=letter.public_id))
        assert answer.status_code == 404, path
        assert answer["Content-Type"].startswith("application/json"), path
    assert api.post(f"{URL}not-a-uuid/resend/").status_code == 404
    assert api.post(f"{URL}{'f' * 32}/resend/").status_code == 404


def test_a_body_over_the_limit_is_refused_before_it_is_read(sender, api, settings):
    settings.DOCUMENTS_MAX_UPLOAD_MB = 1
    big = submit(api, metadata(), [upload("groot.pdf", pdf() + b"%" * (2 * MB))])
    assert big.status_code == 413
    assert list(errors_of(big)) == [""]
    # Larger than the platform takes on this path: its middleware answers first.
    spoofed = api.post(
        URL, {"metadata": "{}"}, CONTENT_LENGTH=str((settings.MAX_REQUEST_MB + 2) * MB)
    )
    assert spoofed.status_code == 413
    assert nothing_stored()


def test_a_filename_with_quotes_downloads_with_a_well_formed_header(sender, ebox, api):
    answer = submit(api, metadata(), [upload('besluit "definitief"; x=1.pdf')])
    assert answer.status_code == 201, answer.content
    run_tasks()
    [item] = api.get(answer["Location"]).json()["files"]
    download = api.get(item["url"])
    assert download.status_code == 200
    assert download["Content-Disposition"] == (
        'attachment; filename="besluit \\"definitief\\"; x=1.pdf"'
    )
