"""A letter's way out, end to end: submitted, sealed, routed by the eBox's answer,
published once or batched for the print partner once, its trail whole and its proof
recorded; failures retried and then listed, resent from where they stopped."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.utils import translation

from regiohub.core.roles import Role
from regiohub.core.testing import run_tasks
from regiohub.core.tests.factories import MembershipFactory
from regiohub.documents import delivery, paper, services, trail
from regiohub.documents.models import Letter, LetterEvent, PaperBatch, Status
from regiohub.documents.signing import verify
from regiohub.documents.tests.conftest import (
    ADDRESS,
    CITIZEN,
    CITIZEN_NEVER,
    CITIZEN_PAPER,
    COMPANY,
    pdf,
)
from regiohub.documents.tests.test_signing import pdfsig


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def stored_bytes(stored) -> bytes:
    [(_name, _media_type, data)] = stored.files.values()
    return data


def submission(org, number=CITIZEN, *, key=None, kind="citizen", address=True, **extra):
    return services.Submission(
        organisation=org,
        reference=extra.pop("reference", "OMV-2026-0042"),
        idempotency_key=key or str(uuid.uuid4()),
        recipient_kind=kind,
        recipient_number=number,
        recipient_name="An Peeters" if address else "",
        address_lines=ADDRESS if address else [],
        subjects={"nl": "Beslissing omgevingsvergunning", "fr": "Décision permis"},
        files=extra.pop("files", [("besluit.pdf", pdf(2))]),
        **extra,
    )


def test_a_letter_to_an_ebox_user_is_sealed_and_published_once(sender, ebox, pki, tmp_path):
    done = services.submit(submission(sender.organisation), actor_label="omv-app")
    assert done.created
    run_tasks()
    letter = Letter.objects.get(pk=done.letter.pk)
    assert letter.status == Status.PUBLISHED and letter.channel == "ebox"
    assert ebox.accepted == 1
    item = letter.files.get()
    sealed = default_storage.open(item.signed).read()
    assert hashlib.sha256(sealed).hexdigest() == item.signed_sha256 == item.delivered_sha256
    stored = next(iter(ebox.messages.values()))
    assert [hashlib.sha256(f[2]).hexdigest() for f in stored.files.values()] == [item.signed_sha256]
    assert verify(sealed, pki.validation_context()).ok
    # What the eBox holds is what poppler's pdfsig calls valid and wholly signed (B-T).
    said = pdfsig(stored_bytes(stored), tmp_path)
    assert "Signature is Valid" in said and "Total document signed" in said, said
    actions = list(letter.events.values_list("action", flat=True))
    assert actions == ["letter.received", "letter.signed", "letter.routed", "letter.published"]
    assert trail.verify(letter).intact


def test_the_same_key_twice_is_one_letter_and_other_content_is_refused(sender, ebox):
    first = services.submit(submission(sender.organisation, key="omv-42"))
    again = services.submit(submission(sender.organisation, key="omv-42"))
    assert again.letter.pk == first.letter.pk and not again.created
    run_tasks()
    assert ebox.accepted == 1
    with pytest.raises(services.KeyConflict):
        services.submit(submission(sender.organisation, key="omv-42", reference="OTHER"))


def test_a_citizen_without_ebox_gets_paper_in_the_daily_batch(sender, ebox, partner):
    done = services.submit(submission(sender.organisation, CITIZEN_PAPER))
    run_tasks()
    letter = Letter.objects.get(pk=done.letter.pk)
    assert letter.status == Status.ROUTED and letter.channel == "paper"
    assert delivery.batch_paper(sender.organisation_id)
    letter.refresh_from_db()
    assert letter.status == Status.BATCHED
    assert list(partner.letters.values()) == [1]
    assert delivery.batch_paper(sender.organisation_id) == []  # nothing twice
    item = letter.files.get()
    assert item.delivered_sha256 == item.signed_sha256
    assert trail.verify(letter).intact


def test_a_never_opened_ebox_gets_paper_too(sender, ebox, partner):
    done = services.submit(submission(sender.organisation, CITIZEN_NEVER))
    run_tasks()
    letter = Letter.objects.get(pk=done.letter.pk)
    assert letter.status == Status.PUBLISHED and letter.paper_copy
    delivery.batch_paper(sender.organisation_id)
    letter.refresh_from_db()
    assert letter.batched_at is not None and letter.status == Status.PUBLISHED


def test_a_missing_address_for_a_recipient_without_ebox_is_refused_at_once(sender, ebox):
    with pytest.raises(services.SubmissionError) as refused:
        services.submit(submission(sender.organisation, CITIZEN_PAPER, address=False))
    assert "address" in refused.value.errors
    assert not Letter.objects.exists()
    # An eBox user needs no address.
    services.submit(submission(sender.organisation, COMPANY, kind="enterprise", address=False))


def test_bad_input_names_each_field_and_stores_nothing(sender):
    bad = submission(
        sender.organisation,
        "93051822362",
        key="sleutel-é",
        files=[("x.pdf", b"not a pdf")],
        reference="",
        language="xx",
    )
    with pytest.raises(services.SubmissionError) as refused:
        services.submit(bad)
    assert {"recipient.number", "idempotency_key", "files", "reference", "language"} <= set(
        refused.value.errors
    )
    assert not Letter.objects.exists() and not LetterEvent.objects.exists()


def test_an_unavailable_ebox_is_retried_then_listed_and_resent(sender, ebox, settings):
    settings.DOCUMENTS_MAX_ATTEMPTS = 2
    settings.TASK_RETRY_BASE_SECONDS = 0
    ebox.fail_next(10, status=503)
    done = services.submit(submission(sender.organisation))
    run_tasks()
    letter = Letter.objects.get(pk=done.letter.pk)
    assert letter.status == Status.FAILED and letter.failed_at is not None
    assert letter.signed_at is not None  # sealed once, not again on resend
    assert ebox.accepted == 0
    ebox._faults.fail.clear()
    handler = MembershipFactory(organisation=sender.organisation, role=Role.HANDLER).user
    services.resend(letter, actor=handler)
    run_tasks()
    letter.refresh_from_db()
    assert letter.status == Status.PUBLISHED and ebox.accepted == 1
    assert letter.events.filter(action="letter.signed").count() == 1
    assert trail.verify(letter).intact


def test_an_edited_trail_row_is_caught(sender, ebox):
    done = services.submit(submission(sender.organisation))
    run_tasks()
    event = LetterEvent.objects.filter(letter=done.letter, action="letter.routed").get()
    LetterEvent.objects.filter(pk=event.pk).update(detail={"channel": "paper"})
    verdict = trail.verify(done.letter)
    assert not verdict.intact and verdict.broken_at == event.sequence


def test_paper_batch_crash_after_assignment_hands_the_same_letters_once(sender, ebox, partner):
    for _ in range(3):
        services.submit(submission(sender.organisation, CITIZEN_PAPER))
    run_tasks()
    partner.fail_next(1, "drop")  # the partner takes it, the answer is lost
    with pytest.raises(paper.RetryableError):
        delivery.batch_paper(sender.organisation_id)
    assert PaperBatch.objects.get().state == PaperBatch.State.OPEN
    delivery.batch_paper(sender.organisation_id)
    assert PaperBatch.objects.get().state == PaperBatch.State.UPLOADED
    assert sorted(partner.letters.values()) == [1, 1, 1]
    assert Letter.objects.filter(status=Status.BATCHED).count() == 3


def test_statuses_come_back_and_an_unread_letter_goes_on_paper_after_n_days(sender, ebox, partner):
    from datetime import timedelta

    from django.utils import timezone

    Sender = type(sender)
    Sender.objects.filter(pk=sender.pk).update(paper_after_days=14)
    read = services.submit(submission(sender.organisation)).letter
    unread = services.submit(submission(sender.organisation)).letter
    on_paper = services.submit(submission(sender.organisation, CITIZEN_PAPER)).letter
    run_tasks()
    read.refresh_from_db()
    ebox.mark_read(read.ebox_message_id)
    Letter.objects.filter(pk=unread.pk).update(published_at=timezone.now() - timedelta(days=15))
    counts = delivery.poll(sender.organisation_id)
    assert counts["read"] == 1 and counts["paper_copy"] == 1
    assert delivery.poll(sender.organisation_id)["read"] == 0  # once
    read.refresh_from_db()
    unread.refresh_from_db()
    assert read.status == Status.READ and read.read_at is not None and not read.paper_copy
    assert unread.paper_copy and unread.status == Status.PUBLISHED
    [batch] = delivery.batch_paper(sender.organisation_id)
    assert set(partner.letters) == {str(unread.public_id), str(on_paper.public_id)}
    partner.add_event(batch, str(on_paper.public_id), "DELIVERED", mail_id="m-1")
    partner.add_event(batch, str(unread.public_id), "RETURNED", reason="MOVED")
    counts = delivery.poll(sender.organisation_id)
    assert counts["delivered"] == 1 and counts["returned"] == 1
    on_paper.refresh_from_db()
    unread.refresh_from_db()
    assert on_paper.status == Status.DELIVERED and unread.status == Status.RETURNED
    assert delivery.poll(sender.organisation_id)["delivered"] == 0
    for letter in (read, unread, on_paper):
        assert trail.verify(letter).intact


def test_another_municipality_cannot_resend_a_letter(sender, ebox, region, settings):
    settings.DOCUMENTS_MAX_ATTEMPTS = 1
    ebox.fail_next(5, status=503)
    letter = services.submit(submission(sender.organisation)).letter
    run_tasks()
    letter.refresh_from_db()
    assert letter.status == Status.FAILED
    menen = MembershipFactory(organisation=region["MEN"], role=Role.HANDLER).user
    with pytest.raises(PermissionDenied):
        services.resend(letter, actor=menen)
    with pytest.raises(PermissionDenied):
        services.submit(submission(sender.organisation), actor=menen)


def test_two_workers_on_one_letter_record_each_step_once(sender, ebox):
    """A task requeued while its first run still goes (a lease that ran out): both runs
    seal and publish, the second finds the step done and leaves no trace."""
    from regiohub.documents.models import LetterFile

    letter = services.submit(submission(sender.organisation)).letter
    stale = Letter.objects.get(pk=letter.pk)
    delivery.seal(Letter.objects.get(pk=letter.pk), sender)
    delivery.seal(stale, sender)  # the second run, which read the letter before
    item = LetterFile.objects.get(letter=letter)
    assert hashlib.sha256(default_storage.open(item.signed).read()).hexdigest() == (
        item.signed_sha256
    )
    assert len(default_storage.listdir(item.signed.rsplit("/", 1)[0])[1]) == 2  # in + sealed
    delivery.route(Letter.objects.get(pk=letter.pk), sender)
    first, second = Letter.objects.get(pk=letter.pk), Letter.objects.get(pk=letter.pk)
    delivery.publish(first, sender)
    delivery.publish(second, sender)
    assert ebox.accepted == 1 and ebox.duplicates == 1
    actions = list(Letter.objects.get(pk=letter.pk).events.values_list("action", flat=True))
    assert actions == ["letter.received", "letter.signed", "letter.routed", "letter.published"]
    assert trail.verify(letter).intact
