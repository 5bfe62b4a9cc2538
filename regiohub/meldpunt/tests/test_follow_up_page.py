"""The reporter's private follow-up page: the token is the only key, so a wrong, erased or
expired one answers 404 without a trace of the report; the page shows what the reporter
may read (never internal notes or hand-over reasons) and takes their answer, photos,
satisfaction answer and request to reopen, each within its rules."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from regiohub.core.models import HistoryEntry
from regiohub.core.testing import run_tasks
from regiohub.meldpunt import services
from regiohub.meldpunt.models import ExternalBody, Message, MessageKind, Photo, Report
from regiohub.meldpunt.photos import process_photo
from regiohub.meldpunt.privacy import anonymise
from regiohub.meldpunt.services import citizen
from regiohub.meldpunt.tests.factories import KORTRIJK_CENTRE, MENEN_CENTRE
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db

DESCRIPTION = "Diep gat in het fietspad voor nummer 12."


@pytest.fixture
def client() -> Client:
    """A citizen's browser, in English so the wording can be checked."""
    browser = Client()
    browser.cookies["regiohub_language"] = "en"
    return browser


def submit(**kwargs) -> services.Submitted:
    defaults = {
        "category_code": "pothole",
        "description": DESCRIPTION,
        "latitude": KORTRIJK_CENTRE[0],
        "longitude": KORTRIJK_CENTRE[1],
        "channel": "web",
        "reporter_email": "burger@example.org",
        "consent": True,
    }
    return services.submit_report(**{**defaults, **kwargs})


def url(name: str, token: str, *args: object) -> str:
    return reverse(f"meldpunt:{name}", args=[token, *args])


def jpeg(colour: str = "red", name: str = "photo.jpg") -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, "JPEG")
    buffer.seek(0)
    buffer.name = name
    return buffer


def processed(colour: str = "blue"):
    return process_photo(jpeg(colour))


def set_fields(report: Report, **fields) -> Report:
    Report.objects.filter(pk=report.pk).update(**fields)
    report.refresh_from_db()
    return report


def resolved(agent, **kwargs) -> services.Submitted:
    submitted = submit(**kwargs)
    services.change_status(submitted.report, Status.RESOLVED, actor=agent)
    submitted.report.refresh_from_db()
    return submitted


def assert_not_found_without_trace(response, report: Report) -> None:
    assert response.status_code == 404
    body = response.content.decode(errors="replace")
    assert report.reference not in body
    assert DESCRIPTION not in body
    assert "burger@example.org" not in body


# --- Who gets in ------------------------------------------------------------------------


def test_the_right_token_opens_the_page_privately(client, categories):
    submitted = submit()
    response = client.get(url("followup", submitted.token))
    assert response.status_code == 200
    html = response.content.decode()
    assert submitted.report.reference in html
    assert DESCRIPTION in html
    assert "no-store" in response["Cache-Control"]
    # The URL holds the secret: other sites never get it as referrer.
    assert response["Referrer-Policy"] in ("no-referrer", "same-origin")
    assert "noindex" in response["X-Robots-Tag"]
    # The token the mails repeat is the one the page accepts.
    assert services.followup_token(submitted.report) == submitted.token


@pytest.mark.parametrize(
    "path",
    [
        "/melding/wrong-token/",
        "/melding/" + "a" * 300 + "/",
        "/melding/" + "a" * 101 + "/",
        "/melding/../",
        "/melding/..%2F..%2Fetc%2Fpasswd/",
        "/melding/%2500/",
        "/melding/'%20OR%201=1%20--/",
        "/melding/%E2%80%AE/",
    ],
)
def test_a_wrong_or_malformed_token_is_404_without_a_trace(client, categories, path):
    submitted = submit()
    assert_not_found_without_trace(client.get(path), submitted.report)


def test_a_token_one_character_off_is_404(client, categories):
    submitted = submit()
    token = submitted.token
    other = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert_not_found_without_trace(client.get(url("followup", other)), submitted.report)
    assert_not_found_without_trace(client.get(url("followup", token.upper())), submitted.report)


