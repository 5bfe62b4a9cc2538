"""The letters' staff pages: what a handler sees of a letter (its trail, its proof, its
sealed files) with the national register number masked everywhere; letters of another
municipality out of sight; a letter submitted by hand once, however often the form is sent;
bad input named per field with nothing stored; a failed letter sent again."""

from __future__ import annotations

import hashlib
import re
import uuid

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from regiohub.core.roles import Role
from regiohub.core.testing import run_tasks, staff_client
from regiohub.core.tests.factories import MembershipFactory
from regiohub.documents import services
from regiohub.documents.compose import default_template
from regiohub.documents.delivery import CannotDeliver, record_failure
from regiohub.documents.models import Letter, LetterEvent, LetterTemplate, Status
from regiohub.documents.tests.conftest import ADDRESS, CITIZEN, CITIZEN_PAPER, pdf

pytestmark = pytest.mark.django_db

#: The citizen's number as it must never appear on a page: bare, or written out.
WHOLE = [CITIZEN, "93.05.18-223.61", "93051822361"]
MASKED = "••.••.••-•23.61"


def submission(org, number=CITIZEN, *, address=True, **extra):
    return services.Submission(
        organisation=org,
        reference=extra.pop("reference", "OMV-2026-0042"),
        idempotency_key=str(uuid.uuid4()),
        recipient_kind="citizen",
        recipient_number=number,
        recipient_name="An Peeters" if address else "",
        address_lines=ADDRESS if address else [],
        subjects={"nl": "Beslissing omgevingsvergunning"},
        files=[("besluit.pdf", pdf(2))],
        **extra,
    )


@pytest.fixture
def handler(sender):
    return MembershipFactory(organisation=sender.organisation, role=Role.HANDLER).user


@pytest.fixture
def client(handler):
    return staff_client(handler)


@pytest.fixture
def delivered(sender, ebox):
    """A letter sealed and published in the eBox by the worker."""
    done = services.submit(submission(sender.organisation))
    run_tasks()
    letter = Letter.objects.get(pk=done.letter.pk)
    assert letter.status == Status.PUBLISHED
    return letter


@pytest.fixture
def failed(sender):
    """A letter that failed for want of an address: the eBox could not be asked when it
    came in, and later said the citizen does not use it."""
    from regiohub.documents.channels.ebox import EboxUnavailable

    def unavailable(*args, **kwargs):
        raise EboxUnavailable("down")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("regiohub.documents.channels.ebox.EboxChannel.recipient_status", unavailable)
        done = services.submit(submission(sender.organisation, CITIZEN_PAPER, address=False))
    run_tasks()
    letter = Letter.objects.get(pk=done.letter.pk)
    assert letter.status == Status.FAILED and letter.channel == ""
    return letter


def html(response) -> str:
    return response.content.decode()


def no_whole_number(page: str) -> None:
    for form in WHOLE:
        assert form not in page
    # Nor the digits with any separators between them.
    assert not re.search(r"9\D?3\D?0\D?5\D?1\D?8\D?2\D?2\D?3\D?6\D?1", page)


# --- What a handler sees ---------------------------------------------------------------------


def test_the_pages_show_a_delivered_letter_with_its_proof_and_the_number_masked(
    client, delivered, failed
):
    item = delivered.files.get()
    detail = client.get(reverse("documents:letter", args=[delivered.public_id]))
    assert detail.status_code == 200
    page = html(detail)
    no_whole_number(page)
    assert MASKED in page
    assert item.original_sha256 in page and item.signed_sha256 in page
    assert detail.context["verdict"].intact
    assert [p.same for p in detail.context["proofs"]] == [True]
    actions = [step.event.action for step in detail.context["steps"]]
    assert actions == ["letter.received", "letter.signed", "letter.routed", "letter.published"]
    assert reverse("documents:file", args=[delivered.public_id, 1]) in page

    listing = client.get(reverse("documents:list"))
    assert listing.status_code == 200
    no_whole_number(html(listing))
    assert MASKED in html(listing) and delivered.reference in html(listing)
    assert listing.context["overview"].failed == 1
    assert reverse("documents:failed") in html(listing)  # the way to the failed letters

    dead = client.get(reverse("documents:failed"))
    assert dead.status_code == 200
    no_whole_number(html(dead))
    assert [row[0].pk for row in dead.context["rows"]] == [failed.pk]
    assert reverse("documents:resend", args=[failed.public_id]) in html(dead)

    for url in (
        reverse("documents:letter", args=[failed.public_id]),
        reverse("documents:new"),
    ):
        response = client.get(url)
        assert response.status_code == 200
        no_whole_number(html(response))


def test_the_list_filters_by_status_channel_and_reference(client, delivered, failed):
    def shown(**params):
        response = client.get(reverse("documents:list"), params)
        assert response.status_code == 200
        return {letter.pk for letter, _subject in response.context["rows"]}

    assert shown() == {delivered.pk, failed.pk}
    assert shown(status="failed") == {failed.pk}
    assert shown(channel="ebox") == {delivered.pk}
    assert shown(q="omv-2026") == {delivered.pk, failed.pk}
    assert shown(q="nothing-like-it") == set()
    assert shown(status="no-such-status", page="x") == {delivered.pk, failed.pk}


