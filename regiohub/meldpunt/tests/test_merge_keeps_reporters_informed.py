"""A merge keeps every reporter informed (meldpunt.merges): status changes, messages and
questions on the surviving report reach the reporters of the reports merged into it -
through a chain too (B into A, then A into C) - each in their own language with their own
follow-up link, one mail task per recipient in the same transaction. Staff see the merged
reports' photos and messages on the surviving report; reporters never see each other's
words, photos or details."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks_db.models import DBTaskResult
from PIL import Image

from regiohub.core.models import HistoryEntry
from regiohub.core.testing import run_tasks, staff_client
from regiohub.meldpunt import merges, services
from regiohub.meldpunt.models import ExternalBody, MessageKind, MessageTemplate, Report
from regiohub.meldpunt.photos import process_photo
from regiohub.meldpunt.privacy import anonymise
from regiohub.meldpunt.tasks import send_message_mail
from regiohub.meldpunt.tests.factories import file_report
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db

A, B, C = "a.first@example.org", "b.merged@example.org", "c.last@example.org"
B_PHONE = "0470 12 34 56"
LINK = re.compile(r"https?://\S+/melding/([\w-]+)/")


def photo(colour: str):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, "JPEG")
    buffer.seek(0)
    return process_photo(buffer)


def mails_to(outbox, address: str) -> list:
    return [m for m in outbox if address in m.to]


def message_tasks() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path__endswith="send_message_mail"))


def followup(report: Report) -> str:
    """The report's follow-up page, as its reporter sees it (in English)."""
    browser = Client()
    browser.cookies["regiohub_language"] = "en"
    response = browser.get(reverse("meldpunt:followup", args=[services.followup_token(report)]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def pair(categories, kortrijk_agent, mailoutbox):
    """A (Dutch reporter) and B (French reporter, with a photo), B merged into A."""
    first = file_report(reporter_email=A, description="Put in de Kerkstraat.")
    merged = file_report(
        reporter_email=B,
        reporter_name="Bernard Dubois",
        reporter_phone=B_PHONE,
        language="fr",
        description="Trou devant ma maison au numéro 7.",
        photos=[photo("blue")],
    )
    services.merge(merged, first, actor=kortrijk_agent)
    run_tasks()
    mailoutbox.clear()
    merged.refresh_from_db()
    return first, merged


@pytest.fixture
def chain(pair, kortrijk_agent, mailoutbox):
    """B into A, then A into C."""
    first, merged = pair
    last = file_report(reporter_email=C, description="Gat in de weg, Kerkstraat.")
    services.merge(first, last, actor=kortrijk_agent)
    run_tasks()
    mailoutbox.clear()
    first.refresh_from_db()
    return first, merged, last


# --- Messages and questions reach every reporter -------------------------------------------


def test_a_message_on_the_surviving_report_reaches_the_merged_reporter(
    pair, kortrijk_agent, mailoutbox
):
    first, merged = pair
    services.send_message(first, "We herstellen het gat maandag.", actor=kortrijk_agent)
    assert len(message_tasks()) == 2  # one per recipient, queued with the message
    run_tasks()
    [to_a] = mails_to(mailoutbox, A)
    [to_b] = mails_to(mailoutbox, B)
    assert "We herstellen het gat maandag." in to_b.body
    # B's mail is B's: in French, about B's reference, with B's own link.
    with translation.override("fr"):
        subject = _("Your report %(reference)s: a message") % {"reference": merged.reference}
    assert to_b.subject == subject
    assert merged.reference in to_b.body and first.reference in to_b.body
    assert LINK.search(to_b.body).group(1) == services.followup_token(merged)
    assert LINK.search(to_a.body).group(1) == services.followup_token(first)
    assert services.followup_token(first) not in to_b.body
    assert to_a.extra_headers["Message-ID"] != to_b.extra_headers["Message-ID"]


def test_the_tasks_are_part_of_the_transaction(pair, kortrijk_agent):
    first, _merged = pair
    with pytest.raises(RuntimeError), transaction.atomic():
        services.send_message(first, "Dit gaat niet door.", actor=kortrijk_agent)
        raise RuntimeError
    assert message_tasks() == []
    assert not first.messages.exists()


def test_each_recipient_is_mailed_once_even_when_the_task_runs_again(
    pair, kortrijk_agent, mailoutbox
):
    first, merged = pair
    message = services.send_message(first, "Bericht.", actor=kortrijk_agent)
    run_tasks()
    assert send_message_mail.call(message.pk, merged.pk) == "already sent"
    assert len(mails_to(mailoutbox, B)) == 1


def test_reporters_without_an_address_or_erased_get_no_task(pair, kortrijk_agent, mailoutbox):
    first, merged = pair
    silent = file_report(reporter_email="", reporter_phone="056 11 22 33")
    services.merge(silent, first, actor=kortrijk_agent)
    anonymise(merged, "retention")
    run_tasks()
    mailoutbox.clear()
    DBTaskResult.objects.all().delete()
    services.send_message(first, "Bericht.", actor=kortrijk_agent)
    assert [task.args_kwargs["args"] for task in message_tasks()] == [[first.messages.get().pk]]
    run_tasks()
    assert [m.to for m in mailoutbox] == [[A]]


def test_a_question_reaches_the_merged_reporter_who_answers_on_their_own_page(
    pair, kortrijk_agent, mailoutbox
):
    first, merged = pair
    services.assign(first, actor=kortrijk_agent, assignee=kortrijk_agent)
    services.send_message(
        first, "Aan welke kant van de straat?", actor=kortrijk_agent, question=True
    )
    run_tasks()
    [to_b] = mails_to(mailoutbox, B)
    with translation.override("fr"):
        assert to_b.subject == _("Your report %(reference)s: we have a question") % {
            "reference": merged.reference
        }
    html = followup(merged)
    assert "Aan welke kant van de straat?" in html
    assert "/antwoord/" in html  # the answer form
    mailoutbox.clear()

    browser = Client()
    token = services.followup_token(merged)
    answer = f"Côté gauche. Appelez-moi au {B_PHONE}."
    response = browser.post(reverse("meldpunt:followup-answer", args=[token]), {"body": answer})
    assert response.status_code == 302
    # The answer stays on B's report; A goes back to its handler, who hears of it.
    assert merged.messages.get(kind=MessageKind.FROM_REPORTER).body == answer
    assert not first.messages.filter(kind=MessageKind.FROM_REPORTER).exists()
    first.refresh_from_db()
    assert first.status == Status.IN_PROGRESS
    [entry] = HistoryEntry.objects.for_object(first).filter(action="report.reporter_answered")
    assert entry.after["merged"] == merged.reference
    assert HistoryEntry.objects.for_object(merged).filter(action="report.reporter_answered")
    run_tasks()
    assert mails_to(mailoutbox, kortrijk_agent.email)
    # A's reporter never sees B's answer (it holds B's phone number); staff do, on A.
    assert B_PHONE not in followup(first)
    staff_page = staff_client(kortrijk_agent).get(
        reverse("meldpunt:staff-report", args=[first.reference])
    )
    assert answer in staff_page.content.decode()
    assert B_PHONE in followup(merged)  # their own words, on their own page


def test_a_merged_reporter_cannot_write_when_nobody_waits(pair, kortrijk_agent):
    first, merged = pair
    token = services.followup_token(merged)
    assert "/antwoord/" not in followup(merged)
    browser = Client()
    browser.cookies["regiohub_language"] = "en"
    response = browser.post(reverse("meldpunt:followup-answer", args=[token]), {"body": "Hallo"})
    assert response.status_code == 400
    assert "finished" in str(response.context["answer_form"].errors["body"])
    assert not merged.messages.exists()
    assert Report.objects.get(pk=first.pk).status == Status.NEW


@pytest.mark.parametrize("body", ["", "   ", "x" * 5001])
def test_a_merged_reporters_empty_or_oversized_answer_is_refused(pair, kortrijk_agent, body):
    first, merged = pair
    services.send_message(first, "Welke kant?", actor=kortrijk_agent, question=True)
    browser = Client()
    browser.cookies["regiohub_language"] = "en"
    url = reverse("meldpunt:followup-answer", args=[services.followup_token(merged)])
    response = browser.post(url, {"body": body})
    assert response.status_code == 400
    assert "body" in response.context["answer_form"].errors
    assert Report.objects.get(pk=first.pk).status == Status.WAITING_FOR_REPORTER
    assert not merged.messages.exists()


def test_a_nul_byte_in_a_merged_reporters_answer_is_refused(pair, kortrijk_agent):
    first, merged = pair
    services.send_message(first, "Welke kant?", actor=kortrijk_agent, question=True)
    url = reverse("meldpunt:followup-answer", args=[services.followup_token(merged)])
    response = Client().post(url, {"body": "Links\x00"})
    assert response.status_code == 400
    assert not merged.messages.exists()


def test_a_hand_over_message_reaches_the_merged_reporter(pair, kortrijk_agent, mailoutbox):
    first, _merged = pair
    awv = ExternalBody.objects.create(code="awv", name="AWV", email="awv@example.org")
    services.forward_to_external_body(first, awv, reason="N43", actor=kortrijk_agent)
    run_tasks()
    [to_b] = mails_to(mailoutbox, B)
    assert "AWV" in to_b.body


def test_a_status_change_reaches_the_merged_reporter_in_their_language(
    pair, kortrijk_agent, mailoutbox
):
    first, merged = pair
    services.change_status(first, Status.RESOLVED, actor=kortrijk_agent)
    run_tasks()
    [to_b] = mails_to(mailoutbox, B)
    with translation.override("fr"):
        assert to_b.subject == _("Your report %(reference)s: %(status)s") % {
            "reference": merged.reference,
            "status": Status.RESOLVED.label,
        }
    assert LINK.search(to_b.body).group(1) == services.followup_token(merged)


# --- A chain: B into A, then A into C --------------------------------------------------


def test_in_a_chain_the_first_reporter_hears_the_last_reports_messages_and_status(
    chain, kortrijk_agent, mailoutbox
):
    first, merged, last = chain
    assert merges.merged_ids(last.pk) == [first.pk, merged.pk]
    assert merges.surviving(merged) == last
    services.send_message(last, "De aannemer komt dinsdag.", actor=kortrijk_agent)
    services.change_status(last, Status.RESOLVED, actor=kortrijk_agent)
    assert len(message_tasks()) == 3
    run_tasks()
    for address in (A, B, C):
        assert len(mails_to(mailoutbox, address)) == 2, address
    [message_to_b] = [m for m in mails_to(mailoutbox, B) if "De aannemer" in m.body]
    assert last.reference in message_to_b.body
    assert LINK.search(message_to_b.body).group(1) == services.followup_token(merged)
    html = followup(merged)
    assert "De aannemer komt dinsdag." in html
    assert f"Our message about report {last.reference}" in html
    assert last.reference in html and "Resolved" in html


def test_in_a_chain_the_first_reporter_can_answer_the_last_reports_question(chain, kortrijk_agent):
    first, merged, last = chain
    services.send_message(last, "Is het gat dieper dan 10 cm?", actor=kortrijk_agent, question=True)
    response = Client().post(
        reverse("meldpunt:followup-answer", args=[services.followup_token(merged)]),
        {"body": "Oui, 15 cm."},
    )
    assert response.status_code == 302
    assert Report.objects.get(pk=last.pk).status == Status.IN_PROGRESS
    assert Report.objects.get(pk=first.pk).status == Status.MERGED


def test_the_merge_of_the_middle_report_is_news_for_the_first_reporter(
    pair, kortrijk_agent, mailoutbox
):
    first, _merged = pair
    last = file_report(reporter_email=C)
    run_tasks()
    mailoutbox.clear()
    services.merge(first, last, actor=kortrijk_agent)
    run_tasks()
    assert mails_to(mailoutbox, A) and mails_to(mailoutbox, B)
    assert not mails_to(mailoutbox, C)


# --- What each reporter sees -----------------------------------------------------------


def test_a_merged_reporter_sees_only_what_was_sent_to_them_since_they_joined(
    categories, kortrijk_agent
):
    first = file_report(reporter_email=A)
    services.send_message(first, "Beste mevrouw Peeters, bedankt.", actor=kortrijk_agent)
    merged = file_report(reporter_email=B)
    services.merge(merged, first, actor=kortrijk_agent)
    services.send_message(first, "Aan iedereen: we komen maandag.", actor=kortrijk_agent)
    html = followup(merged)
    assert "Aan iedereen: we komen maandag." in html
    assert "mevrouw Peeters" not in html  # sent to A before B joined


def test_reporters_do_not_see_each_others_words_photos_or_details(chain, kortrijk_agent):
    first, merged, last = chain
    services.send_message(merged, "Merci monsieur Dubois.", actor=kortrijk_agent)
    surviving_page = followup(last)
    middle_page = followup(first)
    [merged_photo] = merged.photos.all()
    for page in (surviving_page, middle_page):
        assert "Trou devant ma maison" not in page  # B's description
        assert "monsieur Dubois" not in page  # a message for B alone
        assert "Bernard" not in page and B_PHONE not in page and B not in page
        assert f"/fotos/{merged_photo.pk}/" not in page  # B's photo
    assert "Gat in de weg" not in followup(merged)  # C's description
    assert "Put in de Kerkstraat" not in followup(merged)  # A's description
    assert "2 other people reported the same problem" in surviving_page


def test_a_photo_of_a_merged_report_is_not_served_through_another_reporters_link(pair):
    first, merged = pair
    [merged_photo] = merged.photos.all()
    url = reverse("meldpunt:followup-photo", args=[services.followup_token(first), merged_photo.pk])
    assert Client().get(url).status_code == 404
    own = reverse(
        "meldpunt:followup-photo", args=[services.followup_token(merged), merged_photo.pk]
    )
    assert Client().get(own).status_code == 200
    html = followup(first)
    assert f"/{merged_photo.pk}/" not in html


# --- What staff see on the surviving report ------------------------------------------------


def test_staff_see_the_photos_and_messages_of_merged_reports_on_the_surviving_one(
    chain, kortrijk_agent
):
    _first, merged, last = chain
    services.send_message(merged, "Merci monsieur Dubois.", actor=kortrijk_agent)
    client = staff_client(kortrijk_agent)
    client.cookies["regiohub_language"] = "en"
    page = client.get(reverse("meldpunt:staff-report", args=[last.reference]))
    html = page.content.decode()
    [merged_photo] = merged.photos.all()
    photo_url = reverse("meldpunt:staff-photo", args=[last.reference, merged_photo.pk])
    assert photo_url in html
    assert "Merci monsieur Dubois." in html
    assert f"on merged report {merged.reference}" in html
    assert client.get(photo_url).status_code == 200
    assert "also reaches the reporters of the 2 reports merged into this one" in html


def test_a_photo_of_an_unrelated_report_is_not_served_through_the_surviving_report(
    pair, kortrijk_agent
):
    first, _merged = pair
    other = file_report(photos=[photo("green")])
    [other_photo] = other.photos.all()
    client = staff_client(kortrijk_agent)
    url = reverse("meldpunt:staff-photo", args=[first.reference, other_photo.pk])
    assert client.get(url).status_code == 404


def test_a_template_greets_neutrally_when_merged_reporters_read_along(pair, kortrijk_agent):
    first, _merged = pair
    Report.objects.filter(pk=first.pk).update(reporter_name="An Peeters")
    template = MessageTemplate.objects.create(
        title="Groet", body="Beste {name},\n\nWe bekijken het.", language="nl"
    )
    client = staff_client(kortrijk_agent)
    page = client.get(
        reverse("meldpunt:staff-report", args=[first.reference]) + f"?template={template.pk}"
    )
    assert page.status_code == 200
    body = page.context["message_form"].initial["body"]
    assert "An Peeters" not in body and body.startswith("Beste ")


# --- The follow-up link lives as long as the report handled for it -----------------------


def test_a_merged_reports_link_works_while_the_surviving_report_is_open(
    pair, kortrijk_agent, settings
):
    first, merged = pair
    long_ago = timezone.now() - timedelta(days=settings.MELDPUNT_FOLLOWUP_DAYS + 30)
    Report.objects.filter(pk=merged.pk).update(closed_at=long_ago)
    assert "Someone reported the same problem earlier" in followup(merged)
    Report.objects.filter(pk=first.pk).update(status=Status.CLOSED, closed_at=long_ago)
    url = reverse("meldpunt:followup", args=[services.followup_token(merged)])
    assert Client().get(url).status_code == 404
