"""The reporter's contact details are erased after the retention period or on request, and
a reporter can get everything the contact point holds about them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from regiohub.core.models import HistoryEntry
from regiohub.meldpunt.models import Message, MessageKind, Report
from regiohub.meldpunt.privacy import (
    PersonNotGiven,
    erase_person,
    expired_reports,
    export_person,
    months_before,
    normalise_phone,
)
from regiohub.meldpunt.services import followup_token
from regiohub.meldpunt.services.citizen import report_for_token
from regiohub.meldpunt.tasks_periodic import anonymise_expired_reports
from regiohub.meldpunt.tests.factories import MENEN_CENTRE, file_report
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db

EMAIL = "burger@example.org"


def person(**kwargs) -> Report:
    defaults = {"reporter_name": "Bea Burger", "reporter_email": EMAIL, "consent": True}
    return file_report(**{**defaults, **kwargs})


def set_fields(report: Report, **fields) -> Report:
    Report.objects.filter(pk=report.pk).update(**fields)
    report.refresh_from_db()
    return report


def assert_anonymised(report: Report) -> None:
    report.refresh_from_db()
    assert report.anonymised_at is not None
    assert (report.reporter_name, report.reporter_email, report.reporter_phone) == ("", "", "")
    assert report.consent_at is None
    assert report.token_salt == "" and report.token_hash is None
    assert followup_token(report) == ""


def assert_untouched(report: Report) -> None:
    report.refresh_from_db()
    assert report.anonymised_at is None
    assert report.reporter_email or report.reporter_phone
    assert report.token_hash


# --- Retention ------------------------------------------------------------------------


def test_months_before_keeps_the_local_time_and_clamps_the_day():
    moment = timezone.make_aware(datetime(2026, 5, 31, 10, 0))
    assert months_before(moment, 3) == timezone.make_aware(datetime(2026, 2, 28, 10, 0))
    assert months_before(moment, 12) == timezone.make_aware(datetime(2025, 5, 31, 10, 0))
    assert months_before(moment, 17).year == 2024


def test_closed_reports_are_anonymised_after_the_retention_period_not_before(categories, settings):
    settings.MELDPUNT_RETENTION_MONTHS = 12
    now = timezone.now()
    expired = person()
    recent = person()
    set_fields(expired, status=Status.CLOSED, closed_at=months_before(now, 12) - timedelta(days=1))
    set_fields(recent, status=Status.CLOSED, closed_at=months_before(now, 12) + timedelta(days=1))
    Message.objects.create(report=expired, kind=MessageKind.FROM_REPORTER, body="Dank u")

    assert anonymise_expired_reports.call() == 1
    assert_anonymised(expired)
    assert_untouched(recent)
    assert expired.messages.get().body == "Dank u"  # the conversation stays
    assert anonymise_expired_reports.call() == 0

    entry = HistoryEntry.objects.for_object(expired).get(action="report.anonymised")
    recorded = json.dumps([entry.before, entry.after, entry.reason, entry.actor_label])
    assert EMAIL not in recorded and "Bea Burger" not in recorded
    assert entry.after["erased"]


def test_open_reports_never_expire_and_finished_ones_without_closing_date_do(categories, settings):
    settings.MELDPUNT_RETENTION_MONTHS = 6
    long_ago = timezone.now() - timedelta(days=400)
    still_open = set_fields(person(), status=Status.IN_PROGRESS, created_at=long_ago)
    Report.objects.filter(pk=still_open.pk).update(updated_at=long_ago)
    cancelled = set_fields(person(), status=Status.CANCELLED)
    Report.objects.filter(pk=cancelled.pk).update(updated_at=long_ago)
    resolved = set_fields(person(), status=Status.RESOLVED, resolved_at=long_ago)
    recently_cancelled = set_fields(person(), status=Status.CANCELLED)

    assert set(expired_reports()) == {cancelled, resolved}
    assert anonymise_expired_reports.call() == 2
    assert_anonymised(cancelled)
    assert_anonymised(resolved)
    assert_untouched(still_open)
    assert_untouched(recently_cancelled)


def test_retention_works_in_batches(categories, settings, monkeypatch):
    from regiohub.meldpunt import tasks_periodic

    monkeypatch.setattr(tasks_periodic, "RETENTION_BATCH", 2)
    settings.MELDPUNT_RETENTION_MONTHS = 1
    old = timezone.now() - timedelta(days=90)
    reports = [set_fields(person(), status=Status.CLOSED, closed_at=old) for _ in range(5)]
    assert anonymise_expired_reports.call() == 5
    for report in reports:
        assert_anonymised(report)


def test_the_follow_up_link_stops_working_once_anonymised(categories, settings):
    settings.MELDPUNT_RETENTION_MONTHS = 1
    report = person()
    token = followup_token(report)
    assert report_for_token(token) == report
    set_fields(report, status=Status.CLOSED, closed_at=timezone.now() - timedelta(days=40))
    anonymise_expired_reports.call()
    assert report_for_token(token) is None
    assert_anonymised(report)


# --- One person: access ---------------------------------------------------------------


def test_export_holds_only_that_persons_reports_and_no_internal_notes(categories):
    mine = person()
    also_mine = person(reporter_email="Burger@Example.ORG", where=MENEN_CENTRE, language="fr")
    other = person(reporter_email="iemand@example.org", reporter_name="Iemand Anders")
    Message.objects.create(report=mine, kind=MessageKind.NOTE, body="Interne nota: geheim")
    Message.objects.create(report=mine, kind=MessageKind.HANDOVER, body="Doorgestuurd intern")
    Message.objects.create(report=mine, kind=MessageKind.QUESTION, body="Welke kant?")
    Message.objects.create(report=mine, kind=MessageKind.FROM_REPORTER, body="Links")
    Message.objects.create(report=other, kind=MessageKind.FROM_REPORTER, body="Van iemand")

    data = export_person(email="BURGER@example.org")

    assert [r["reference"] for r in data["reports"]] == [mine.reference, also_mine.reference]
    first = data["reports"][0]
    assert first["municipality"] == "Kortrijk"
    assert data["reports"][1]["municipality"] == "Menin"  # in the reporter's language
    assert first["category"] == "Put of schade in de weg"
    assert first["description"] == mine.description
    assert first["status"] == "new"
    assert first["reporter"]["email"] == EMAIL
    assert first["dates"]["reported_at"]
    assert first["photo_count"] == 0
    assert [(m["direction"], m["text"]) for m in first["messages"]] == [
        ("to_reporter", "Welke kant?"),
        ("from_reporter", "Links"),
    ]
    text = json.dumps(data)
    assert "geheim" not in text and "Doorgestuurd intern" not in text
    assert other.reference not in text and "Iemand Anders" not in text


def test_phone_numbers_match_on_their_digits_whatever_the_notation(categories):
    assert normalise_phone("+32 470 12 34 56") == normalise_phone("0470/12.34.56")
    assert normalise_phone("0032 56 23 45 67") == normalise_phone("056 23 45 67")
    assert normalise_phone("+32 (0)470 12 34 56") == "470123456"
    assert normalise_phone("+33 6 12 34 56 78") == "33612345678"
    mobile = person(reporter_email="", reporter_phone="0470 12 34 56")
    international = person(reporter_email="", reporter_phone="+32 (0)470/12.34.56")
    other = person(reporter_email="", reporter_phone="0471 12 34 56")

    references = [r["reference"] for r in export_person(phone="+32470123456")["reports"]]
    assert references == [mobile.reference, international.reference]
    assert other.reference not in references


def test_a_person_must_be_named(categories):
    with pytest.raises(PersonNotGiven):
        export_person()
    with pytest.raises(PersonNotGiven):
        export_person(email="  ")
    with pytest.raises(PersonNotGiven):
        export_person(phone="12")  # would match far too much
    with pytest.raises(PersonNotGiven):
        erase_person(actor_label="test")


# --- One person: erasure --------------------------------------------------------------


def test_erasure_anonymises_every_report_of_that_person_only(categories):
    mine = person()
    by_phone = person(reporter_email="", reporter_phone="0470 12 34 56")
    other = person(reporter_email="iemand@example.org")
    token = followup_token(mine)

    with translation.override("en"):
        assert erase_person(email=EMAIL, phone="+32 470 12 34 56", actor_label="DPO Kortrijk") == 2

    assert_anonymised(mine)
    assert_anonymised(by_phone)
    assert_untouched(other)
    assert report_for_token(token) is None
    entry = HistoryEntry.objects.for_object(mine).get(action="report.anonymised")
    assert entry.reason == "erasure request"
    assert entry.actor_label == "DPO Kortrijk"
    assert erase_person(email=EMAIL, actor_label="DPO Kortrijk") == 0


# --- Commands -------------------------------------------------------------------------


def test_export_command_writes_json_to_stdout_or_a_file(categories, tmp_path):
    report = person()
    out = StringIO()
    call_command("meldpunt_export_person", "--email", EMAIL, stdout=out)
    assert json.loads(out.getvalue())["reports"][0]["reference"] == report.reference

    target = tmp_path / "export.json"
    call_command(
        "meldpunt_export_person",
        "--phone",
        "0470123456",
        "--output",
        str(target),
        stderr=StringIO(),
    )
    assert json.loads(target.read_text())["reports"] == []


def test_commands_refuse_without_a_person(categories):
    with translation.override("en"):
        with pytest.raises(CommandError, match="e-mail"):
            call_command("meldpunt_export_person")
        with pytest.raises(CommandError, match="e-mail"):
            call_command("meldpunt_erase_person", "--yes")
        with pytest.raises(CommandError, match="phone"):
            call_command("meldpunt_erase_person", "--phone", "123", "--yes")


def test_erase_command_asks_for_yes_then_prints_the_references(categories):
    report = person()
    out = StringIO()
    with pytest.raises(CommandError, match="--yes") as refused:
        call_command("meldpunt_erase_person", "--email", EMAIL, stdout=out)
    assert refused.value.returncode == 1  # the exit code of the command line
    assert report.reference in out.getvalue()
    assert_untouched(report)

    out = StringIO()
    call_command(
        "meldpunt_erase_person", "--email", EMAIL, "--yes", "--by", "DPO", stdout=out,
        stderr=StringIO(),
    )  # fmt: skip
    assert out.getvalue().split() == [report.reference]
    assert_anonymised(report)
    entry = HistoryEntry.objects.for_object(report).get(action="report.anonymised")
    assert entry.actor_label == "DPO"
