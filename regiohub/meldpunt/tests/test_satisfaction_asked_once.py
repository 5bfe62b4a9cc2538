"""After resolution the reporter is asked once whether they are satisfied (a mail task in
the resolving transaction, and their follow-up page), answers once with one of their
municipality's standard answers, and may ask to look at the report again: a request an
agent reopens or declines with a message, never a reopen by itself (ADR 0039)."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from regiohub.core.mail import message_id
from regiohub.core.models import HistoryEntry
from regiohub.core.testing import run_tasks, staff_client
from regiohub.core.tests.factories import MembershipFactory
from regiohub.meldpunt import services
from regiohub.meldpunt.events import Action
from regiohub.meldpunt.models import (
    MessageKind,
    ReopenDecision,
    ReopenRequest,
    Report,
    SatisfactionAnswer,
    SatisfactionOption,
)
from regiohub.meldpunt.services import citizen
from regiohub.meldpunt.tests.factories import MENEN_CENTRE, file_report
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def client() -> Client:
    browser = Client()
    browser.cookies["regiohub_language"] = "en"
    return browser


def staff(user) -> Client:
    """An agent's browser, in English (the wording is checked; translations change)."""
    browser = staff_client(user)
    browser.cookies["regiohub_language"] = "en"
    return browser


def question_tasks(report: Report) -> list[DBTaskResult]:
    return [
        t
        for t in DBTaskResult.objects.filter(task_path__endswith="send_satisfaction_question")
        if t.args_kwargs["args"][0] == report.pk
    ]


def resolved(agent, **kwargs) -> tuple[Report, str]:
    report = file_report(**kwargs)
    services.change_status(report, Status.RESOLVED, actor=agent)
    report.refresh_from_db()
    return report, services.followup_token(report)


def option(satisfied: bool, organisation=None) -> SatisfactionOption:
    return SatisfactionOption.objects.filter(
        organisation=organisation, satisfied=satisfied, is_active=True
    ).first()


def followup(name: str, token: str) -> str:
    return reverse(f"meldpunt:{name}", args=[token])


# --- Asked once -------------------------------------------------------------------------


def test_resolving_asks_once_with_a_mail_task_in_the_same_transaction(categories, kortrijk_agent):
    report, _token = resolved(kortrijk_agent)
    assert report.first_resolved_at is not None
    assert report.satisfaction_asked_at == report.first_resolved_at
    assert len(question_tasks(report)) == 1
    asked = HistoryEntry.objects.for_object(report).filter(action=Action.SATISFACTION_ASKED)
    assert asked.count() == 1

    # Reopened and resolved again: not asked a second time, the first resolution stays.
    first = report.first_resolved_at
    services.change_status(report, Status.REOPENED, actor=kortrijk_agent, reason="Opnieuw")
    services.change_status(report, Status.RESOLVED, actor=kortrijk_agent)
    report.refresh_from_db()
    assert len(question_tasks(report)) == 1
    assert asked.count() == 1
    assert report.first_resolved_at == first
    assert report.reopened_at is not None


def test_a_resolution_that_rolls_back_asks_nothing(categories, kortrijk_agent):
    report = file_report()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.change_status(report, Status.RESOLVED, actor=kortrijk_agent)
        assert len(question_tasks(report)) == 1  # written with the change ...
        raise RuntimeError("the mail server of the database is on fire")
    report.refresh_from_db()
    assert question_tasks(report) == []  # ... and gone with it
    assert report.satisfaction_asked_at is None and report.first_resolved_at is None


