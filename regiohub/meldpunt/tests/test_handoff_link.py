"""A hand-over to an external body comes back (ADR 0038): the body's private link works
without an account and only for its own hand-over; it acknowledges, sends the report back
to triage or resolves it, once; the reporter hears the outcome; overdue hand-overs show in
the inbox, on the report and in the digest; staff of another municipality see nothing."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone, translation

from regiohub.core.models import HistoryEntry
from regiohub.core.tasks import enqueue
from regiohub.core.testing import run_tasks, staff_client
from regiohub.core.tests.factories import MembershipFactory
from regiohub.meldpunt import services
from regiohub.meldpunt.links import handoff_token
from regiohub.meldpunt.models import (
    ExternalBody,
    Handover,
    HandoverState,
    Message,
    Report,
    RoutingDecision,
    SlaState,
    sla_state,
)
from regiohub.meldpunt.services import handoff
from regiohub.meldpunt.tasks_periodic import send_daily_digests
from regiohub.meldpunt.tests.factories import file_report
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db

REPORTER = "burger@example.org"
BODY_MAIL = "meldingen@awv.example.org"
LINK = re.compile(r"https?://\S+(/overdracht/[\w-]+/)")


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def awv(categories):
    return ExternalBody.objects.create(
        code="awv", name="Agentschap Wegen en Verkeer", email=BODY_MAIL
    )


@pytest.fixture
def forwarded(awv, kortrijk_agent, mailoutbox):
    """A report handed to AWV, its mails sent; (report, hand-over, the link's path)."""
    report = file_report()
    handover = services.forward_to_external_body(
        report, awv, reason="Gewestweg N43.", actor=kortrijk_agent
    )
    run_tasks()
    [to_body] = [m for m in mailoutbox if BODY_MAIL in m.to]
    path = LINK.search(to_body.body).group(1)
    mailoutbox.clear()
    return Report.objects.get(pk=report.pk), Handover.objects.get(pk=handover.pk), path


def answer(path: str, action: str, **fields: str):
    data = {"action": action, **{f"{action}-{name}": value for name, value in fields.items()}}
    return Client(HTTP_ACCEPT_LANGUAGE="en").post(path, data)


def entries(report: Report, action: str) -> list[HistoryEntry]:
    return list(HistoryEntry.objects.for_object(report).filter(action=action))


def to_reporter(outbox) -> list:
    return [m for m in outbox if REPORTER in m.to]


# --- The link -------------------------------------------------------------------------------


def test_the_mail_holds_a_link_that_opens_without_login_and_keeps_out_of_caches(forwarded):
    report, handover, path = forwarded
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(path)
    assert response.status_code == 200
    page = response.content.decode()
    assert report.reference in page and report.description in page
    assert "Gewestweg N43." in page  # why it is theirs
    assert "no-store" in response["Cache-Control"]
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert '<meta name="robots" content="noindex, nofollow">' in page
    # Only the hash is stored; the token is derived again from the salt and the secret key.
    token = path.split("/")[2]
    assert handoff_token(handover) == token
    assert handover.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(Handover.objects.filter(pk=handover.pk).values().get())


def test_each_link_opens_only_its_own_hand_over(forwarded, awv, kortrijk_agent):
    _report, handover, path = forwarded
    other = services.forward_to_external_body(
        file_report(description="Put in de rijbaan."), awv, reason="N50", actor=kortrijk_agent
    )
    other_path = f"/overdracht/{handoff_token(other)}/"
    assert other_path != path
    assert "Put in de rijbaan." in Client().get(other_path).content.decode()
    assert "Put in de rijbaan." not in Client().get(path).content.decode()
    # Answering one leaves the other as it was.
    assert answer(other_path, "acknowledge").status_code == 302
    handover.refresh_from_db()
    assert handover.state == HandoverState.SENT


@pytest.mark.parametrize(
    "token",
    [
        "A" * 43,  # well-formed, unknown
        "short",
        "A" * 44,
        "%C3%A9" * 10,  # odd characters
        "x" * 5000,  # oversized
    ],
)
def test_wrong_and_malformed_tokens_are_404(forwarded, token):
    assert Client().get(f"/overdracht/{token}/").status_code == 404
    assert answer(f"/overdracht/{token}/", "acknowledge").status_code == 404


def test_a_tampered_token_and_the_reporters_own_token_are_404(forwarded):
    report, _handover, path = forwarded
    token = path.split("/")[2]
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert Client().get(f"/overdracht/{tampered}/").status_code == 404
    followup = services.followup_token(report)
    assert Client().get(f"/overdracht/{followup}/").status_code == 404
    assert Client().get(f"/melding/{token}/").status_code == 404  # and the other way round


def test_a_nul_byte_in_the_link_is_refused(forwarded):
    _report, _handover, path = forwarded
    response = Client().get(path[:-1] + "%00/")
    assert response.status_code == 400


def test_the_link_works_while_the_body_has_the_report_and_expires_after_the_answer(
    forwarded, settings
):
    _report, handover, path = forwarded
    settings.MELDPUNT_HANDOFF_LINK_DAYS = 30
    Handover.objects.filter(pk=handover.pk).update(created_at=timezone.now() - timedelta(days=400))
    assert Client().get(path).status_code == 200  # no answer yet: never expires
    assert answer(path, "resolve", message="Put gedicht.").status_code == 302
    assert Client().get(path).status_code == 200  # the body can read its answer
    Handover.objects.filter(pk=handover.pk).update(answered_at=timezone.now() - timedelta(days=29))
    assert Client().get(path).status_code == 200
    Handover.objects.filter(pk=handover.pk).update(answered_at=timezone.now() - timedelta(days=31))
    assert Client().get(path).status_code == 404


# --- The due date -----------------------------------------------------------------------------


def test_the_due_date_counts_the_bodys_business_days_on_the_municipalitys_calendar(
    categories, awv, kortrijk_agent
):
    awv.acknowledge_days = 2
    awv.save()
    report = file_report()
    handover = services.forward_to_external_body(report, awv, reason="N43", actor=kortrijk_agent)
    calendar = services.calendar_for(categories["KOR"])
    assert handover.state == HandoverState.SENT
    assert handover.acknowledge_due_at == calendar.add_business_days(handover.created_at, 2)
    assert calendar.business_days_between(handover.created_at, handover.acknowledge_due_at) == 2
    assert handover.acknowledge_due_at - handover.created_at >= timedelta(days=2)


# --- Answers ----------------------------------------------------------------------------------


def test_acknowledge_once_a_second_click_changes_nothing(forwarded, mailoutbox):
    report, handover, path = forwarded
    response = answer(path, "acknowledge", note="Ploeg gepland volgende week.")
    assert response.status_code == 302 and response["Location"] == path
    handover.refresh_from_db()
    assert handover.state == HandoverState.ACKNOWLEDGED
    assert handover.acknowledgement == "Ploeg gepland volgende week."
    assert handover.acknowledged_at is not None
    assert answer(path, "acknowledge").status_code == 302
    assert len(entries(report, "report.handover_acknowledged")) == 1
    followed = Client(HTTP_ACCEPT_LANGUAGE="en").get(path, follow=True)
    assert "You acknowledged this report" in followed.content.decode()
    report.refresh_from_db()
    assert report.status == Status.FORWARDED  # still with the body
    run_tasks()
    assert to_reporter(mailoutbox) == []  # by default the reporter is not told


def test_the_reporter_hears_the_acknowledgement_when_the_body_is_set_to(forwarded, awv, mailoutbox):
    _report, _handover, path = forwarded
    awv.tell_reporter_when_acknowledged = True
    awv.save()
    answer(path, "acknowledge")
    answer(path, "acknowledge")
    run_tasks()
    [mail] = to_reporter(mailoutbox)
    assert "Agentschap Wegen en Verkeer" in mail.body


def test_reject_sends_the_report_back_to_triage_with_the_reason(
    forwarded, kortrijk_agent, mailoutbox
):
    report, handover, path = forwarded
    response = answer(path, "reject", reason="Dit is de N8 niet: gemeenteweg.")
    assert response.status_code == 302
    handover.refresh_from_db()
    assert handover.state == HandoverState.REJECTED
    assert handover.answer == "Dit is de N8 niet: gemeenteweg."
    report.refresh_from_db()
    assert report.status == Status.IN_PROGRESS and report.is_open
    assert report.routing_state == "uncertain"
    decision = RoutingDecision.objects.filter(report=report).latest("at", "id")
    assert decision.reason_code == "handover_rejected"
    assert decision.note == "Dit is de N8 niet: gemeenteweg."
    assert "Agentschap Wegen en Verkeer" in decision.reason_params["body"]
    # The municipality's triage queue has it, with the reason on the report page.
    inbox = staff_client(kortrijk_agent).get("/staff/reports/?routing=uncertain")
    assert report.reference in inbox.content.decode()
    page = staff_client(kortrijk_agent).get(f"/staff/reports/{report.reference}/")
    assert "Dit is de N8 niet: gemeenteweg." in page.content.decode()
    # A second click changes nothing; the reporter hears it once.
    assert answer(path, "reject", reason="Nog eens.").status_code == 302
    assert len(entries(report, "report.handover_rejected")) == 1
    run_tasks()
    [mail] = to_reporter(mailoutbox)
    assert "Kortrijk" in mail.body and "Agentschap Wegen en Verkeer" in mail.body
    assert "N8" not in mail.body  # the body's reason is for the municipality
    # Another answer after that is refused, saying why.
    refused = answer(path, "resolve", message="Toch opgelost.")
    assert refused.status_code == 409
    assert "You already sent this report back" in refused.content.decode()
    report.refresh_from_db()
    assert report.status == Status.IN_PROGRESS


def test_resolve_tells_the_reporter_the_bodys_message_once(forwarded, mailoutbox):
    report, handover, path = forwarded
    response = answer(path, "resolve", message="Het gat is op 3 mei gedicht.")
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == Status.RESOLVED and report.resolved_at is not None
    handover.refresh_from_db()
    assert handover.state == HandoverState.RESOLVED
    message = Message.objects.filter(report=report).latest("created_at", "id")
    assert "Het gat is op 3 mei gedicht." in message.body
    assert answer(path, "resolve", message="Het gat is op 3 mei gedicht.").status_code == 302
    assert len(entries(report, "report.handover_resolved")) == 1
    run_tasks()
    mails = [m for m in to_reporter(mailoutbox) if "gedicht" in m.body]
    assert len(mails) == 1
    assert "Agentschap Wegen en Verkeer" in mails[0].body
    # The follow-up page shows the body's message too.
    followup = Client().get(f"/melding/{services.followup_token(report)}/")
    assert "Het gat is op 3 mei gedicht." in followup.content.decode()


@pytest.mark.parametrize(
    ("action", "fields", "error"),
    [
        ("reject", {"reason": ""}, "This field is required."),
        ("reject", {"reason": "   "}, "This field is required."),
        ("resolve", {"message": ""}, "This field is required."),
        ("resolve", {"message": "x" * 2001}, "at most 2000 characters"),
        ("acknowledge", {"note": "x" * 2001}, "at most 2000 characters"),
        ("destroy", {}, "Choose one of the answers on this page."),
        ("", {}, "Choose one of the answers on this page."),
    ],
)
def test_empty_oversized_and_unknown_answers_are_refused(forwarded, action, fields, error):
    report, handover, path = forwarded
    response = answer(path, action, **fields)
    assert response.status_code == 400
    assert error in response.content.decode()
    handover.refresh_from_db()
    assert handover.state == HandoverState.SENT
    assert Report.objects.get(pk=report.pk).status == Status.FORWARDED


@pytest.mark.parametrize("text", ["Opgelost\x00", "\x00"])
def test_nul_in_an_answer_is_refused_before_anything_happens(forwarded, text):
    _report, handover, path = forwarded
    response = answer(path, "resolve", message=text)
    assert response.status_code == 400
    assert "NUL" in response.content.decode()
    handover.refresh_from_db()
    assert handover.state == HandoverState.SENT
    with pytest.raises(ValidationError):  # the service refuses it too
        handoff.resolve(handover, text, actor_label="AWV")


def test_odd_characters_in_an_answer_are_kept_as_written(forwarded):
    _report, handover, path = forwarded
    text = "Opgelost ✓ — rue de l’Église, 8°C, 日本, \u202eRTL\u202c"
    assert answer(path, "resolve", message=text).status_code == 302
    handover.refresh_from_db()
    assert handover.answer == text


# --- Staff take it back -------------------------------------------------------------------


def test_staff_taking_the_report_back_ends_the_hand_over(forwarded, kortrijk_agent):
    report, handover, path = forwarded
    services.change_status(report, Status.IN_PROGRESS, actor=kortrijk_agent)
    handover.refresh_from_db()
    assert handover.state == HandoverState.ENDED
    assert len(entries(report, "report.handover_ended")) == 1
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get(path)
    assert "took this report back" in page.content.decode()
    assert "Mark as solved" not in page.content.decode()
    refused = answer(path, "resolve", message="Opgelost.")
    assert refused.status_code == 409
    assert Report.objects.get(pk=report.pk).status == Status.IN_PROGRESS


def test_a_forwarded_report_is_open_with_its_sla_clock_paused(forwarded, kortrijk_agent, region):
    report, handover, path = forwarded
    assert report.is_open and report.closed_at is None
    assert sla_state(report) == SlaState.PAUSED
    assert report.resolution_due_at is None  # stands still while the body has it
    inbox = staff_client(kortrijk_agent).get("/staff/reports/")
    assert report.reference in inbox.content.decode()  # "All open" lists it
    # Not ours to route or hand over while the body has it.
    with translation.override("en"):
        with pytest.raises(ValidationError, match="take it back first"):
            services.reroute(report, actor=kortrijk_agent)
        with pytest.raises(ValidationError, match="take it back first"):
            services.forward_to_external_body(report, handover.to_external_body, reason="x",
                                              actor=kortrijk_agent)  # fmt: skip
        with pytest.raises(ValidationError, match="take it back first"):
            services.forward_to_municipality(
                report, region["MEN"], reason="x", actor=kortrijk_agent
            )
    assert Handover.objects.filter(report=report).count() == 1
    # Apps read it as open too.
    found = Client().get(
        "/open311/v2/requests.json",
        {"jurisdiction_id": "34022", "service_request_id": report.reference},
    )
    assert [r["status"] for r in found.json()] == ["open"]
    answer(path, "reject", reason="Niet van ons.")
    report.refresh_from_db()
    assert report.resolution_due_at is not None  # the clock runs again


# --- Overdue ------------------------------------------------------------------------------


def test_overdue_hand_overs_have_a_quick_filter_a_badge_and_a_digest_line(
    forwarded, awv, kortrijk_agent, mailoutbox
):
    late_report, late, late_path = forwarded
    on_time = services.forward_to_external_body(
        file_report(), awv, reason="N50", actor=kortrijk_agent
    )
    Handover.objects.filter(pk=late.pk).update(
        acknowledge_due_at=timezone.now() - timedelta(hours=1)
    )
    agent = staff_client(kortrijk_agent)
    inbox = agent.get("/staff/reports/?handover=overdue").content.decode()
    assert late_report.reference in inbox
    assert on_time.report.reference not in inbox
    with translation.override("nl"):  # the staff pages speak the region's language
        label = translation.gettext("Hand-over overdue")
    assert label in inbox  # the quick filter and the row's badge
    assert f'class="badge badge-overdue">{label}' in inbox
    page = agent.get(f"/staff/reports/{late_report.reference}/").content.decode()
    assert f'class="badge badge-overdue">{label}' in page
    other = agent.get(f"/staff/reports/{on_time.report.reference}/").content.decode()
    assert f'badge badge-overdue">{label}' not in other

    MembershipFactory(
        organisation=late_report.organisation,
        department=late_report.department,
        agent=True,
        user__email="wegen@kortrijk.example.org",
    )
    mailoutbox.clear()
    enqueue(send_daily_digests)
    run_tasks()
    digest = [m for m in mailoutbox if "wegen@kortrijk.example.org" in m.to]
    assert digest and late_report.reference in digest[0].body
    assert on_time.report.reference not in digest[0].body

    answer(late_path, "acknowledge")
    assert (
        late_report.reference not in agent.get("/staff/reports/?handover=overdue").content.decode()
    )


def test_staff_of_another_municipality_see_nothing_of_the_hand_over(forwarded, region):
    report, handover, _path = forwarded
    Handover.objects.filter(pk=handover.pk).update(
        acknowledge_due_at=timezone.now() - timedelta(days=1)
    )
    menen = staff_client(MembershipFactory(organisation=region["MEN"], agent=True).user)
    assert menen.get(f"/staff/reports/{report.reference}/").status_code == 404
    inbox = menen.get("/staff/reports/?handover=overdue").content.decode()
    assert report.reference not in inbox
