"""The words of the contact point, as a Dutch and a French reader see them: honest
"(optional)" markers, the follow-up page (its link, its place, the answer box only after
a question), mails that greet once, names instead of codes, the history and the
department names in the reader's language."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import translation

from regiohub.core import history
from regiohub.core.demo.region import load_region
from regiohub.core.models import Department, HistoryEntry
from regiohub.core.testing import run_tasks, staff_client
from regiohub.meldpunt import services
from regiohub.meldpunt.events import Action
from regiohub.meldpunt.models import MessageTemplate
from regiohub.meldpunt.services import citizen
from regiohub.meldpunt.tasks import greets
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db


def browser(language: str, user=None) -> Client:
    client = staff_client(user) if user else Client()
    client.cookies["regiohub_language"] = language
    return client


def submit(language: str = "nl", **kwargs) -> services.Submitted:
    """A report filed from the public form, in ``language`` (the request's language)."""
    values = {
        "category_code": "pothole",
        "description": "Diep gat in het fietspad.",
        "latitude": 50.8278,
        "longitude": 3.2649,
        "channel": "web",
        "reporter_name": "An Peeters",
        "reporter_email": "an@example.org",
        "consent": True,
        "language": language,
        **kwargs,
    }
    with translation.override(language):
        return services.submit_report(**values)


def label(html: str, field: str) -> str:
    found = re.search(rf'<label for="id_{field}">(.*?)</label>', html, re.S)
    assert found, f"no label for {field}"
    return found.group(1)


def followup(submitted: services.Submitted, language: str = "nl") -> str:
    response = browser(language).get(reverse("meldpunt:followup", args=[submitted.token]))
    assert response.status_code == 200
    return response.content.decode()


# --- "(optional)" only on fields that are -----------------------------------------------


def test_the_public_form_marks_only_truly_optional_fields(categories):
    html = browser("nl").get(reverse("meldpunt:report")).content.decode()
    # Needed when no point is marked on the map: not optional.
    assert "niet verplicht" not in label(html, "municipality")
    assert "niet verplicht" not in label(html, "address")
    # Needed for subjects that cannot be anonymous.
    assert "niet verplicht" not in label(html, "reporter_email")
    assert "niet verplicht" in label(html, "reporter_name")
    assert "niet verplicht" in label(html, "latitude")


def test_the_intake_form_marks_only_truly_optional_fields(categories, kortrijk_agent):
    html = browser("nl", kortrijk_agent).get(reverse("meldpunt:intake")).content.decode()
    for field in ("category", "channel", "municipality", "consent", "reporter_language"):
        assert "niet verplicht" not in label(html, field), field
    assert "niet verplicht" in label(html, "reporter_name")


# --- The follow-up page -----------------------------------------------------------------


def test_the_follow_up_page_speaks_of_its_link_not_its_address(categories):
    html = followup(submit())
    assert "deel de link ervan met niemand" in html
    assert "het adres ervan" not in html


def test_an_approximate_place_says_it_is_not_on_a_map(categories):
    submitted = submit(
        latitude=None, longitude=None, address="Grote Markt 1", municipality_code="KOR"
    )
    assert submitted.report.location_is_approximate
    html = followup(submitted)
    assert "Grote Markt 1, Kortrijk (niet aangeduid op een kaart)" in html
    assert "data-location-map" not in html  # the municipality's centre is not the place
    assert "Grote Markt 1, Courtrai (pas indiqué sur une carte)" in followup(submitted, "fr")


def test_a_typed_municipality_is_not_repeated(categories):
    submitted = submit(
        latitude=None, longitude=None, address="Grote Markt 1, Kortrijk", municipality_code="KOR"
    )
    assert "Grote Markt 1, Kortrijk (niet aangeduid op een kaart)" in followup(submitted)


def test_a_marked_place_shows_the_address_and_a_read_only_map(categories):
    html = followup(submit(address="Kerkstraat 5"))
    assert re.search(r"<dt>Plaats</dt><dd>Kerkstraat 5</dd>", html)
    assert 'data-editable="false"' in html
    without_address = followup(submit())
    assert re.search(r"<dt>Plaats</dt><dd>Aangeduid op de kaart</dd>", without_address)


def test_the_answer_box_shows_only_after_a_question(categories, kortrijk_agent):
    submitted = submit()
    answer_url = reverse("meldpunt:followup-answer", args=[submitted.token])
    assert answer_url not in followup(submitted)
    services.send_message(
        submitted.report, "Aan welke kant van de straat?", actor=kortrijk_agent, question=True
    )
    html = followup(submitted)
    assert answer_url in html
    assert "We hebben een vraag voor u" in html
    browser("nl").post(answer_url, {"body": "De oostkant."})
    submitted.report.refresh_from_db()
    assert submitted.report.status == Status.IN_PROGRESS
    assert answer_url not in followup(submitted)


def test_an_answer_from_a_page_opened_before_the_report_moved_on_still_arrives(categories):
    """The box was there when the page was opened; the text the reporter typed is kept
    as long as the report is open (the service refuses finished reports)."""
    submitted = submit()
    answer_url = reverse("meldpunt:followup-answer", args=[submitted.token])
    response = browser("nl").post(answer_url, {"body": "Nog een detail."})
    assert response.status_code == 302
    assert submitted.report.messages.filter(body="Nog een detail.").exists()


# --- Mails greet once -------------------------------------------------------------------


def test_a_templated_message_is_greeted_once(categories, kortrijk_agent):
    submitted = submit()
    run_tasks()
    mail.outbox.clear()
    template = MessageTemplate.objects.create(
        title="Opgelost", language="nl", body="Beste {name},\n\nUw melding is opgelost."
    )
    body = services.render_template(template, submitted.report)
    services.send_message(submitted.report, body, actor=kortrijk_agent)
    run_tasks()
    [sent] = mail.outbox
    assert sent.body.startswith("Beste An Peeters,")
    assert "Goedendag" not in sent.body


def test_a_message_without_a_salutation_gets_one(categories, kortrijk_agent):
    submitted = submit(language="fr")
    run_tasks()
    mail.outbox.clear()
    services.send_message(submitted.report, "De quel côté de la rue ?", actor=kortrijk_agent)
    run_tasks()
    [sent] = mail.outbox
    assert sent.body.startswith("Bonjour,\n\nDe quel côté")
    assert sent.body.count("Bonjour") == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Beste An Peeters,\n\nOpgelost.", True),
        ("Madame, Monsieur,\n\nRésolu.", True),
        ("Aan welke kant van de straat?", False),
        ("Wij hebben, zoals gevraagd, de lamp vervangen en de paal rechtgezet.", False),
    ],
)
def test_a_salutation_is_a_short_first_line_ending_in_a_comma(text, expected):
    assert greets(text) is expected