def test_the_question_mail_goes_once_in_the_reporters_language_with_the_link(
    categories, kortrijk_agent, mailoutbox, client
):
    report, token = resolved(kortrijk_agent, language="fr", reporter_email="mf@example.org")
    run_tasks()
    key = f"meldpunt.satisfaction:{report.pk}"
    [mail] = [m for m in mailoutbox if m.extra_headers["Message-ID"] == message_id(key)]
    assert mail.to == ["mf@example.org"]
    assert report.reference in mail.subject
    assert "Nid-de-poule ou route abîmée" in mail.body  # the subject, in French
    assert followup("followup", token) in mail.body
    # It is the news of the resolution too: no second mail says "resolved".
    assert len(mailoutbox) == 2  # the acknowledgement, and this one
    # The task run again (a retry after a crash) sends nothing more.
    from regiohub.meldpunt.tasks import send_satisfaction_question

    assert send_satisfaction_question.call(report.pk) == "already sent"
    assert len(mailoutbox) == 2


def test_a_reporter_without_address_is_not_mailed_but_the_page_asks(
    categories, kortrijk_agent, client
):
    report, token = resolved(kortrijk_agent, reporter_email="", consent=False)
    assert question_tasks(report) == []
    assert report.satisfaction_asked_at is None
    page = client.get(followup("followup", token))
    assert page.context["satisfaction_form"] is not None
    response = client.post(followup("followup-rate", token), {"option": option(True).pk})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.satisfied is True
    assert report.satisfaction_asked_at is not None  # the page asked


def test_an_open_report_is_not_asked(client, categories):
    report = file_report()
    token = services.followup_token(report)
    assert client.get(followup("followup", token)).context["satisfaction_form"] is None
    response = client.post(followup("followup-rate", token), {"option": option(True).pk})
    assert response.status_code == 400
    assert "once your report is resolved" in response.content.decode()
    report.refresh_from_db()
    assert report.satisfied is None


# --- Answered once ----------------------------------------------------------------------


def test_an_answer_is_kept_once_and_a_double_submit_is_the_same_answer(
    client, categories, kortrijk_agent
):
    report, token = resolved(kortrijk_agent)
    happy = option(True)
    data = {"option": happy.pk, "comment": "Vlot geholpen."}
    first = client.post(followup("followup-rate", token), data)
    again = client.post(followup("followup-rate", token), data)  # the double click
    assert (first.status_code, again.status_code) == (302, 302)
    answer = SatisfactionAnswer.objects.get(report=report)
    assert (answer.option, answer.satisfied, answer.comment) == (happy, True, "Vlot geholpen.")
    assert answer.text == happy.text_en  # as the reporter read it (this one in English)
    answered = HistoryEntry.objects.for_object(report).filter(action=Action.SATISFACTION_ANSWERED)
    assert answered.count() == 1
    page = client.get(followup("followup", token))
    assert page.context["satisfaction_form"] is None
    assert "You told us" in page.content.decode()

    other = client.post(followup("followup-rate", token), {"option": option(False).pk})
    assert other.status_code == 400
    assert "You already answered this question" in other.content.decode()
    report.refresh_from_db()
    assert report.satisfied is True
    assert SatisfactionAnswer.objects.filter(report=report).count() == 1


@pytest.mark.parametrize(
    "value",
    ["", "abc", "0", "-1", "1e1", "4.5", "99999999999999999999999999", "٣", "<script>", "1;--"],
)
def test_an_answer_that_is_not_offered_is_refused(client, categories, kortrijk_agent, value):
    report, token = resolved(kortrijk_agent)
    response = client.post(followup("followup-rate", token), {"option": value})
    assert response.status_code == 400
    errors = response.context["satisfaction_form"].errors["option"]
    assert errors and "<script>" not in response.content.decode()
    report.refresh_from_db()
    assert report.satisfied is None


def test_another_municipalitys_own_answer_is_refused(client, categories, kortrijk_agent):
    kortrijk = categories["KOR"]
    own = SatisfactionOption.objects.create(
        organisation=kortrijk, text="Top", text_en="Great", satisfied=True
    )
    report, token = resolved(None, where=MENEN_CENTRE)
    assert report.organisation.code == "MEN"
    assert own not in citizen.satisfaction_options(report)  # Menen: the region's answers
    response = client.post(followup("followup-rate", token), {"option": own.pk})
    assert response.status_code == 400
    # Kortrijk offers its own answers only.
    kortrijk_report = file_report()
    assert citizen.satisfaction_options(kortrijk_report) == [own]
    own.is_active = False
    own.save()
    assert own not in citizen.satisfaction_options(kortrijk_report)


