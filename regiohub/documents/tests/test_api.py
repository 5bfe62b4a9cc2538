"""The letters API as a back-office system uses it: a letter submitted with a write token
(multipart, metadata as form fields or one JSON part, or written from a template) is
sealed and published once, and shown with its status history, its files' digests and a
trail that verifies; the same idempotency key and content is the same letter, other
content under it a 409; the list filters; a failed letter is resent; another
municipality's letters are out of reach (404) and sending for it is refused (403); a read
token never submits; and no answer holds a whole national register number."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from regiohub.core import api_tokens
from regiohub.core.roles import Role
from regiohub.core.testing import run_tasks
from regiohub.core.tests.factories import MembershipFactory
from regiohub.documents import services
from regiohub.documents.compose import default_template
from regiohub.documents.models import Letter, LetterTemplate, Status
from regiohub.documents.tests.conftest import ADDRESS, CITIZEN, CITIZEN_NEVER, CITIZEN_PAPER, pdf

URL = "/api/v1/letters/"
#: National register numbers the tests send; none may come back whole.
NUMBERS = (CITIZEN, CITIZEN_PAPER, CITIZEN_NEVER, "93051822362")
MASKED = "••.••.••-•23.61"  # CITIZEN as shown

#: Every answer any client of a test received (checked after the test).
SEEN: list[bytes] = []


class RecordingClient(Client):
    """A test client that keeps every answer's body."""

    def request(self, **request: Any) -> Any:
        response = super().request(**request)
        if not getattr(response, "streaming", False):
            SEEN.append(response.content)
        return response


def no_whole_national_number() -> Iterator[None]:
    """Around a test: no answer it received holds a whole national register number."""
    SEEN.clear()
    yield
    for number in NUMBERS:
        spelled = [number, f"{number[:2]}.{number[2:4]}.{number[4:6]}-{number[6:9]}.{number[9:]}"]
        for body in SEEN:
            for form in spelled:
                assert form.encode() not in body, f"a whole national number in {body[:300]!r}"


@pytest.fixture(autouse=True)
def _numbers_masked() -> Iterator[None]:
    yield from no_whole_national_number()


def token_client(user: Any, scope: str = "write", **kwargs: Any) -> Client:
    secret = api_tokens.create_token(user, name="Omgevingsloket", scope=scope, **kwargs).secret
    return RecordingClient(HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_ACCEPT_LANGUAGE="en")


def handler_of(organisation: Any) -> Any:
    return MembershipFactory(organisation=organisation, role=Role.HANDLER).user


@pytest.fixture
def api(sender: Any) -> Client:
    """A write token of a Kortrijk handler."""
    return token_client(handler_of(sender.organisation))


def metadata(number: str = CITIZEN, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "reference": "OMV-2026-0042",
        "idempotency_key": str(uuid.uuid4()),
        "organisation": "KOR",
        "recipient": {"kind": "citizen", "number": number, "name": "An Peeters"},
        "address": {"lines": ADDRESS},
        "subject": {"nl": "Beslissing omgevingsvergunning", "fr": "Décision permis"},
    }
    data.update(changes)
    return data


def upload(name: str = "besluit.pdf", data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, pdf(2) if data is None else data, "application/pdf")


def submit(client: Client, meta: dict[str, Any], files: list[Any] | None = None, **extra: Any):
    """POST the metadata as a JSON part, with the files."""
    body = {"metadata": json.dumps(meta), "files": [upload()] if files is None else files}
    return client.post(URL, body, **extra)


def errors_of(response: Any) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for item in response.json()["errors"]:
        found.setdefault(item["parameter"], []).append(item["message"])
    return found