GREETINGS = re.compile(r"^(Goedendag|Beste|Bonjour|Madame|Dear|Hello)\b", re.M)


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_the_mails_to_the_reporter_greet_once(categories, kortrijk_agent, language):
    submitted = submit(language=language)
    services.change_status(
        submitted.report, Status.CANCELLED, actor=kortrijk_agent, reason="Dubbel"
    )
    run_tasks()
    assert len(mail.outbox) == 2  # the acknowledgement and the news
    for sent in mail.outbox:
        assert len(GREETINGS.findall(sent.body)) == 1, sent.body


# --- Names, not codes -------------------------------------------------------------------


def test_the_staff_page_names_the_language_of_the_reporter(categories, kortrijk_agent):
    report = submit(language="fr").report
    url = reverse("meldpunt:staff-report", args=[report.reference])
    html = browser("nl", kortrijk_agent).get(url).content.decode()
    assert re.search(r"<dt>Taal</dt><dd>Frans</dd>", html)
    assert "<dd>fr</dd>" not in html


# --- History in the reader's language ---------------------------------------------------


def test_history_filed_in_dutch_reads_in_french(categories, kortrijk_agent):
    report = submit(language="nl").report
    with translation.override("nl"):
        citizen.answer(report, "Nog iets.")
    entries = HistoryEntry.objects.for_object(report)
    assert set(entries.values_list("actor_label", flat=True)) == {history.CITIZEN}
    url = reverse("meldpunt:staff-report", args=[report.reference])
    html = browser("fr", kortrijk_agent).get(url).content.decode()
    assert "citoyen" in html
    assert "burger" not in html.replace("burger@", "")
    assert "burger" in browser("nl", kortrijk_agent).get(url).content.decode()


