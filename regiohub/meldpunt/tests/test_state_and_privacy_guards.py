"""Guards found in review: statuses that need a target, reports handed back, the resend
key, names in templated messages, and when a follow-up link expires."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone

from regiohub.core.roles import Role
from regiohub.core.testing import staff_client
from regiohub.core.tests.factories import MembershipFactory
from regiohub.meldpunt import privacy, services
from regiohub.meldpunt.models import ExternalBody, Message, MessageTemplate, Report
from regiohub.meldpunt.services import citizen
from regiohub.meldpunt.tests.factories import file_report
from regiohub.meldpunt.workflow import Status, TransitionNotAllowed

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("target", [Status.MERGED, Status.FORWARDED])
def test_merged_and_forwarded_are_set_only_by_their_own_actions(categories, target):
    report = file_report()
    with pytest.raises(TransitionNotAllowed):
        services.change_status(report, target, actor=None, reason="bulk")
    assert Report.objects.get(pk=report.pk).status == Status.NEW


def test_the_bulk_form_does_not_offer_merged(categories, kortrijk_agent):
    report = file_report()
    response = staff_client(kortrijk_agent).post(
        "/staff/reports/bulk/",
        {"action": "status", "status": "merged", "reason": "x", "reports": [report.pk]},
    )
    assert response.status_code == 302
    assert Report.objects.get(pk=report.pk).status == Status.NEW


def test_a_report_handed_back_by_an_external_body_is_open_and_not_closed(categories):
    report = file_report()
    body = ExternalBody.objects.create(code="awv", name="AWV", email="awv@example.org")
    services.forward_to_external_body(report, body, reason="gewestweg", actor=None)
    # With the body, still open: not closed (ADR 0038).
    assert Report.objects.get(pk=report.pk).closed_at is None
    assert Report.objects.get(pk=report.pk).is_open
    services.change_status(report, Status.IN_PROGRESS, actor=None)
    report.refresh_from_db()
    assert report.closed_at is None
    assert citizen.report_for_token(services.followup_token(report)) is not None


def test_waiting_for_an_anonymised_reporter_is_refused(categories):
    report = file_report()
    privacy.anonymise(report, "test")
    with pytest.raises(TransitionNotAllowed):
        services.change_status(report, Status.WAITING_FOR_REPORTER, actor=None, reason="?")


def test_the_resend_key_is_stored_hashed_and_expires(categories):
    first = file_report(client_key="k" * 40)
    assert first.client_key != "k" * 40
    assert file_report(client_key="k" * 40).pk == first.pk  # a resend
    Report.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(hours=2))
    with pytest.raises(ValidationError) as refused:
        file_report(client_key="k" * 40)
    assert "client_key" in refused.value.error_dict


def test_an_old_form_sent_again_asks_to_send_once_more_with_a_new_key(client, categories):
    from regiohub.meldpunt.tests.test_public_form import form_data

    client.post("/melden/", form_data(client_key="o" * 40))
    Report.objects.update(created_at=timezone.now() - timedelta(hours=2))
    page = client.post("/melden/", form_data(client_key="o" * 40))
    assert page.status_code == 200
    assert page.context["form"].non_field_errors()
    assert page.context["form"]["client_key"].value() != "o" * 40
    assert (
        client.post(
            "/melden/", form_data(client_key=page.context["form"]["client_key"].value())
        ).status_code
        == 302
    )
    assert Report.objects.count() == 2


def test_a_resent_form_after_erasure_files_anew_without_leading_to_the_old_report(categories):
    report = file_report(client_key="z" * 40)
    privacy.anonymise(report, "test")
    assert Report.objects.get(pk=report.pk).client_key is None
    assert file_report(client_key="z" * 40).pk != report.pk


def test_templates_greet_by_name_only_people_who_may_see_the_reporter(categories):
    report = file_report(reporter_name="Jan Geheim")
    template = MessageTemplate.objects.create(title="t", body="Beste {name}, {reference}")
    assert "Jan Geheim" in services.render_template(template, report)
    hidden = services.render_template(template, report, with_name=False)
    assert "Jan Geheim" not in hidden
    assert report.reference in hidden


def test_a_handler_of_another_department_gets_a_neutral_greeting(categories):
    report = file_report(reporter_name="Jan Geheim")
    template = MessageTemplate.objects.create(title="t", body="Beste {name}")
    other = MembershipFactory(
        organisation=categories["KOR"],
        role=Role.HANDLER,
        department=categories["KOR"].departments.exclude(pk=report.department_id).first(),
    ).user
    page = staff_client(other).get(f"/staff/reports/{report.reference}/?template={template.pk}")
    assert page.status_code == 200
    assert "Jan Geheim" not in page.content.decode()


def test_erasure_also_blanks_the_name_in_messages(categories):
    report = file_report(reporter_name="Jan Geheim")
    services.send_message(report, "Beste Jan Geheim, opgelost.", actor=None)
    privacy.anonymise(report, "test")
    assert "Jan Geheim" not in Message.objects.get(report=report).body


@override_settings(MELDPUNT_FOLLOWUP_DAYS=90)
def test_a_resolved_report_that_nobody_closes_expires_from_its_resolution(categories):
    report = file_report()
    token = services.followup_token(report)
    services.change_status(report, Status.RESOLVED, actor=None)
    Report.objects.filter(pk=report.pk).update(resolved_at=timezone.now() - timedelta(days=91))
    assert citizen.report_for_token(token) is None