def test_the_token_of_an_anonymised_report_is_404(client, categories):
    submitted = submit()
    anonymise(submitted.report, "Op vraag van de melder")
    submitted.report.refresh_from_db()
    assert submitted.report.token_hash is None
    assert_not_found_without_trace(client.get(url("followup", submitted.token)), submitted.report)
    assert citizen.report_for_token(submitted.token) is None


def test_the_link_expires_a_while_after_closure(client, categories, settings, kortrijk_agent):
    settings.MELDPUNT_FOLLOWUP_DAYS = 30
    submitted = resolved(kortrijk_agent)
    services.change_status(submitted.report, Status.CLOSED, actor=kortrijk_agent)
    page = url("followup", submitted.token)
    assert client.get(page).status_code == 200  # just closed
    set_fields(submitted.report, closed_at=timezone.now() - timedelta(days=29))
    assert client.get(page).status_code == 200
    set_fields(submitted.report, closed_at=timezone.now() - timedelta(days=31))
    assert_not_found_without_trace(client.get(page), submitted.report)
    # Every action behind the link is closed too.
    response = client.post(url("followup-answer", submitted.token), {"body": "Hallo?"})
    assert_not_found_without_trace(response, submitted.report)
    assert not Message.objects.filter(report=submitted.report).exists()


def test_an_open_report_never_expires_however_old(client, categories, settings):
    settings.MELDPUNT_FOLLOWUP_DAYS = 30
    submitted = submit()
    set_fields(submitted.report, created_at=timezone.now() - timedelta(days=400))
    assert client.get(url("followup", submitted.token)).status_code == 200


def test_a_photo_of_another_report_is_404_even_with_a_valid_token(client, categories):
    mine = submit()
    theirs = submit(description="Een andere melding.", reporter_email="ander@example.org")
    [photo] = services.attach_photos(theirs.report, [processed()], by_reporter=True)
    response = client.get(url("followup-photo", mine.token, photo.pk))
    assert response.status_code == 404
    # Their own token does show it.
    served = client.get(url("followup-photo", theirs.token, photo.pk))
    assert served.status_code == 200
    assert served["Content-Type"] == "image/jpeg"
    assert "no-store" in served["Cache-Control"]


def test_a_photo_with_a_wrong_token_is_404(client, categories):
    submitted = submit()
    [photo] = services.attach_photos(submitted.report, [processed()], by_reporter=True)
    assert client.get(url("followup-photo", "wrong", photo.pk)).status_code == 404


# --- What the page shows ----------------------------------------------------------------


def test_the_page_shows_status_and_public_messages_never_notes_or_handover_reasons(
    client, categories, kortrijk_agent
):
    submitted = submit()
    report = submitted.report
    services.change_status(report, Status.IN_PROGRESS, actor=kortrijk_agent)
    services.add_note(report, "INTERN: buurman is een lastige klant", actor=kortrijk_agent)
    services.send_message(report, "We komen morgen kijken.", actor=kortrijk_agent)
    services.change_status(
        report, Status.ON_HOLD, actor=kortrijk_agent, reason="INTERN: wacht op aannemer"
    )
    services.forward_to_municipality(
        report,
        report.organisation.__class__.objects.get(code="MEN"),
        reason="INTERN: grens ligt net anders",
        actor=kortrijk_agent,
    )
    Message.objects.create(report=report, kind=MessageKind.HANDOVER, body="INTERN: overdracht")
    html = client.get(url("followup", submitted.token)).content.decode()
    assert "We komen morgen kijken." in html
    told = report.messages.get(kind=MessageKind.TO_REPORTER, author__isnull=True)
    assert "Menen" in told.body and told.body in html
    assert "In progress" in html and "On hold" in html
    assert "INTERN" not in html
    assert "lastige klant" not in html
    # Who did what stays out as well.
    assert kortrijk_agent.email not in html
    assert str(kortrijk_agent.full_name) not in html