def test_a_comment_too_long_is_refused(client, categories, kortrijk_agent):
    _report, token = resolved(kortrijk_agent)
    data = {"option": option(True).pk, "comment": "x" * 2001}
    response = client.post(followup("followup-rate", token), data)
    assert response.status_code == 400
    assert "comment" in response.context["satisfaction_form"].errors


def test_a_nul_character_is_refused_with_a_message(client, categories, kortrijk_agent):
    report, token = resolved(kortrijk_agent)
    data = {"option": option(True).pk, "comment": "hal\x00lo"}
    response = client.post(followup("followup-rate", token), data)
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()
    report.refresh_from_db()
    assert report.satisfied is None


def test_a_rating_from_before_still_shows(client, categories, kortrijk_agent):
    """As migration 0016 keeps it: the rating, read as an answer (4 and 5: satisfied)."""
    report, token = resolved(kortrijk_agent)
    at = report.first_resolved_at
    Report.objects.filter(pk=report.pk).update(rating=4, rated_at=at, satisfied=True)
    SatisfactionAnswer.objects.create(report=report, text="4/5", satisfied=True, answered_at=at)
    page = client.get(followup("followup", token))
    assert page.context["satisfaction_form"] is None
    assert "You rated our handling 4 out of 5" in page.content.decode()


# --- Not satisfied: a request to reopen, for an agent -----------------------------------


def unhappy_with_request(client, token: str, reason: str = "Het gat is er nog altijd.") -> None:
    data = {"option": option(False).pk, "comment": reason, "reopen": "on"}
    response = client.post(followup("followup-rate", token), data)
    assert response.status_code == 302, response.content.decode()[:2000]


def test_not_satisfied_with_a_reason_becomes_a_request_not_a_reopen(
    client, categories, kortrijk_agent
):
    report, token = resolved(kortrijk_agent)
    services.assign(report, actor=kortrijk_agent, assignee=kortrijk_agent)
    unhappy_with_request(client, token)
    unhappy_with_request(client, token)  # the double click asks once
    report.refresh_from_db()
    assert report.status == Status.RESOLVED  # no automatic reopen
    assert report.satisfied is False and report.reopen_requested_at is not None
    request = ReopenRequest.objects.get(report=report)
    assert request.decision == ReopenDecision.PENDING
    assert request.reason == "Het gat is er nog altijd."
    assert report.messages.get(kind=MessageKind.FROM_REPORTER).body == request.reason
    entry = HistoryEntry.objects.for_object(report).get(action=Action.REOPEN_REQUESTED)
    assert entry.actor is None
    assert DBTaskResult.objects.filter(task_path__endswith="notify_assignee").exists()
    page = client.get(followup("followup", token))
    assert page.context["reopen_waiting"] == request and page.context["reopen_form"] is None

    # The agent sees it: a flag on the report and a quick filter of the inbox.
    agent = staff(kortrijk_agent)
    inbox = agent.get(reverse("meldpunt:inbox"), {"reopen": "requested"})
    assert [r for r, _sla in inbox.context["rows"]] == [report]
    assert 'href="?reopen=requested"' in agent.get(reverse("meldpunt:inbox")).content.decode()
    detail = agent.get(reverse("meldpunt:staff-report", args=[report.reference]))
    assert detail.context["reopen_request"] == request
    assert "Reopen requested" in detail.content.decode() or detail.context["reopen_form"]


def test_the_agent_reopens_at_the_request(client, categories, kortrijk_agent):
    report, token = resolved(kortrijk_agent)
    unhappy_with_request(client, token)
    agent = staff(kortrijk_agent)
    response = agent.post(
        reverse("meldpunt:staff-status", args=[report.reference]),
        {"status": Status.REOPENED, "reason": "We herstellen het opnieuw."},
    )
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == Status.REOPENED and report.reopened_at is not None
    request = ReopenRequest.objects.get(report=report)
    assert (request.decision, request.decided_by) == (ReopenDecision.REOPENED, kortrijk_agent)
    inbox = agent.get(reverse("meldpunt:inbox"), {"reopen": "requested"})
    assert inbox.context["rows"] == []


