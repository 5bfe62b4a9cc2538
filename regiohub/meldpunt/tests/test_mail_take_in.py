"""An agent takes an incoming mail in as a report: the report, its photos and the mail
marked converted are one transaction, so a mail becomes one report, once, or nothing."""

from __future__ import annotations

import io
from email.message import EmailMessage

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from regiohub.core.testing import staff_client
from regiohub.core.tests.factories import MembershipFactory
from regiohub.meldpunt.contrib.mail import services as mail_services
from regiohub.meldpunt.contrib.mail.intake import receive
from regiohub.meldpunt.contrib.mail.services import take_in
from regiohub.meldpunt.models import InboundMail, InboundMailState, Photo, Report
from regiohub.meldpunt.photos import process_photo
from regiohub.meldpunt.services import filing
from regiohub.meldpunt.tests.factories import KORTRIJK_CENTRE

pytestmark = pytest.mark.django_db


def jpeg(colour: str = "blue") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def incoming_mail() -> InboundMail:
    message = EmailMessage()
    message["From"] = "An Peeters <burger@example.org>"
    message["Subject"] = "Lamp kapot"
    message["Message-ID"] = "<take-in-1@example.org>"
    message.set_content("De lamp aan de kerk brandt niet.")
    message.add_attachment(jpeg(), maintype="image", subtype="jpeg", filename="lamp.jpg")
    return receive(message.as_bytes())


def report_fields(**changes) -> dict:
    fields = {
        "category_code": "street-light",
        "description": "De lamp aan de kerk brandt niet.",
        "latitude": KORTRIJK_CENTRE[0],
        "longitude": KORTRIJK_CENTRE[1],
        "channel": "email",
        "reporter_email": "burger@example.org",
        "consent": True,
    }
    return {**fields, **changes}


@pytest.fixture
def agent(categories):
    return MembershipFactory(organisation=categories["ZWVL"], agent=True).user


def test_taking_in_files_the_report_with_the_mail_photos_and_marks_the_mail(agent):
    mail = incoming_mail()
    report = take_in(mail.pk, actor=agent, **report_fields()).report
    mail.refresh_from_db()
    assert mail.state == InboundMailState.CONVERTED and mail.report == report
    assert report.photos.count() == 1


def test_a_mail_taken_in_twice_becomes_one_report_and_the_second_agent_is_told_which(agent):
    mail = incoming_mail()
    first = take_in(mail.pk, actor=agent, **report_fields(client_key="agent-1")).report
    with pytest.raises(ValidationError) as refused:
        take_in(mail.pk, actor=agent, **report_fields(client_key="agent-2"))
    [error] = refused.value.error_dict["mail"]
    assert error.code == "converted"
    assert first.reference in error.messages[0]
    assert Report.objects.count() == 1
    assert first.photos.count() == 1  # the mail's photo did not go along twice


def test_through_the_intake_page_the_second_send_shows_the_report_it_became(agent):
    mail = incoming_mail()
    browser = staff_client(agent)
    browser.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # stable wording
    post = {
        "mail": mail.pk, "channel": "email", "category": "street-light",
        "description": "De lamp aan de kerk brandt niet.",
        "latitude": KORTRIJK_CENTRE[0], "longitude": KORTRIJK_CENTRE[1],
        "reporter_email": "burger@example.org", "reporter_language": "en", "consent": "on",
    }  # fmt: skip
    assert browser.post("/staff/reports/new/", {**post, "client_key": "a"}).status_code == 302
    report = Report.objects.get()
    # A second agent's form (or the same form in another tab) sent later.
    again = browser.post("/staff/reports/new/", {**post, "client_key": "b"})
    assert again.status_code == 200
    refusal = f"This mail was already taken in as report {report.reference}."
    assert refusal in again.content.decode()
    assert Report.objects.count() == 1
    # The mailbox link of a mail taken in already says so instead of opening the form.
    opened = browser.get(f"/staff/reports/new/?mail={mail.pk}", follow=True)
    assert opened.redirect_chain[-1][0].endswith("/staff/reports/mail/")
    assert refusal in opened.content.decode()


def test_a_failure_while_filing_leaves_the_mail_waiting_and_no_report(agent, monkeypatch):
    mail = incoming_mail()

    def outbox_down(*args, **kwargs):
        raise RuntimeError("task table unavailable")

    monkeypatch.setattr(filing, "enqueue", outbox_down)  # the acknowledgement's task row
    with pytest.raises(RuntimeError):
        take_in(mail.pk, actor=agent, **report_fields())
    mail.refresh_from_db()
    assert mail.state == InboundMailState.NEW and mail.report is None
    assert not Report.objects.exists() and not Photo.objects.exists()
    monkeypatch.undo()
    # Nothing half-written: the next try goes through as if it were the first.
    report = take_in(mail.pk, actor=agent, **report_fields()).report
    mail.refresh_from_db()
    assert mail.state == InboundMailState.CONVERTED and mail.report == report


def test_a_failure_after_filing_undoes_the_report_and_its_photo_files(agent, monkeypatch):
    mail = incoming_mail()
    written: list[str] = []
    attach = filing.attach_photos

    def recording_attach(*args, **kwargs):
        stored = attach(*args, **kwargs)
        written.extend(photo.file.name for photo in stored)
        return stored

    def unreadable(mail):
        raise OSError("media volume gone")

    monkeypatch.setattr(filing, "attach_photos", recording_attach)
    monkeypatch.setattr(mail_services, "_as_photos", unreadable)
    upload = process_photo(ContentFile(jpeg("red")), name="desk.jpg")
    with pytest.raises(OSError):
        take_in(mail.pk, actor=agent, **report_fields(photos=[upload]))
    mail.refresh_from_db()
    assert mail.state == InboundMailState.NEW and mail.report is None
    assert not Report.objects.exists() and not Photo.objects.exists()
    assert written and not any(default_storage.exists(name) for name in written)


def test_checking_for_nearby_reports_keeps_the_mail_being_taken_in(agent):
    """After "Check" the form still carries the mail, so filing then converts it (before,
    the mail was dropped from the form and stayed waiting for a second intake)."""
    mail = incoming_mail()
    client = staff_client(agent)
    page = client.post(
        f"/staff/reports/new/?mail={mail.pk}",
        {"check": "1", "mail": str(mail.pk), "latitude": KORTRIJK_CENTRE[0],
         "longitude": KORTRIJK_CENTRE[1], "channel": "email"},
    )  # fmt: skip
    assert page.status_code == 200
    assert f'<input type="hidden" name="mail" value="{mail.pk}">' in page.content.decode()