def test_the_reason_of_a_hand_over_to_an_external_body_stays_internal(
    client, categories, kortrijk_agent
):
    body = ExternalBody.objects.create(
        code="awv", name="Agentschap Wegen en Verkeer", email="awv@example.org"
    )
    submitted = submit()
    services.forward_to_external_body(
        submitted.report, body, reason="INTERN: gewestweg N43", actor=kortrijk_agent
    )
    html = client.get(url("followup", submitted.token)).content.decode()
    assert "Agentschap Wegen en Verkeer" in html  # the reporter is told who handles it
    assert "N43" not in html and "INTERN" not in html


def test_a_question_shows_the_callout_and_the_answer_form(client, categories, kortrijk_agent):
    submitted = submit()
    page = url("followup", submitted.token)
    assert "We have a question for you" not in client.get(page).content.decode()
    services.send_message(
        submitted.report, "Aan welke kant van de straat?", actor=kortrijk_agent, question=True
    )
    response = client.get(page)
    html = response.content.decode()
    assert response.context["waiting"] is True
    assert "We have a question for you" in html
    assert "Aan welke kant van de straat?" in html
    assert f'action="{url("followup-answer", submitted.token)}"' in html


# --- Answering --------------------------------------------------------------------------


def test_an_answer_puts_the_report_back_with_the_handler_and_restarts_the_clock(
    client, categories, kortrijk_agent, mailoutbox
):
    submitted = submit()
    report = submitted.report
    services.assign(report, actor=kortrijk_agent, assignee=kortrijk_agent)
    services.send_message(report, "Welke kant?", actor=kortrijk_agent, question=True)
    report.refresh_from_db()
    assert report.status == Status.WAITING_FOR_REPORTER
    assert report.sla_pauses.get().ended_at is None
    run_tasks()
    mailoutbox.clear()

    response = client.post(url("followup-answer", submitted.token), {"body": "De oostkant."})
    assert response.status_code == 302
    assert response["Location"] == url("followup", submitted.token)
    report.refresh_from_db()
    assert report.status == Status.IN_PROGRESS
    assert report.sla_pauses.get().ended_at is not None
    assert report.resolution_due_at is not None
    answer = report.messages.get(kind=MessageKind.FROM_REPORTER)
    assert answer.body == "De oostkant."
    assert answer.author is None
    assert (
        HistoryEntry.objects.for_object(report).filter(action="report.reporter_answered").exists()
    )

    run_tasks()
    [mail] = [m for m in mailoutbox if kortrijk_agent.email in m.to]
    assert report.reference in mail.subject
    assert reverse("meldpunt:staff-report", args=[report.reference]) in mail.body
    assert "De oostkant." not in mail.body  # the text stays in the application
    run_tasks()
    assert len([m for m in mailoutbox if kortrijk_agent.email in m.to]) == 1


def test_an_answer_without_an_assignee_mails_nobody(client, categories, mailoutbox):
    submitted = submit()
    run_tasks()
    mailoutbox.clear()
    client.post(url("followup-answer", submitted.token), {"body": "Nog een detail."})
    run_tasks()
    assert mailoutbox == []
    assert submitted.report.messages.filter(kind=MessageKind.FROM_REPORTER).count() == 1


@pytest.mark.parametrize("body", ["", "   ", "x" * 5001])
def test_an_empty_or_too_long_answer_is_refused_and_nothing_is_recorded(
    client, categories, kortrijk_agent, body
):
    submitted = submit()
    services.send_message(submitted.report, "Welke kant?", actor=kortrijk_agent, question=True)
    entries = HistoryEntry.objects.for_object(submitted.report).count()
    response = client.post(url("followup-answer", submitted.token), {"body": body})
    assert response.status_code == 400
    assert "body" in response.context["answer_form"].errors
    assert "no-store" in response["Cache-Control"]
    report = Report.objects.get(pk=submitted.report.pk)
    assert report.status == Status.WAITING_FOR_REPORTER
    assert not report.messages.filter(kind=MessageKind.FROM_REPORTER).exists()
    assert HistoryEntry.objects.for_object(report).count() == entries