def test_the_agent_declines_with_a_message_to_the_reporter(
    client, categories, kortrijk_agent, mailoutbox
):
    report, token = resolved(kortrijk_agent)
    unhappy_with_request(client, token)
    agent = staff(kortrijk_agent)
    url = reverse("meldpunt:staff-reopen-decline", args=[report.reference])
    empty = agent.post(url, {"body": "   "})
    assert empty.status_code == 400
    response = agent.post(url, {"body": "Dit is een nieuw gat: meld het apart, aub."})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == Status.RESOLVED
    request = ReopenRequest.objects.get(report=report)
    assert (request.decision, request.decided_by) == (ReopenDecision.DECLINED, kortrijk_agent)
    assert HistoryEntry.objects.for_object(report).filter(action=Action.REOPEN_DECLINED).exists()
    run_tasks()
    assert any("Dit is een nieuw gat" in m.body for m in mailoutbox)
    assert "Dit is een nieuw gat" in client.get(followup("followup", token)).content.decode()
    # Nothing waits any more: declining again says so.
    again = agent.post(url, {"body": "Nogmaals nee."})
    assert again.status_code == 400
    assert "No request to reopen this report is waiting" in again.content.decode()


def test_another_municipality_cannot_decline(client, categories, kortrijk_agent):
    report, token = resolved(kortrijk_agent)
    unhappy_with_request(client, token)
    menen = MembershipFactory(organisation=categories["MEN"], agent=True).user
    url = reverse("meldpunt:staff-reopen-decline", args=[report.reference])
    assert staff(menen).post(url, {"body": "Nee."}).status_code == 404
    assert ReopenRequest.objects.get(report=report).decision == ReopenDecision.PENDING


def test_a_request_needs_an_unhappy_answer_and_a_reason(client, categories, kortrijk_agent):
    report, token = resolved(kortrijk_agent)
    happy = {"option": option(True).pk, "comment": "Prima", "reopen": "on"}
    response = client.post(followup("followup-rate", token), happy)
    assert response.status_code == 400
    assert "reopen" in response.context["satisfaction_form"].errors
    silent = {"option": option(False).pk, "comment": " ", "reopen": "on"}
    response = client.post(followup("followup-rate", token), silent)
    assert response.status_code == 400
    assert "comment" in response.context["satisfaction_form"].errors
    assert not ReopenRequest.objects.exists()
    report.refresh_from_db()
    assert report.satisfied is None


def test_after_answering_the_reporter_can_still_ask_once_at_a_time(
    client, categories, kortrijk_agent
):
    report, token = resolved(kortrijk_agent)
    client.post(followup("followup-rate", token), {"option": option(True).pk})
    page = client.get(followup("followup", token))
    assert page.context["reopen_form"] is not None  # the problem came back
    url = followup("followup-reopen", token)
    assert client.post(url, {"reason": "Het gat is terug."}).status_code == 302
    assert client.post(url, {"reason": "Het gat is terug."}).status_code == 302  # same
    other = client.post(url, {"reason": "En nog een ander gat."})
    assert other.status_code == 400
    assert "We already have your request" in other.content.decode()
    assert ReopenRequest.objects.filter(report=report).count() == 1


def test_the_answer_is_part_of_what_a_reporter_may_ask_for(client, categories, kortrijk_agent):
    from regiohub.meldpunt.privacy import export_person

    _report, token = resolved(kortrijk_agent, reporter_email="an@example.org")
    client.post(followup("followup-rate", token), {"option": option(True).pk, "comment": "Top"})
    [exported] = export_person(email="an@example.org")["reports"]
    assert exported["satisfaction"]["satisfied"] is True
    assert exported["satisfaction"]["comment"] == "Top"
