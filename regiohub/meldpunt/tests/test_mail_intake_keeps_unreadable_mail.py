"""Real mail that intake cannot read cleanly (unknown character sets, NUL, thousands of
nested parts, anything that makes intake fail) is kept for an agent and answered 2xx: a
mail service retries a 500 and then drops the citizen's mail. Issue 15."""

from __future__ import annotations

import pytest

from regiohub.core.testing import staff_client
from regiohub.core.tests.factories import MembershipFactory
from regiohub.meldpunt.contrib.mail import intake
from regiohub.meldpunt.models import InboundMail, InboundMailState
from regiohub.meldpunt.tests.test_mail_intake import SECRET, URL, deliver, mime

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("secret")]


@pytest.fixture
def secret():
    from django.test import override_settings

    with override_settings(MELDPUNT_INBOUND_MAIL_SECRET=SECRET):
        yield


@pytest.fixture(autouse=True)
def english(client):
    """The messages are checked in English (their msgids); Dutch is the default."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def raw_mail(charset: str, body: bytes = b"De lamp br\xe9ndt niet.", subject: bytes = b"Lamp",
             message_id: bytes = b"<c1@example.org>") -> bytes:  # fmt: skip
    return (
        b"From: An Peeters <burger@example.org>\r\n"
        b"To: meldpunt@regio.example\r\n"
        b"Subject: " + subject + b"\r\n"
        b"Message-ID: " + message_id + b"\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=" + charset.encode() + b"\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body + b"\r\n"
    )


def stored(response) -> InboundMail:
    assert response.status_code == 200, response.content
    mail = InboundMail.objects.get(pk=response.json()["id"])
    assert mail.state == InboundMailState.NEW
    return mail


@pytest.mark.parametrize("charset", ["unknown-8bit", "x-user-defined", "no-such-charset-42"])
def test_an_unknown_charset_is_read_as_well_as_possible(client, categories, charset):
    mail = stored(deliver(client, raw_mail(charset)))
    assert mail.body == "De lamp bréndt niet."  # \xe9 read as Windows-1252
    assert charset in mail.intake_note
    assert mail.original.read() == raw_mail(charset)


def test_utf8_under_an_unknown_charset_is_read_as_utf8(client, categories):
    mail = stored(deliver(client, raw_mail("unknown-8bit", body="Brûlé".encode())))
    assert mail.body == "Brûlé"


def test_an_encoded_word_in_an_unknown_charset_in_the_subject(client, categories):
    mail = stored(deliver(client, raw_mail("utf-8", subject=b"=?unknown-8bit?q?L=E9mp?=")))
    assert mail.subject.startswith("L") and mail.subject.endswith("mp")


def test_nul_anywhere_in_the_mail_is_not_stored(client, categories):
    raw = raw_mail("utf-8", body=b"Lamp\x00 kapot", subject=b"La\x00mp",
                   message_id=b"<n\x00ul@example.org>")  # fmt: skip
    mail = stored(deliver(client, raw))
    assert "\x00" not in mail.body + mail.subject + mail.message_id + mail.from_name
    assert mail.body == "Lamp kapot"


def test_raw_mime_posted_as_a_form_field_may_hold_nul(client, categories):
    """The webhook's body is raw MIME (a form field ``body-mime`` for some services): the
    platform's NUL check leaves it to intake, which cleans what it stores."""
    raw = raw_mail("utf-8", body=b"Lamp\x00 kapot").decode("latin-1")
    response = client.post(URL, {"body-mime": raw}, HTTP_AUTHORIZATION=f"Bearer {SECRET}")
    assert stored(response).body == "Lamp kapot"


def nested(depth: int) -> bytes:
    """A mail whose text sits ``depth`` multipart levels deep."""
    head = (
        b"From: burger@example.org\r\nSubject: Diep\r\nMessage-ID: <deep@example.org>\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b0"\r\n\r\n'
    )
    opening = b"".join(
        b'--b%d\r\nContent-Type: multipart/mixed; boundary="b%d"\r\n\r\n' % (i - 1, i)
        for i in range(1, depth)
    )
    text = b"--b%d\r\nContent-Type: text/plain\r\n\r\nDiep verstopt\r\n" % (depth - 1)
    closing = b"".join(b"--b%d--\r\n" % i for i in range(depth - 1, -1, -1))
    return head + opening + text + closing


def test_two_thousand_nested_parts_are_skipped_with_a_note(client, categories):
    raw = nested(2000)
    mail = stored(deliver(client, raw))
    assert mail.subject == "Diep"
    assert mail.from_address == "burger@example.org"
    assert "nested too deeply" in mail.intake_note
    assert mail.original.read() == raw


def test_parts_below_the_depth_limit_are_skipped_with_a_count(client, categories):
    mail = stored(deliver(client, nested(intake.MAX_DEPTH + 5)))
    assert "parts were skipped" in mail.intake_note
    assert mail.original


def test_too_many_sibling_parts_are_cut_to_the_limit(client, categories):
    parts = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\nDeel %d\r\n" % i for i in range(500))
    raw = (
        b"From: burger@example.org\r\nSubject: Veel\r\nMessage-ID: <many@example.org>\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        + parts + b"--b--\r\n"
    )  # fmt: skip
    mail = stored(deliver(client, raw))
    assert mail.body == "Deel 0"
    assert f"{500 - intake.MAX_PARTS + 1} parts were skipped" in mail.intake_note


def test_an_ordinary_mail_keeps_no_original_and_no_note(client, categories):
    mail = stored(deliver(client, mime()))
    assert mail.intake_note == "" and not mail.original


def test_a_mail_intake_fails_on_is_kept_for_an_agent_and_answered_200(
    client, categories, monkeypatch
):
    def broken(raw):
        raise RuntimeError("a bug in intake")

    monkeypatch.setattr("regiohub.meldpunt.contrib.mail.views.receive", broken)
    raw = mime(subject="Lamp kapot", message_id="<broken@example.org>")
    response = deliver(client, raw)
    mail = stored(response)
    assert response.json()["note"] == mail.intake_note
    assert "could not be read" in mail.intake_note
    assert (mail.from_address, mail.subject) == ("burger@example.org", "Lamp kapot")
    assert mail.original.read() == raw
    # The service retries anyway: still one mail.
    assert stored(deliver(client, raw)).pk == mail.pk
    assert InboundMail.objects.count() == 1


def test_the_agent_sees_the_note_and_downloads_the_original(client, categories, region):
    mail = stored(deliver(client, raw_mail("x-user-defined")))
    agent = MembershipFactory(organisation=region["ZWVL"], agent=True).user
    browser = staff_client(agent)
    page = browser.get("/staff/reports/mail/").content.decode()
    assert "x-user-defined" in page
    response = browser.get(f"/staff/reports/mail/{mail.pk}/original/")
    assert response.status_code == 200
    assert response["Content-Type"] == "message/rfc822"
    assert b"".join(response.streaming_content) == raw_mail("x-user-defined")


def test_a_municipal_agent_cannot_download_the_original(client, categories, kortrijk_agent):
    mail = stored(deliver(client, raw_mail("x-user-defined")))
    response = staff_client(kortrijk_agent).get(f"/staff/reports/mail/{mail.pk}/original/")
    assert response.status_code == 403