def test_a_regional_agent_filters_by_the_municipalities_in_reach(region, delivered):
    agent = staff_client(MembershipFactory(organisation=region["ZWVL"], agent=True).user)
    response = agent.get(reverse("documents:list"), {"municipality": "KOR"})
    assert [letter.pk for letter, _subject in response.context["rows"]] == [delivered.pk]
    codes = [code for code, _label in response.context["form"].fields["municipality"].choices]
    assert codes == ["", "KOR"]  # only those that send letters
    other = agent.get(reverse("documents:list"), {"municipality": "MEN"})
    assert [row[0].pk for row in other.context["rows"]] == [delivered.pk]  # not a choice: ignored


def test_a_nul_byte_in_a_filter_is_refused_not_a_server_error(client, delivered):
    assert client.get(reverse("documents:list"), {"q": "OMV\x00"}).status_code == 400


def test_the_sealed_file_downloads_as_an_attachment(client, delivered):
    item = delivered.files.get()
    response = client.get(reverse("documents:file", args=[delivered.public_id, 1]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert hashlib.sha256(response.content).hexdigest() == item.signed_sha256
    assert response.content == default_storage.open(item.signed).read()
    assert client.get(reverse("documents:file", args=[delivered.public_id, 2])).status_code == 404


def test_a_menen_handler_cannot_see_download_or_resend_a_kortrijk_letter(region, delivered, failed):
    menen = staff_client(MembershipFactory(organisation=region["MEN"], role=Role.HANDLER).user)
    for letter in (delivered, failed):
        assert menen.get(reverse("documents:letter", args=[letter.public_id])).status_code == 404
        assert menen.get(reverse("documents:file", args=[letter.public_id, 1])).status_code == 404
        resend = menen.post(
            reverse("documents:resend", args=[letter.public_id]),
            {"address": "Grote Markt 1\n8930 Menen", "recipient_name": "X"},
        )
        assert resend.status_code == 404
    listing = menen.get(reverse("documents:list"))
    assert listing.status_code == 200 and listing.context["rows"] == []
    assert delivered.reference not in html(listing)
    assert menen.get(reverse("documents:failed")).context["rows"] == []
    failed.refresh_from_db()
    assert failed.status == Status.FAILED  # nothing was resent


def test_an_agent_sees_letters_but_may_not_send_or_resend(region, sender, failed):
    agent = staff_client(MembershipFactory(organisation=sender.organisation, agent=True).user)
    assert agent.get(reverse("documents:letter", args=[failed.public_id])).status_code == 200
    assert agent.get(reverse("documents:new")).status_code == 403
    assert agent.post(reverse("documents:new"), {}).status_code == 403
    assert agent.post(reverse("documents:resend", args=[failed.public_id])).status_code == 403
    someone = staff_client(MembershipFactory(organisation=sender.organisation).user)
    assert someone.get(reverse("documents:list")).status_code == 403


# --- A letter submitted by hand --------------------------------------------------------------


def form_data(client, **changes):
    """What the new-letter page posts, with the key it was shown with."""
    shown = client.get(reverse("documents:new"))
    assert shown.status_code == 200
    form = shown.context["form"]
    data = {
        "municipality": str(form.initial["municipality"]),
        "reference": "OMV-2026-0042",
        "department": "Omgeving",
        "recipient_kind": "citizen",
        "recipient_number": "93.05.18-223.61",
        "recipient_name": "An Peeters",
        "address": "\n".join(ADDRESS),
        "language": "nl",
        "subject_nl": "Beslissing omgevingsvergunning",
        "template": "",
        "body": "",
        "idempotency_key": form.initial["idempotency_key"],
        "pdfs": [SimpleUploadedFile("besluit.pdf", pdf(2), content_type="application/pdf")],
    }
    data.update(changes)
    return data


def test_a_letter_submitted_by_hand_is_one_letter_however_often_it_is_sent(client, sender, ebox):
    data = form_data(client)
    first = client.post(reverse("documents:new"), data)
    letter = Letter.objects.get()
    assert first.status_code == 302
    assert first["Location"] == reverse("documents:letter", args=[letter.public_id]) + "#main"
    assert letter.recipient_number == CITIZEN and letter.department == "Omgeving"
    assert letter.address_lines == ADDRESS
    # A double click, or the browser sending the form again: the same letter, once.
    data["pdfs"] = [SimpleUploadedFile("besluit.pdf", pdf(2), content_type="application/pdf")]
    again = client.post(reverse("documents:new"), data)
    assert again.status_code == 302 and again["Location"] == first["Location"]
    assert Letter.objects.count() == 1
    run_tasks()
    assert ebox.accepted == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"recipient_number": "93.05.18-223.62"}, "recipient_number"),
        (
            {"pdfs": [SimpleUploadedFile("besluit.pdf", b"not a pdf", "application/pdf")]},
            "pdfs",
        ),
        (
            {"recipient_number": CITIZEN_PAPER, "recipient_name": "", "address": ""},
            "address",
        ),
        ({"pdfs": [], "subject_nl": ""}, "pdfs"),
        ({"reference": "OMV\x002026"}, "reference"),
        ({"municipality": "1\x00"}, "municipality"),
        ({"address": "Grote Markt 54\x00\n8500 Kortrijk"}, "address"),
    ],
    ids=[
        "wrong checksum",
        "not a pdf",
        "no address",
        "no files",
        "nul",
        "nul in municipality",
        "nul in address",
    ],
)
def test_bad_input_is_named_per_field_and_nothing_is_stored(client, sender, changes, field):
    response = client.post(reverse("documents:new"), form_data(client, **changes))
    assert response.status_code == 400
    form = response.context["form"]
    assert field in form.errors
    page = html(response)
    assert 'id="form-errors"' in page  # the summary on top, linking to the field
    assert f'href="#{form[field].id_for_label}"' in page
    assert 'aria-invalid="true"' in page
    assert not Letter.objects.exists() and not LetterEvent.objects.exists()