def test_a_letter_sent_with_form_fields_is_published_with_its_proof(sender, ebox, api):
    data = pdf(2)
    answer = api.post(
        URL,
        {
            "reference": "OMV-2026-0042",
            "idempotency_key": "omv-42",
            "organisation": "KOR",
            "department": "Dienst Omgeving",
            "recipient.kind": "citizen",
            "recipient.number": "93.05.18-223.61",
            "recipient.name": "An Peeters",
            "address.lines": ADDRESS,
            "subject.nl": "Beslissing omgevingsvergunning",
            "files": [upload("besluit.pdf", data)],
        },
    )
    assert answer.status_code == 201, answer.content
    letter = answer.json()
    assert answer["Location"] == letter["url"] == f"{URL}{letter['id']}/"
    assert letter["status"] == "received" and letter["organisation"] == "KOR"
    assert letter["recipient"] == {"kind": "citizen", "number": MASKED, "name": "An Peeters"}
    assert letter["address"] == {"lines": ADDRESS, "country": "BE"}
    assert letter["files"][0]["received_sha256"] == hashlib.sha256(data).hexdigest()
    assert letter["files"][0]["sealed_sha256"] is None
    assert api.get(letter["files"][0]["url"]).status_code == 409  # not sealed yet

    run_tasks()
    shown = api.get(answer["Location"]).json()
    assert shown["status"] == "published" and shown["channel"] == "ebox"
    assert shown["checkpoints"]["signed"] and shown["checkpoints"]["published"]
    assert shown["trail_intact"] is True and shown["trail_broken_at"] is None
    trail = shown["trail"]
    assert [step["action"] for step in trail] == [
        "letter.received", "letter.signed", "letter.routed", "letter.published",
    ]  # fmt: skip
    assert [step["sequence"] for step in trail] == [1, 2, 3, 4]
    assert trail[0]["previous"] == "0" * 64
    assert all(trail[i]["previous"] == trail[i - 1]["digest"] for i in range(1, len(trail)))
    item = shown["files"][0]
    assert item["delivered_as_sealed"] is True
    assert item["sealed_sha256"] == item["delivered_sha256"] != item["received_sha256"]
    assert ebox.accepted == 1

    download = api.get(item["url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Disposition"].startswith("attachment;")
    assert "besluit.pdf" in download["Content-Disposition"]
    assert hashlib.sha256(download.content).hexdigest() == item["sealed_sha256"]
    assert download["ETag"] == f'"{item["sealed_sha256"]}"'
    # A client that only accepts PDFs gets it too.
    assert api.get(item["url"], HTTP_ACCEPT="application/pdf").status_code == 200


def test_the_same_key_and_content_is_one_letter_and_other_content_a_conflict(sender, ebox, api):
    meta = metadata(idempotency_key="omv-43")
    first = submit(api, meta)
    assert first.status_code == 201, first.content
    # Again as the eBox takes the key (a header), the metadata as form fields this time.
    again = api.post(
        URL,
        {
            "reference": meta["reference"],  # the organisation: the caller's only one
            "recipient.kind": "citizen",
            "recipient.number": CITIZEN,
            "recipient.name": "An Peeters",
            "address.lines": "\n".join(ADDRESS),
            "subject.nl": meta["subject"]["nl"],
            "subject.fr": meta["subject"]["fr"],
            "files": [upload()],
        },
        HTTP_IDEMPOTENCY_KEY="omv-43",
    )
    assert again.status_code == 200, again.content
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    run_tasks()
    assert ebox.accepted == 1 and Letter.objects.count() == 1

    other = submit(api, {**meta, "reference": "OMV-2026-0099"})
    assert other.status_code == 409
    assert list(errors_of(other)) == ["idempotency_key"]
    differ = submit(api, meta, HTTP_IDEMPOTENCY_KEY="omv-44")
    assert differ.status_code == 400 and list(errors_of(differ)) == ["idempotency_key"]
    assert Letter.objects.count() == 1


def test_a_letter_written_from_a_template(sender, ebox, api, region):
    template = LetterTemplate.objects.create(
        organisation=sender.organisation, name="Besluit", source=default_template()
    )
    meta = metadata(
        idempotency_key="omv-template-1",
        organisation=str(sender.organisation_id),  # by id
        template=template.pk,
        variables={"body": "Uw aanvraag OMV-2026-0042 is goedgekeurd.", "salutation": "Beste"},
    )
    answer = api.post(URL, meta, content_type="application/json")
    assert answer.status_code == 201, answer.content
    letter = answer.json()
    assert [item["name"] for item in letter["files"]] == ["OMV-2026-0042.pdf"]
    # Sent again (a retry), it is written in the same bytes: the same letter.
    again = api.post(URL, meta, content_type="application/json")
    assert again.status_code == 200, again.content
    assert again.json()["id"] == letter["id"]

    missing = api.post(
        URL, {**meta, "idempotency_key": "omv-template-2", "variables": {}},
        content_type="application/json",
    )  # fmt: skip
    assert missing.status_code == 400 and "variables" in errors_of(missing)
    elsewhere = LetterTemplate.objects.create(
        organisation=region["MEN"], name="Menen", source=default_template()
    )
    for wrong in (elsewhere.pk, 2**31 - 1):
        refused = api.post(URL, {**meta, "template": wrong}, content_type="application/json")
        assert refused.status_code == 400 and list(errors_of(refused)) == ["template"]
    both = submit(api, {**meta, "idempotency_key": "omv-template-3"})
    assert both.status_code == 400 and list(errors_of(both)) == ["files"]

    run_tasks()
    assert api.get(letter["url"]).json()["status"] == "published"
    assert Letter.objects.count() == 1


def make_letter(organisation: Any, number: str = CITIZEN, **extra: Any) -> Letter:
    done = services.submit(
        services.Submission(
            organisation=organisation,
            reference=extra.pop("reference", "OMV-1"),
            idempotency_key=str(uuid.uuid4()),
            recipient_kind="citizen",
            recipient_number=number,
            recipient_name="An Peeters",
            address_lines=ADDRESS,
            subjects={"nl": "Besluit"},
            files=[("besluit.pdf", pdf())],
        )
    )
    return done.letter


def test_the_list_filters_and_pages(sender, ebox, api):
    make_letter(sender.organisation, reference="OMV-1")
    make_letter(sender.organisation, CITIZEN_PAPER, reference="OMV-2")
    failed = make_letter(sender.organisation, reference="OMV-3")
    run_tasks()
    Letter.objects.filter(pk=failed.pk).update(status=Status.FAILED, failed_at=timezone.now())

    def references(query: str | dict[str, str]) -> list[str]:
        answer = api.get(URL, query) if isinstance(query, dict) else api.get(f"{URL}?{query}")
        assert answer.status_code == 200, answer.content
        return sorted(row["reference"] for row in answer.json()["results"])

    assert references("") == ["OMV-1", "OMV-2", "OMV-3"]
    assert references("status=published") == ["OMV-1"]
    assert references("channel=paper") == ["OMV-2"]
    assert references("failed=true") == ["OMV-3"]
    assert references("failed=false") == ["OMV-1", "OMV-2"]
    assert references("reference=OMV-2") == ["OMV-2"]
    assert references("organisation=KOR&status=routed") == ["OMV-2"]
    today = timezone.localdate()
    assert len(references(f"created_after={today}")) == 3
    assert references(f"created_before={today}") == []
    tomorrow = (timezone.localtime() + timedelta(days=1)).isoformat()
    assert len(references({"created_before": tomorrow})) == 3
    page = api.get(f"{URL}?limit=2").json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    row = page["results"][0]
    assert row["recipient"]["number"].startswith("••.••.••-•")
    assert "trail" not in row and "files" not in row

    for query, parameter in [
        ("created_after=2026-13-01", "created_after"),
        ("created_before=yesterday", "created_before"),
        ("created_after=0001-01-01", "created_after"),
        ("status=lost", "status"),
        ("channel=pigeon", "channel"),
        ("failed=maybe", "failed"),
    ]:
        answer = api.get(f"{URL}?{query}")
        assert answer.status_code == 400, query
        assert list(errors_of(answer)) == [parameter]


def test_a_failed_letter_is_resent(sender, ebox, api, settings):
    settings.DOCUMENTS_MAX_ATTEMPTS = 1
    settings.TASK_RETRY_BASE_SECONDS = 0
    ebox.fail_next(10, status=503)
    letter = make_letter(sender.organisation)
    run_tasks()
    letter.refresh_from_db()
    assert letter.status == Status.FAILED
    ebox._faults.fail.clear()
    url = f"{URL}{letter.public_id}/resend/"
    [listed] = api.get(f"{URL}?failed=true").json()["results"]
    assert listed["id"] == str(letter.public_id) and listed["attempts"] == 1

    wrong = api.post(url, {"address": {"lines": ["Nergens"]}}, content_type="application/json")
    assert wrong.status_code == 400 and list(errors_of(wrong)) == ["address"]
    unknown = api.post(url, {"adres": ["Grote Markt 1"]}, content_type="application/json")
    assert unknown.status_code == 400 and list(errors_of(unknown)) == ["adres"]
    answer = api.post(
        url,
        {"recipient.name": "An Peeters-Claes", "address.lines": ["Grote Markt 1", "8500 Kortrijk"]},
    )
    assert answer.status_code == 202, answer.content
    assert answer.json()["address"]["lines"] == ["Grote Markt 1", "8500 Kortrijk"]
    assert answer.json()["recipient"]["name"] == "An Peeters-Claes"
    again = api.post(url)  # on its way again: not failed any more
    assert again.status_code == 409
    run_tasks()
    shown = api.get(f"{URL}{letter.public_id}/").json()
    assert shown["status"] == "published" and shown["trail_intact"]
    assert ebox.accepted == 1
    assert [s["action"] for s in shown["trail"]].count("letter.signed") == 1
    assert api.get(f"{URL}?failed=true").json()["count"] == 0


def test_another_municipality_sees_nothing_and_sends_nothing(sender, ebox, api, region):
    letter = make_letter(sender.organisation)
    run_tasks()
    Letter.objects.filter(pk=letter.pk).update(status=Status.FAILED, failed_at=timezone.now())
    base = f"{URL}{letter.public_id}/"
    menen = handler_of(region["MEN"])
    session = RecordingClient(HTTP_ACCEPT_LANGUAGE="en")
    session.force_login(menen)
    for client in (token_client(menen), session):
        assert client.get(URL).json()["count"] == 0
        assert client.get(base).status_code == 404
        assert client.get(f"{base}files/1/").status_code == 404
        assert client.post(f"{base}resend/").status_code == 404
    refused = submit(token_client(menen), metadata())
    assert refused.status_code == 403
    assert Letter.objects.count() == 1
    # Someone who sees Kortrijk's letters but may not send them: 403 on what writes.
    agent = token_client(MembershipFactory(organisation=sender.organisation, agent=True).user)
    assert agent.get(base).status_code == 200
    assert agent.post(f"{base}resend/").status_code == 403
    assert submit(agent, metadata()).status_code == 403
    assert Client().get(URL).status_code == 401
    assert Client().post(URL, {"metadata": "{}"}).status_code == 401


def test_a_read_token_reads_but_never_sends(sender, ebox):
    handler = handler_of(sender.organisation)
    letter = make_letter(sender.organisation)
    reader = token_client(handler, scope="read")
    assert reader.get(f"{URL}{letter.public_id}/").status_code == 200
    assert submit(reader, metadata()).status_code == 403
    assert reader.post(f"{URL}{letter.public_id}/resend/").status_code == 403
    assert Letter.objects.count() == 1


def test_the_letters_api_is_in_the_schema(db):
    schema = Client().get("/api/schema/?format=json").json()
    paths = schema["paths"]
    assert set(paths[URL]) == {"get", "post"}
    assert "multipart/form-data" in paths[URL]["post"]["requestBody"]["content"]
    assert {"201", "200", "400", "403", "409", "413"} <= set(paths[URL]["post"]["responses"])
    assert "get" in paths[URL + "{public_id}/"]
    assert (
        "application/pdf"
        in (paths[URL + "{public_id}/files/{position}/"]["get"]["responses"]["200"]["content"])
    )
    assert "post" in paths[URL + "{public_id}/resend/"]