def test_an_answer_to_a_finished_report_is_refused(client, categories, kortrijk_agent):
    """The page offers no answer form once the report is finished; the server agrees."""
    submitted = submit()
    services.change_status(
        submitted.report, Status.CANCELLED, actor=kortrijk_agent, reason="Dubbel"
    )
    response = client.post(url("followup-answer", submitted.token), {"body": "Toch nog?"})
    assert response.status_code == 400
    assert "finished" in str(response.context["answer_form"].errors["body"])
    assert not submitted.report.messages.filter(kind=MessageKind.FROM_REPORTER).exists()


def test_a_get_on_an_action_url_is_refused(client, categories):
    submitted = submit()
    assert client.get(url("followup-answer", submitted.token)).status_code == 405


# --- Photos -----------------------------------------------------------------------------


def test_photos_can_be_added_up_to_the_maximum_then_the_next_is_refused(client, categories):
    submitted = submit()
    report = submitted.report
    action = url("followup-photos", submitted.token)
    assert client.post(action, {"photos": [jpeg("red")]}).status_code == 302
    assert client.post(action, {"photos": [jpeg("green"), jpeg("blue")]}).status_code == 302
    assert report.photos.count() == 3
    assert all(p.by_reporter for p in report.photos.all())
    page = client.get(url("followup", submitted.token))
    assert page.context["photo_form"] is None  # no slots left: no form

    response = client.post(action, {"photos": [jpeg("yellow")]})
    assert response.status_code == 400
    assert "at most 3 photos" in str(response.context["photo_form"].errors)
    assert "at most 3 photos" in response.content.decode()
    assert report.photos.count() == 3


def test_two_photos_when_one_slot_is_left_are_refused_together(client, categories):
    submitted = submit()
    services.attach_photos(submitted.report, [processed(), processed()], by_reporter=True)
    response = client.post(
        url("followup-photos", submitted.token), {"photos": [jpeg("red"), jpeg("green")]}
    )
    assert response.status_code == 400
    assert Photo.objects.filter(report=submitted.report).count() == 2


def test_no_photo_chosen_is_refused_with_a_message(client, categories):
    submitted = submit()
    response = client.post(url("followup-photos", submitted.token), {})
    assert response.status_code == 400
    assert "Choose a photo first" in response.content.decode()


def test_a_photo_cannot_be_added_to_a_finished_report(client, categories, kortrijk_agent):
    submitted = resolved(kortrijk_agent)
    assert client.get(url("followup", submitted.token)).context["photo_form"] is None
    response = client.post(url("followup-photos", submitted.token), {"photos": [jpeg()]})
    assert response.status_code == 400
    assert "finished" in response.content.decode()
    assert not submitted.report.photos.exists()


# --- Satisfaction: see test_satisfaction_asked_once.py (it replaced the 1-5 rating) -----


# --- Reopening --------------------------------------------------------------------------


def test_a_resolved_report_can_be_asked_to_reopen_within_the_window_with_a_reason(
    client, categories, kortrijk_agent, settings
):
    settings.MELDPUNT_REOPEN_DAYS = 14
    submitted = resolved(kortrijk_agent)
    set_fields(submitted.report, resolved_at=timezone.now() - timedelta(days=13))
    response = client.post(
        url("followup-reopen", submitted.token), {"reason": "Het gat is er opnieuw."}
    )
    assert response.status_code == 302
    # A request for an agent to decide (ADR 0039), not a reopen by itself.
    report = Report.objects.get(pk=submitted.report.pk)
    assert report.status == Status.RESOLVED
    assert report.reopen_requests.get().reason == "Het gat is er opnieuw."
    entry = HistoryEntry.objects.for_object(report).filter(action="report.reopen_requested").get()
    assert entry.actor is None
    assert report.messages.get(kind=MessageKind.FROM_REPORTER).body == "Het gat is er opnieuw."
    # The reporter sees their reason on the page, and that the request waits.
    page = client.get(url("followup", submitted.token))
    assert "Het gat is er opnieuw." in page.content.decode()
    assert page.context["reopen_waiting"] is not None and page.context["reopen_form"] is None