def test_a_letter_written_from_a_template(client, sender, ebox):
    LetterTemplate.objects.create(
        organisation=sender.organisation, name="Vergunning", source=default_template()
    )
    template = LetterTemplate.objects.get()
    missing = client.post(
        reverse("documents:new"), form_data(client, pdfs=[], template=str(template.pk))
    )
    assert missing.status_code == 400 and "body" in missing.context["form"].errors
    data = form_data(
        client,
        pdfs=[],
        template=str(template.pk),
        body="Het college keurt uw aanvraag goed.\n\nMet vriendelijke groeten.",
        var_salutation="Geachte mevrouw Peeters,",
        var_signatory="Jan Janssens\nAlgemeen directeur",
    )
    response = client.post(reverse("documents:new"), data)
    assert response.status_code == 302
    data["pdfs"] = []
    assert client.post(reverse("documents:new"), data)["Location"] == response["Location"]
    letter = Letter.objects.get()
    item = letter.files.get()
    assert item.filename == "OMV-2026-0042.pdf"
    assert default_storage.open(item.original).read().startswith(b"%PDF-")
    # The standard letter needs no template of the municipality.
    data = form_data(client, pdfs=[], template="standard", body="Tekst.", reference="B-2")
    assert client.post(reverse("documents:new"), data).status_code == 302
    assert Letter.objects.count() == 2


def test_a_template_of_another_municipality_is_refused(client, sender, region):
    other = LetterTemplate.objects.create(
        organisation=region["MEN"], name="Menen", source=default_template()
    )
    data = form_data(client, pdfs=[], template=str(other.pk), body="Tekst.")
    response = client.post(reverse("documents:new"), data)
    assert response.status_code == 400 and "template" in response.context["form"].errors
    assert not Letter.objects.exists()


# --- A failed letter sent again -------------------------------------------------------------


def test_a_failed_letter_is_sent_again_to_a_corrected_address(client, failed, partner):
    url = reverse("documents:resend", args=[failed.public_id])
    nul = client.post(url, {"recipient_name": "An Peeters", "address": "Grote Markt\x00 54"})
    assert nul.status_code == 400  # refused before the view, with the site's error page
    too_long = {"recipient_name": "An Peeters", "address": "Grote Markt 54" + "x" * 50 + "\n8500"}
    bad = client.post(url, too_long)
    assert bad.status_code == 400 and "address" in bad.context["resend_form"].errors
    assert 'id="form-errors"' in html(bad)
    failed.refresh_from_db()
    assert failed.status == Status.FAILED
    response = client.post(
        url, {"recipient_name": "An Peeters", "address": "Grote Markt 54\r\n8500 Kortrijk\r\n"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("documents:letter", args=[failed.public_id])
    run_tasks()
    failed.refresh_from_db()
    assert failed.failed_at is None and failed.channel == "paper"
    assert failed.status == Status.ROUTED
    assert failed.address_lines == ADDRESS and failed.recipient_name == "An Peeters"
    actions = list(failed.events.values_list("action", flat=True))
    assert actions[-3:] == ["letter.address_changed", "letter.resent", "letter.routed"]


def test_a_failed_letter_is_sent_again_from_the_failed_list(client, sender, delivered):
    record_failure(delivered.pk, CannotDeliver("test"), final=True)
    response = client.post(
        reverse("documents:resend", args=[delivered.public_id]), {"next": "failed"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("documents:failed")
    delivered.refresh_from_db()
    assert delivered.failed_at is None and delivered.status == Status.PUBLISHED
    # A second click: the letter is not failed any more, nothing is sent again.
    again = client.post(reverse("documents:resend", args=[delivered.public_id]))
    assert again.status_code == 302
    assert delivered.events.filter(action="letter.resent").count() == 1
