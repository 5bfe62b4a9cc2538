"""Mail to the contact point: replies land on their report, other mails wait as drafts that
an agent takes in; the webhook is authenticated and idempotent."""

from __future__ import annotations

import io
from email.message import EmailMessage

import pytest
from django.test import override_settings
from PIL import Image

from regiohub.core.testing import staff_client
from regiohub.core.tests.factories import MembershipFactory
from regiohub.meldpunt.models import InboundMail, InboundMailState, MessageKind, Report
from regiohub.meldpunt.services import change_status
from regiohub.meldpunt.tests.factories import KORTRIJK_CENTRE, file_report
from regiohub.meldpunt.workflow import Status

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("secret")]

URL = "/meldpunt/mail/inbound/"
SECRET = "s3cret-for-tests"


@pytest.fixture
def secret():
    with override_settings(MELDPUNT_INBOUND_MAIL_SECRET=SECRET):
        yield


def mime(*, sender="An Peeters <burger@example.org>", subject="Vraag", body="Hallo",
         message_id="<m1@example.org>", photo=False) -> bytes:  # fmt: skip
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "meldpunt@regio.example"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message.set_content(body)
    if photo:
        buffer = io.BytesIO()
        Image.new("RGB", (40, 30), "blue").save(buffer, "JPEG")
        message.add_attachment(buffer.getvalue(), maintype="image", subtype="jpeg",
                               filename="put.jpg")  # fmt: skip
    return message.as_bytes()


def deliver(client, raw: bytes, secret: str = SECRET):
    return client.post(
        URL, raw, content_type="message/rfc822", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )


def test_a_reply_with_the_reference_goes_onto_the_report(client, categories):
    report = file_report(reporter_email="burger@example.org")
    change_status(report, Status.WAITING_FOR_REPORTER, actor=None, reason="Welk huisnummer?")
    raw = mime(
        subject=f"Re: Uw melding {report.reference}",
        body="Nummer 12.\n\nOp 25 nov. schreef het meldpunt:\n> Welk huisnummer?",
    )
    response = deliver(client, raw)
    assert response.status_code == 200
    report.refresh_from_db()
    assert report.status == Status.IN_PROGRESS
    message = report.messages.get(kind=MessageKind.FROM_REPORTER)
    assert message.body == "Nummer 12."  # the quoted history is left out
    assert InboundMail.objects.get().state == InboundMailState.THREADED


def test_a_reply_from_someone_else_is_not_threaded(client, categories):
    report = file_report(reporter_email="burger@example.org")
    deliver(client, mime(sender="x@evil.example", subject=f"Re: {report.reference}"))
    assert not report.messages.exists()
    assert InboundMail.objects.get().state == InboundMailState.NEW


def test_a_new_mail_is_a_draft_the_agent_takes_in_with_its_photo(client, categories, region):
    deliver(client, mime(subject="Lamp kapot", body="De lamp aan de kerk brandt niet.",
                         photo=True))  # fmt: skip
    mail = InboundMail.objects.get()
    assert mail.state == InboundMailState.NEW and mail.attachments.count() == 1
    agent = MembershipFactory(organisation=region["ZWVL"], agent=True).user
    browser = staff_client(agent)
    assert "Lamp kapot" in browser.get("/staff/reports/mail/").content.decode()
    form = browser.get(f"/staff/reports/new/?mail={mail.pk}")
    assert form.context["form"].initial["reporter_email"] == "burger@example.org"
    response = browser.post("/staff/reports/new/", {
        "mail": mail.pk, "channel": "email", "category": "street-light",
        "description": "De lamp aan de kerk brandt niet.",
        "latitude": KORTRIJK_CENTRE[0], "longitude": KORTRIJK_CENTRE[1],
        "reporter_email": "burger@example.org", "reporter_language": "nl", "consent": "on",
        "client_key": "mail-1",
    })  # fmt: skip
    assert response.status_code == 302
    report = Report.objects.get()
    assert report.channel == "email"
    assert report.photos.count() == 1
    mail.refresh_from_db()
    assert mail.state == InboundMailState.CONVERTED and mail.report == report


def test_a_municipal_agent_does_not_see_the_regional_mailbox(client, categories, kortrijk_agent):
    deliver(client, mime())
    assert staff_client(kortrijk_agent).get("/staff/reports/mail/").status_code == 403


def test_the_same_mail_delivered_twice_is_stored_once(client, categories):
    deliver(client, mime())
    deliver(client, mime())
    assert InboundMail.objects.count() == 1


@pytest.mark.parametrize(
    ("given", "raw", "status"),
    [
        ("wrong", mime(), 401),
        ("", mime(), 401),
        (SECRET, b"", 400),
        (SECRET, b"not a mail at all", 400),
    ],
)
def test_bad_deliveries_are_refused(client, categories, given, raw, status):
    assert deliver(client, raw, given).status_code == status
    assert not InboundMail.objects.exists()


def test_without_a_secret_the_webhook_does_not_exist(client, categories):
    with override_settings(MELDPUNT_INBOUND_MAIL_SECRET=""):
        assert deliver(client, mime(), "").status_code == 404


def test_html_only_mail_is_read_as_text(client, categories):
    message = EmailMessage()
    message["From"] = "burger@example.org"
    message["Subject"] = "Afval"
    message["Message-ID"] = "<h1@example.org>"
    message.set_content("<p>Zakken <b>afval</b> aan de glasbol</p><script>x()</script>",
                        subtype="html")  # fmt: skip
    deliver(client, message.as_bytes())
    body = InboundMail.objects.get().body
    assert "Zakken afval aan de glasbol" in body
    assert "<" not in body