def test_reopening_after_the_window_is_refused_with_a_message(
    client, categories, kortrijk_agent, settings
):
    settings.MELDPUNT_REOPEN_DAYS = 14
    submitted = resolved(kortrijk_agent)
    set_fields(submitted.report, resolved_at=timezone.now() - timedelta(days=15))
    assert client.get(url("followup", submitted.token)).context["reopen_form"] is None
    response = client.post(url("followup-reopen", submitted.token), {"reason": "Nog steeds."})
    assert response.status_code == 400
    assert "can no longer be reopened" in response.content.decode()
    submitted.report.refresh_from_db()
    assert submitted.report.status == Status.RESOLVED


def test_an_open_report_cannot_be_reopened(client, categories):
    submitted = submit()
    response = client.post(url("followup-reopen", submitted.token), {"reason": "Heropen!"})
    assert response.status_code == 400
    submitted.report.refresh_from_db()
    assert submitted.report.status == Status.NEW


def test_reopening_needs_a_reason(client, categories, kortrijk_agent):
    submitted = resolved(kortrijk_agent)
    response = client.post(url("followup-reopen", submitted.token), {"reason": "  "})
    assert response.status_code == 400
    assert "reason" in response.context["reopen_form"].errors
    submitted.report.refresh_from_db()
    assert submitted.report.status == Status.RESOLVED


# --- Mails and CSRF ---------------------------------------------------------------------


def test_the_acknowledgement_mail_holds_a_working_follow_up_link(client, categories, mailoutbox):
    submitted = submit(reporter_email="an@example.org")
    run_tasks()
    [mail] = mailoutbox
    assert mail.to == ["an@example.org"]
    assert submitted.report.reference in mail.subject
    links = re.findall(r"https?://\S+/melding/[\w-]+/", mail.body)
    assert len(links) == 1
    path = urlparse(links[0]).path
    assert path == url("followup", submitted.token)
    response = client.get(path)
    assert response.status_code == 200
    assert submitted.report.reference in response.content.decode()


def test_the_link_in_a_message_mail_works_too(client, categories, kortrijk_agent, mailoutbox):
    submitted = submit()
    services.send_message(submitted.report, "Hersteld tegen vrijdag.", actor=kortrijk_agent)
    run_tasks()
    [mail] = [m for m in mailoutbox if "Hersteld tegen vrijdag." in m.body]
    [link] = re.findall(r"https?://\S+/melding/[\w-]+/", mail.body)
    assert client.get(urlparse(link).path).status_code == 200


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("followup-answer", {"body": "Hallo"}),
        ("followup-rate", {"rating": "5"}),
        ("followup-reopen", {"reason": "Nog steeds"}),
        ("followup-photos", {}),
    ],
)
def test_a_post_without_csrf_token_is_refused(categories, name, data):
    submitted = submit()
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(url(name, submitted.token), data)
    assert response.status_code == 403
    assert not submitted.report.messages.exists()


def test_a_post_with_the_page_csrf_token_is_accepted(categories):
    submitted = submit()
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(url("followup", submitted.token))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    response = browser.post(
        url("followup-answer", submitted.token), {"body": "Hallo", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert submitted.report.messages.filter(kind=MessageKind.FROM_REPORTER).exists()


def test_a_report_of_another_municipality_works_the_same(client, categories):
    submitted = submit(latitude=MENEN_CENTRE[0], longitude=MENEN_CENTRE[1])
    assert submitted.report.organisation.code == "MEN"
    assert client.get(url("followup", submitted.token)).status_code == 200


def test_too_many_posts_on_a_follow_up_page_are_asked_to_wait(client, categories):
    from django.core.cache import cache
    from django.test import override_settings

    from regiohub.meldpunt.tests.factories import file_report as _file

    report = _file()
    token = services.followup_token(report)
    cache.clear()
    with override_settings(MELDPUNT_FOLLOWUP_RATE="1/hour"):
        client.post(f"/melding/{token}/antwoord/", {"body": "eerste"})
        second = client.post(f"/melding/{token}/antwoord/", {"body": "tweede"})
    assert second.status_code == 429
    assert report.messages.filter(body="tweede").count() == 0
