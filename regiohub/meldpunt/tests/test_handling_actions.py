"""What staff do with a report (services.handling): assign, note, message the reporter,
fill templates, hand over, merge and split - each within its rules, recorded in history,
and with the mails it owes sent once, even when the mail server fails for a while."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.core.exceptions import ValidationError
from django.core.mail.backends.locmem import EmailBackend
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from PIL import Image

from regiohub.core.models import Department, HistoryEntry, Organisation
from regiohub.core.roles import Role
from regiohub.core.tasks import enqueue
from regiohub.core.testing import run_tasks, staff_client
from regiohub.core.tests.factories import MembershipFactory
from regiohub.meldpunt import services
from regiohub.meldpunt.models import (
    Category,
    ExternalBody,
    Handover,
    Message,
    MessageKind,
    MessageTemplate,
    Report,
)
from regiohub.meldpunt.photos import process_photo
from regiohub.meldpunt.privacy import anonymise
from regiohub.meldpunt.tasks import send_handover_mail
from regiohub.meldpunt.tests.factories import KORTRIJK_CENTRE, MENEN_CENTRE, file_report
from regiohub.meldpunt.workflow import Status, TransitionNotAllowed

pytestmark = pytest.mark.django_db

EMAIL = "burger@example.org"
FOLLOWUP_LINK = re.compile(r"https?://\S+/melding/[\w-]+/")


def entries(report: Report, action: str) -> list[HistoryEntry]:
    return list(HistoryEntry.objects.for_object(report).filter(action=action))


def mails_to(outbox, address: str) -> list:
    return [m for m in outbox if address in m.to]


def photo(colour: str = "red"):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, "JPEG")
    buffer.seek(0)
    return process_photo(buffer)


def flushed(outbox) -> None:
    """Run the tasks queued so far (the acknowledgement mails) and forget their mails."""
    run_tasks()
    outbox.clear()


@pytest.fixture
def awv(db) -> ExternalBody:
    return ExternalBody.objects.create(
        code="awv", name="Agentschap Wegen en Verkeer", email="meldingen@awv.example.org"
    )


@pytest.fixture
def menen(region) -> Organisation:
    return region["MEN"]


# --- Assign -----------------------------------------------------------------------------


def test_assigning_a_department_of_another_municipality_is_refused(categories, kortrijk_agent):
    report = file_report()
    menen_roads = Department.objects.get(organisation__code="MEN", name="Openbare werken")
    with pytest.raises(ValidationError) as excinfo:
        services.assign(report, actor=kortrijk_agent, department=menen_roads)
    assert "department" in excinfo.value.error_dict
    report.refresh_from_db()
    assert report.department.organisation.code == "KOR"
    assert not entries(report, "report.assigned")


@pytest.mark.parametrize(
    "who", ["menen_agent", "kortrijk_employee", "kortrijk_analyst", "inactive_agent"]
)
def test_assigning_someone_who_does_not_handle_its_reports_is_refused(
    categories, kortrijk_agent, who
):
    person = {
        "menen_agent": lambda: MembershipFactory(organisation=categories["MEN"], agent=True),
        "kortrijk_employee": lambda: MembershipFactory(organisation=categories["KOR"]),
        "kortrijk_analyst": lambda: MembershipFactory(
            organisation=categories["KOR"], role=Role.ANALYST
        ),
        "inactive_agent": lambda: MembershipFactory(
            organisation=categories["KOR"], agent=True, user__is_active=False
        ),
    }[who]().user
    report = file_report()
    with pytest.raises(ValidationError) as excinfo:
        services.assign(report, actor=kortrijk_agent, assignee=person)
    assert "assignee" in excinfo.value.error_dict
    report.refresh_from_db()
    assert report.assignee is None
    assert not entries(report, "report.assigned")


def test_assigning_records_before_and_after_in_history(categories, kortrijk_agent):
    report = file_report()
    handler = MembershipFactory(organisation=categories["KOR"], role=Role.HANDLER).user
    mobility = Department.objects.get(organisation__code="KOR", name="Mobiliteit")
    report = services.assign(report, actor=kortrijk_agent, department=mobility, assignee=handler)
    assert (report.department, report.assignee) == (mobility, handler)
    [entry] = entries(report, "report.assigned")
    assert entry.actor == kortrijk_agent
    assert entry.before["assignee"] is None
    assert entry.after["assignee"] == handler.pk
    assert entry.after["department"] == mobility.pk
    assert entry.organisation_id == categories["KOR"].pk


def test_a_region_admin_may_be_assigned_a_municipal_report(categories, region_admin):
    report = services.assign(file_report(), actor=region_admin, assignee=region_admin)
    assert report.assignee == region_admin


def test_an_assignment_that_changes_nothing_records_nothing(categories, kortrijk_agent):
    report = file_report()
    services.assign(report, actor=kortrijk_agent, assignee=kortrijk_agent)
    services.assign(report, actor=kortrijk_agent, assignee=kortrijk_agent)
    services.assign(report, actor=kortrijk_agent, department=report.department)
    services.assign(report, actor=kortrijk_agent)
    assert len(entries(report, "report.assigned")) == 1
    services.assign(report, actor=kortrijk_agent, clear_assignee=True)
    services.assign(report, actor=kortrijk_agent, clear_assignee=True)
    assert len(entries(report, "report.assigned")) == 2
    report.refresh_from_db()
    assert report.assignee is None


# --- Notes ------------------------------------------------------------------------------


def test_a_note_is_internal_recorded_and_never_mailed(categories, kortrijk_agent, mailoutbox):
    report = file_report()
    flushed(mailoutbox)
    note = services.add_note(report, "  Buurman belt elke dag.  ", actor=kortrijk_agent)
    assert note.kind == MessageKind.NOTE and not note.is_public
    assert note.body == "Buurman belt elke dag."
    assert note.author == kortrijk_agent
    [entry] = entries(report, "report.note_added")
    assert entry.after == {"message": note.pk}
    assert "Buurman" not in str(entry.after) + entry.reason
    run_tasks()
    assert mailoutbox == []


@pytest.mark.parametrize("body", ["", "   ", "x" * 5001])
def test_an_empty_or_too_long_note_is_refused(categories, kortrijk_agent, body):
    report = file_report()
    with pytest.raises(ValidationError):
        services.add_note(report, body, actor=kortrijk_agent)
    assert not report.messages.exists()


# --- Messages ---------------------------------------------------------------------------


def test_a_message_is_mailed_to_the_reporter_with_the_follow_up_link(
    categories, kortrijk_agent, mailoutbox, client
):
    report = file_report(language="fr", reporter_email="marie@example.org")
    flushed(mailoutbox)
    message = services.send_message(report, "Nous passons vendredi.", actor=kortrijk_agent)
    assert message.kind == MessageKind.TO_REPORTER
    [entry] = entries(report, "report.message_sent")
    assert entry.after == {"message": message.pk, "kind": MessageKind.TO_REPORTER}
    run_tasks()
    [mail] = mailoutbox
    assert mail.to == ["marie@example.org"]
    assert report.reference in mail.subject
    assert "Nous passons vendredi." in mail.body
    [link] = FOLLOWUP_LINK.findall(mail.body)
    assert urlparse(link).path == reverse(
        "meldpunt:followup", args=[services.followup_token(report)]
    )
    assert client.get(urlparse(link).path).status_code == 200
    run_tasks()
    assert len(mailoutbox) == 1


def test_a_question_waits_for_the_reporter_and_pauses_the_clock(
    categories, kortrijk_agent, mailoutbox
):
    report = file_report()
    flushed(mailoutbox)
    message = services.send_message(
        report, "Aan welke kant van de straat?", actor=kortrijk_agent, question=True
    )
    assert message.kind == MessageKind.QUESTION
    report.refresh_from_db()
    assert report.status == Status.WAITING_FOR_REPORTER
    assert report.responded_at is not None
    pause = report.sla_pauses.get()
    assert pause.ended_at is None
    assert report.resolution_due_at is None
    run_tasks()
    # One mail (the question), not a second one for the status change.
    [mail] = mailoutbox
    assert "Aan welke kant van de straat?" in mail.body
    # A second question while already waiting changes no status and opens no second pause.
    services.send_message(report, "En welk huisnummer?", actor=kortrijk_agent, question=True)
    assert report.sla_pauses.count() == 1
    assert len(entries(report, "report.status_changed")) == 1


def test_a_message_to_an_anonymous_reporter_is_kept_for_the_page_but_not_mailed(
    categories, kortrijk_agent, mailoutbox
):
    report = file_report(reporter_email="", consent=False)
    services.send_message(report, "Bedankt voor de melding.", actor=kortrijk_agent)
    run_tasks()
    assert mailoutbox == []
    assert report.messages.get().body == "Bedankt voor de melding."


def test_a_message_to_an_anonymised_report_is_refused(categories, kortrijk_agent, mailoutbox):
    report = file_report()
    flushed(mailoutbox)
    anonymise(report, "Bewaartermijn verstreken")
    with pytest.raises(ValidationError) as excinfo:
        services.send_message(report, "Hallo?", actor=kortrijk_agent)
    assert "body" in excinfo.value.error_dict
    with pytest.raises(ValidationError):
        services.send_message(report, "Welke kant?", actor=kortrijk_agent, question=True)
    report.refresh_from_db()
    assert report.status == Status.NEW
    assert not report.messages.exists()
    run_tasks()
    assert mailoutbox == []


def test_a_question_on_a_finished_report_is_refused_and_leaves_no_message(
    categories, kortrijk_agent
):
    report = file_report()
    services.change_status(report, Status.RESOLVED, actor=kortrijk_agent)
    with pytest.raises(TransitionNotAllowed):
        services.send_message(report, "Nog een vraag?", actor=kortrijk_agent, question=True)
    assert not report.messages.exists()


# --- Templates --------------------------------------------------------------------------


def template(title: str, body: str = "x", **kwargs) -> MessageTemplate:
    return MessageTemplate.objects.create(title=title, body=body, **kwargs)


def test_render_template_fills_the_placeholders(categories):
    report = file_report(reporter_name="An Peeters", address="Grote Markt 1")
    text = services.render_template(
        template(
            "Ontvangen",
            "Beste {name}, uw melding {reference} ({category}) in {municipality} op "
            "{address} is {status}.",
            language="nl",
        ),
        report,
    )
    assert text == (
        f"Beste An Peeters, uw melding {report.reference} (Put of schade in de weg) in "
        "Kortrijk op Grote Markt 1 is Nieuw."
    )
    date_text = services.render_template("{date}", report)
    assert str(timezone.localtime(report.created_at).year) in date_text


def test_render_template_uses_the_templates_language(categories):
    report = file_report()
    text = services.render_template(
        template("FR", "Votre signalement {reference}: {category}", language="fr"), report
    )
    assert text == f"Votre signalement {report.reference}: Nid-de-poule ou route abîmée"


@pytest.mark.parametrize(
    "body",
    [
        "{unknown}",
        "{reference.__class__}",
        "{reference.__class__.__mro__}",
        "{reference!r}",
        "{reference:>40}",
        "{report.reporter_email}",
        "{0}",
        "{__import__}",
        "%(reference)s",
        "{{reference}",
    ],
)
def test_unknown_placeholders_and_attribute_tricks_stay_literal(categories, body):
    report = file_report()
    text = services.render_template(body, report)
    if body == "{{reference}":
        assert text == "{" + report.reference
    else:
        assert text == body
    assert EMAIL not in text


def test_templates_on_offer_municipality_first_in_the_reporters_language(categories, menen):
    report = file_report()  # Kortrijk, Dutch, new
    kor = categories["KOR"]
    regional = template("A regional", language="nl")
    own = template("Z own", language="nl", organisation=kor)
    own_for_status = template("M own, new", language="nl", organisation=kor, status=Status.NEW)
    template("French", language="fr", organisation=kor)
    template("Menen", language="nl", organisation=menen)
    other_status = template("Other status", language="nl", organisation=kor, status=Status.RESOLVED)
    regional_other = template("B regional", language="nl", status=Status.IN_PROGRESS)
    template("Inactive", language="nl", organisation=kor, is_active=False)
    offered = services.templates_for(report)
    # Its status's own first, then those for any status, then the other statuses' too: an
    # agent may answer a new report with an "in progress" text.
    assert offered == [own_for_status, own, regional, other_status, regional_other]


def test_every_status_is_offered_every_template_its_own_first(categories, kortrijk_agent):
    report = file_report()
    new = template("Ontvangen", language="nl", status=Status.NEW)
    working = template("Ingepland", language="nl", status=Status.IN_PROGRESS)
    assert services.templates_for(report) == [new, working]
    report = services.change_status(report, Status.IN_PROGRESS, actor=kortrijk_agent)
    assert services.templates_for(report) == [working, new]


def test_a_french_reporter_is_offered_french_templates(categories):
    report = file_report(language="fr")
    french = template("Réponse", language="fr")
    template("Antwoord", language="nl")
    assert services.templates_for(report) == [french]


# --- Hand-over to another municipality --------------------------------------------------


def test_a_report_handed_to_another_municipality_moves_with_its_reference(
    categories, kortrijk_agent, menen, mailoutbox
):
    report = file_report(address="Grensstraat 2")
    services.assign(report, actor=kortrijk_agent, assignee=kortrijk_agent)
    flushed(mailoutbox)
    reference = report.reference
    report = services.forward_to_municipality(
        report, menen, reason="Het adres ligt in Menen.", actor=kortrijk_agent
    )
    report.refresh_from_db()
    assert report.reference == reference
    assert report.organisation == menen
    assert report.category.organisation == menen and report.category.code == "pothole"
    assert report.department.organisation == menen
    assert report.department.name == "Openbare werken"
    assert report.assignee is None
    assert report.status == Status.NEW  # still open, now for Menen
    handover = Handover.objects.get(report=report)
    assert handover.from_organisation.code == "KOR"
    assert handover.to_organisation == menen
    assert handover.reason == "Het adres ligt in Menen."
    assert handover.by == kortrijk_agent
    [entry] = entries(report, "report.handed_over")
    assert entry.after["handover"] == handover.pk
    assert entry.organisation_id == menen.pk
    # The reporter is told, on the page and by mail, without the internal reason.
    message = report.messages.get(kind=MessageKind.TO_REPORTER)
    assert "Menen" in message.body
    run_tasks()
    [mail] = mailoutbox
    assert mail.to == [EMAIL]
    assert "Menen" in mail.body
    assert "Het adres ligt in Menen." not in mail.body


def test_after_a_hand_over_the_old_municipality_can_no_longer_open_it(
    categories, kortrijk_agent, menen
):
    report = file_report()
    page = reverse("meldpunt:staff-report", args=[report.reference])
    browser = staff_client(kortrijk_agent)
    assert browser.get(page).status_code == 200
    services.forward_to_municipality(report, menen, reason="Menen", actor=kortrijk_agent)
    assert browser.get(page).status_code == 404
    menen_agent = MembershipFactory(organisation=menen, agent=True).user
    assert staff_client(menen_agent).get(page).status_code == 200


def test_a_finished_report_cannot_be_handed_to_another_municipality(
    categories, kortrijk_agent, menen
):
    report = file_report()
    services.change_status(report, Status.RESOLVED, actor=kortrijk_agent)
    with pytest.raises(ValidationError) as excinfo:
        services.forward_to_municipality(report, menen, reason="Menen", actor=kortrijk_agent)
    assert "organisation" in excinfo.value.error_dict
    report.refresh_from_db()
    assert report.organisation.code == "KOR"
    assert not Handover.objects.exists()


def test_a_municipality_without_that_category_cannot_take_the_report(
    categories, kortrijk_agent, menen
):
    Category.objects.filter(organisation=menen, code="pothole").update(is_active=False)
    report = file_report()
    with pytest.raises(ValidationError) as excinfo:
        services.forward_to_municipality(report, menen, reason="Menen", actor=kortrijk_agent)
    assert "organisation" in excinfo.value.error_dict
    report.refresh_from_db()
    assert report.organisation.code == "KOR"
    assert not Handover.objects.exists()


@pytest.mark.parametrize("target", ["KOR", "ZWVL", "LEI"])
def test_a_report_can_only_go_to_another_municipality(categories, kortrijk_agent, target):
    report = file_report()
    with pytest.raises(ValidationError):
        services.forward_to_municipality(
            report, categories[target], reason="Weg ermee", actor=kortrijk_agent
        )
    assert not Handover.objects.exists()


def test_a_hand_over_needs_a_reason(categories, kortrijk_agent, menen):
    with pytest.raises(ValidationError) as excinfo:
        services.forward_to_municipality(file_report(), menen, reason=" ", actor=kortrijk_agent)
    assert "reason" in excinfo.value.error_dict


# --- Hand-over to an external body ------------------------------------------------------


def test_a_hand_over_to_an_external_body_mails_it_once_with_the_photos(
    categories, kortrijk_agent, awv, mailoutbox
):
    report = file_report(reporter_name="An Peeters")
    services.attach_photos(report, [photo("red"), photo("blue")], by_reporter=True)
    flushed(mailoutbox)
    handover = services.forward_to_external_body(
        report, awv, reason="Gewestweg N43.", actor=kortrijk_agent
    )
    report.refresh_from_db()
    assert report.status == Status.FORWARDED
    assert report.closed_at is None and report.is_open  # with the body until it answers
    assert handover.to_external_body == awv and handover.to_organisation is None
    assert handover.from_organisation.code == "KOR"
    assert handover.sent_at is None

    run_tasks()
    [to_body] = mails_to(mailoutbox, "meldingen@awv.example.org")
    assert report.reference in to_body.subject
    assert report.reference in to_body.body
    assert "Gewestweg N43." in to_body.body
    assert report.description in to_body.body
    assert EMAIL in to_body.body  # the reporter consented to be contacted
    names = [name for name, _content, _type in to_body.attachments]
    assert names == [f"{report.reference}-1.jpg", f"{report.reference}-2.jpg"]
    stored = [p.file.open("rb").read() for p in report.photos.all()]
    assert [content for _n, content, _t in to_body.attachments] == stored
    handover.refresh_from_db()
    assert handover.sent_at is not None
    # The reporter hears who handles it now, not why.
    [to_reporter] = mails_to(mailoutbox, EMAIL)
    assert "Agentschap Wegen en Verkeer" in to_reporter.body
    assert "N43" not in to_reporter.body

    enqueue(send_handover_mail, handover.pk)
    run_tasks()
    run_tasks()
    assert len(mails_to(mailoutbox, "meldingen@awv.example.org")) == 1


def test_without_consent_the_external_body_gets_no_contact_details(
    categories, kortrijk_agent, awv, mailoutbox
):
    report = file_report(reporter_email="", reporter_phone="", consent=False)
    services.forward_to_external_body(report, awv, reason="N43", actor=kortrijk_agent)
    run_tasks()
    [mail] = mails_to(mailoutbox, "meldingen@awv.example.org")
    assert mail.attachments == []
    assert "agreed to be contacted" not in mail.body


def test_an_inactive_external_body_takes_no_hand_overs(categories, kortrijk_agent, awv):
    awv.is_active = False
    awv.save()
    report = file_report()
    with pytest.raises(ValidationError):
        services.forward_to_external_body(report, awv, reason="N43", actor=kortrijk_agent)
    report.refresh_from_db()
    assert report.status == Status.NEW
    assert not Handover.objects.exists()


def test_a_finished_report_cannot_go_to_an_external_body(categories, kortrijk_agent, awv):
    report = file_report()
    services.change_status(report, Status.RESOLVED, actor=kortrijk_agent)
    with pytest.raises(TransitionNotAllowed):
        services.forward_to_external_body(report, awv, reason="N43", actor=kortrijk_agent)
    assert not Handover.objects.exists()
    assert not DBTaskResult.objects.filter(task_path__endswith="send_handover_mail").exists()


# --- Merge ------------------------------------------------------------------------------


def test_a_duplicate_is_merged_into_the_open_report(categories, kortrijk_agent, mailoutbox):
    first = file_report(reporter_email="eerste@example.org")
    duplicate = file_report(reporter_email="tweede@example.org")
    flushed(mailoutbox)
    merged = services.merge(duplicate, first, actor=kortrijk_agent)
    assert merged.status == Status.MERGED and merged.merged_into == first
    duplicate.refresh_from_db()
    assert duplicate.status == Status.MERGED
    assert duplicate.merged_into == first
    assert duplicate.closed_at is not None
    [changed] = entries(duplicate, "report.status_changed")
    assert changed.after["status"] == Status.MERGED
    assert first.reference in changed.reason
    [received] = entries(first, "report.merge_received")
    assert received.after == {"merged": duplicate.reference}
    assert received.actor == kortrijk_agent
    first.refresh_from_db()
    assert first.status == Status.NEW
    run_tasks()
    assert mails_to(mailoutbox, "tweede@example.org")
    assert not mails_to(mailoutbox, "eerste@example.org")


def test_the_reporter_of_a_merged_report_sees_where_it_went(categories, kortrijk_agent, client):
    first = file_report()
    duplicate = file_report(reporter_email="tweede@example.org")
    services.merge(duplicate, first, actor=kortrijk_agent, reason="Zelfde gat")
    client.cookies["regiohub_language"] = "en"
    page = client.get(reverse("meldpunt:followup", args=[services.followup_token(duplicate)]))
    assert page.status_code == 200
    assert first.reference in page.content.decode()


def test_a_report_cannot_be_merged_into_itself(categories, kortrijk_agent):
    report = file_report()
    with pytest.raises(ValidationError) as excinfo:
        services.merge(report, report, actor=kortrijk_agent)
    assert "into" in excinfo.value.error_dict
    report.refresh_from_db()
    assert report.status == Status.NEW


@pytest.mark.parametrize("finished", [Status.RESOLVED, Status.CANCELLED, Status.MERGED])
def test_a_report_cannot_be_merged_into_a_finished_one(categories, kortrijk_agent, finished):
    target = file_report()
    if finished == Status.MERGED:
        services.merge(target, file_report(), actor=kortrijk_agent)
    else:
        services.change_status(target, finished, actor=kortrijk_agent, reason="Klaar")
    target.refresh_from_db()
    report = file_report()
    with pytest.raises(ValidationError) as excinfo:
        services.merge(report, target, actor=kortrijk_agent)
    assert target.reference in str(excinfo.value)
    report.refresh_from_db()
    assert report.status == Status.NEW and report.merged_into is None


def test_reports_of_two_municipalities_cannot_be_merged(categories, region_admin):
    kortrijk = file_report()
    menen = file_report(where=MENEN_CENTRE)
    with pytest.raises(ValidationError):
        services.merge(kortrijk, menen, actor=region_admin)
    with pytest.raises(ValidationError):
        services.merge(menen, kortrijk, actor=region_admin)
    assert Report.objects.filter(status=Status.MERGED).count() == 0


def test_a_finished_report_cannot_be_merged(categories, kortrijk_agent):
    target = file_report()
    report = file_report()
    services.change_status(report, Status.RESOLVED, actor=kortrijk_agent)
    with pytest.raises(TransitionNotAllowed):
        services.merge(report, target, actor=kortrijk_agent)
    report.refresh_from_db()
    assert report.merged_into is None
    assert not entries(target, "report.merge_received")


# --- Split ------------------------------------------------------------------------------


def test_a_second_problem_is_split_off_as_a_report_of_its_own(
    categories, kortrijk_agent, mailoutbox
):
    original = file_report(
        reporter_name="An Peeters", reporter_phone="056 27 00 00", address="Grote Markt 1"
    )
    flushed(mailoutbox)
    new = services.split(
        original,
        category_code="street-light",
        description="En de straatlamp ernaast brandt niet.",
        actor=kortrijk_agent,
    )
    assert new.pk != original.pk
    assert new.reference != original.reference
    assert new.reference.startswith("KOR-")
    assert new.split_from == original
    assert new.category.code == "street-light"
    assert new.department.name == "Openbare werken"
    assert new.status == Status.NEW
    for field in (
        "organisation_id", "latitude", "longitude", "address", "location_is_approximate",
        "reporter_name", "reporter_email", "reporter_phone", "reporter_language", "consent_at",
        "channel",
    ):  # fmt: skip
        assert getattr(new, field) == getattr(original, field), field
    assert new.response_due_at is not None and new.resolution_due_at is not None
    assert entries(new, "report.created")[0].after["split_from"] == original.reference
    assert entries(original, "report.split")[0].after == {"new": new.reference}

    # Its own follow-up link, different from the original's.
    token = services.followup_token(new)
    assert token and token != services.followup_token(original)
    browser = Client()
    page = browser.get(reverse("meldpunt:followup", args=[token]))
    assert page.status_code == 200
    assert new.reference in page.content.decode()
    assert "En de straatlamp ernaast brandt niet." in page.content.decode()

    run_tasks()
    [ack] = mailoutbox
    assert ack.to == [EMAIL]
    assert new.reference in ack.subject
    [link] = FOLLOWUP_LINK.findall(ack.body)
    assert urlparse(link).path == reverse("meldpunt:followup", args=[token])


def test_splitting_an_approximately_placed_report_keeps_it_approximate(categories, kortrijk_agent):
    original = services.submit_report(
        category_code="pothole",
        description="Gat.",
        latitude=None,
        longitude=None,
        address="Kerkstraat 4",
        municipality_code="KOR",
        channel="web",
    ).report
    assert original.location_is_approximate
    new = services.split(
        original, category_code="traffic-sign", description="Bord scheef.", actor=kortrijk_agent
    )
    new.refresh_from_db()
    assert new.location_is_approximate


def test_a_split_needs_a_category_of_the_municipality_and_a_description(categories, kortrijk_agent):
    report = file_report()
    with pytest.raises(ValidationError) as excinfo:
        services.split(report, category_code="nope", description="Iets", actor=kortrijk_agent)
    assert "category" in excinfo.value.error_dict
    with pytest.raises(ValidationError) as excinfo:
        services.split(report, category_code="noise", description=" ", actor=kortrijk_agent)
    assert "description" in excinfo.value.error_dict
    assert Report.objects.count() == 1


def test_splitting_an_anonymised_report_gives_no_follow_up_link(categories, kortrijk_agent):
    report = file_report()
    anonymise(report, "Op verzoek")
    new = services.split(report, category_code="noise", description="Lawaai.", actor=kortrijk_agent)
    assert new.token_hash is None and new.token_salt == ""
    assert new.anonymised_at is not None
    assert new.reporter_email == ""


# --- A failing mail server --------------------------------------------------------------


@pytest.fixture
def flaky_mail_server(monkeypatch):
    """The mail server refuses the first mail, then works again."""
    original = EmailBackend.send_messages
    calls: list[int] = []

    def send_messages(self, messages):
        calls.append(len(messages))
        if len(calls) == 1:
            raise ConnectionRefusedError("mail server down")
        return original(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", send_messages)
    return calls


def make_retries_due() -> int:
    return DBTaskResult.objects.filter(status="READY").update(
        run_after=timezone.now() - timedelta(seconds=1)
    )


def test_a_failing_mail_server_delays_the_mail_but_does_not_lose_it(
    categories, kortrijk_agent, flaky_mail_server, mailoutbox
):
    report = file_report()
    run_tasks()
    assert flaky_mail_server == [1]
    assert mailoutbox == []  # the acknowledgement failed ...
    failed = DBTaskResult.objects.get(status="FAILED")
    assert failed.task_path.endswith("send_acknowledgement")
    retry = DBTaskResult.objects.get(status="READY")
    assert retry.run_after > timezone.now()  # ... and waits before trying again
    assert run_tasks() == 0

    assert make_retries_due() == 1
    run_tasks()
    [mail] = mailoutbox
    assert report.reference in mail.subject
    # Nothing left to retry, and running again sends nothing more.
    assert not DBTaskResult.objects.filter(status="READY").exists()
    make_retries_due()
    run_tasks()
    assert len(mailoutbox) == 1


def test_a_failed_hand_over_mail_is_sent_once_later_and_only_then_marked_sent(
    categories, kortrijk_agent, awv, mailoutbox, monkeypatch
):
    report = file_report(reporter_email="", consent=False)
    services.attach_photos(report, [photo()], by_reporter=True)
    original = EmailBackend.send_messages
    calls: list[int] = []

    def send_messages(self, messages):
        calls.append(1)
        if len(calls) == 1:
            raise TimeoutError("mail server timeout")
        return original(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", send_messages)
    handover = services.forward_to_external_body(report, awv, reason="N43", actor=kortrijk_agent)
    run_tasks()
    handover.refresh_from_db()
    assert handover.sent_at is None and mailoutbox == []
    make_retries_due()
    run_tasks()
    handover.refresh_from_db()
    assert handover.sent_at is not None
    assert len(mails_to(mailoutbox, awv.email)) == 1
    make_retries_due()
    run_tasks()
    assert len(mails_to(mailoutbox, awv.email)) == 1


def test_all_queued_mails_for_one_report_arrive_once_despite_a_failure(
    categories, kortrijk_agent, flaky_mail_server, mailoutbox
):
    report = file_report(where=KORTRIJK_CENTRE)
    services.send_message(report, "Eerste bericht.", actor=kortrijk_agent)
    services.change_status(report, Status.IN_PROGRESS, actor=kortrijk_agent)
    for _round in range(5):
        run_tasks()
        make_retries_due()
    bodies = [m.body for m in mails_to(mailoutbox, EMAIL)]
    assert len(bodies) == 3  # acknowledgement, message, status update
    assert sum("Eerste bericht." in body for body in bodies) == 1
    assert len(Message.objects.filter(report=report)) == 1