@pytest.mark.parametrize(
    ("stored", "dutch", "french"),
    [
        ("burger", "burger", "citoyen"),  # written in Dutch before the keys
        ("citoyen", "burger", "citoyen"),  # written in French before the keys
        ("citizen", "burger", "citoyen"),
        ("system", "systeem", "système"),
        ("privacyverzoek (opdrachtregel)", "privacyverzoek (opdrachtregel)",
         "demande relative à la vie privée (ligne de commande)"),
        ("Karim Kortrijk", "Karim Kortrijk", "Karim Kortrijk"),
    ],
)  # fmt: skip
def test_old_and_new_history_labels_read_in_every_language(region, stored, dutch, french):
    department = Department.objects.first()
    entry = history.record(department, history.CoreAction.DEPARTMENT_CREATED, actor_label=stored)
    with translation.override("nl"):
        assert entry.actor_display == dutch
    with translation.override("fr"):
        assert entry.actor_display == french


def test_a_request_by_the_citizen_is_recorded_by_key(categories):
    report = submit().report
    services.change_status(report, Status.RESOLVED, actor=None)
    with translation.override("fr"):
        citizen.reopen(report, "Het gat is er nog.")
    entry = HistoryEntry.objects.for_object(report).filter(action=Action.REOPEN_REQUESTED).last()
    assert entry.actor_label == history.CITIZEN


# --- Department names per language ------------------------------------------------------


def test_department_names_follow_the_language(region):
    load_region()  # again: the demo fills the French and English names of what is there
    works = Department.objects.get(organisation=region["KOR"], name="Openbare werken")
    assert (works.name_fr, works.name_en) == ("Travaux publics", "Public works")
    for language, name in [("nl", "Openbare werken"), ("fr", "Travaux publics"),
                           ("en", "Public works")]:  # fmt: skip
        with translation.override(language):
            assert works.display_name == name
            assert str(works) == f"{name} ({works.organisation.display_name})"
    works.name_en = ""
    with translation.override("en"):
        assert works.display_name == "Openbare werken"  # Dutch when no English name


def test_the_staff_report_page_shows_the_department_in_french(categories, kortrijk_agent):
    report = submit().report
    url = reverse("meldpunt:staff-report", args=[report.reference])
    html = browser("fr", kortrijk_agent).get(url).content.decode()
    assert f"<dd>{report.department.name_fr}</dd>" in html
    assert report.department.name_fr


def test_the_reason_a_question_gives_reads_in_the_staff_language(categories, kortrijk_agent):
    """The question was for a French reporter; the Dutch handler reads the reason in Dutch."""
    report = submit(language="fr").report
    services.send_message(report, "De quel côté ?", actor=kortrijk_agent, question=True)
    url = reverse("meldpunt:staff-report", args=[report.reference])
    html = browser("nl", kortrijk_agent).get(url).content.decode()
    assert "Question à l’auteur du signalement" not in html
    entry = HistoryEntry.objects.for_object(report).get(after__status=Status.WAITING_FOR_REPORTER)
    assert entry.reason == "Question to the reporter"
    with translation.override("nl"):
        assert entry.reason_display == "Vraag aan de melder"
    old = history.record(report, Action.NOTE_ADDED, reason="Question à l’auteur du signalement")
    with translation.override("nl"):
        assert old.reason_display == "Vraag aan de melder"
    typed = history.record(report, Action.NOTE_ADDED, reason="Dubbel")
    with translation.override("fr"):
        assert typed.reason_display == "Dubbel"
