"""Every morning each department hears, in each member's language, which of its reports
are overdue or due by the end of tomorrow - once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import formats, timezone, translation

from regiohub.core.demo.region import DEMO_DOMAIN
from regiohub.core.models import Department, User
from regiohub.core.roles import Role
from regiohub.core.tasks import enqueue
from regiohub.core.testing import run_tasks
from regiohub.core.tests.factories import MembershipFactory, UserFactory
from regiohub.meldpunt.models import Report
from regiohub.meldpunt.tasks_periodic import send_daily_digests, send_department_digest
from regiohub.meldpunt.tests.factories import MENEN_CENTRE, file_report
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db


def staff_url(report: Report) -> str:
    return "http://testserver.example" + reverse("meldpunt:staff-report", args=[report.reference])


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = "http://testserver.example/"


def filed(*, code: str = "pothole", where=None, due=None, status: str = Status.NEW) -> Report:
    """An anonymous report (no acknowledgement mail) due at ``due`` in ``status``."""
    kwargs = {"where": where} if where else {}
    report = file_report(
        code=code, reporter_email="", consent=False, address="Grote Markt 1", **kwargs
    )
    if due is not None:
        Report.objects.filter(pk=report.pk).update(
            status=status, response_due_at=due, resolution_due_at=due
        )
    report.refresh_from_db()
    return report


def department(code: str, name: str) -> Department:
    return Department.objects.get(organisation__code=code, name=name)


def mails_to(outbox, email: str) -> list:
    return [m for m in outbox if email in m.to]


KOR_ROADS = f"openbarewerken.kortrijk@{DEMO_DOMAIN}"
MEN_ROADS = f"openbarewerken.menen@{DEMO_DOMAIN}"


def test_overdue_and_due_soon_are_listed_on_time_paused_and_finished_are_not(
    categories, mailoutbox
):
    User.objects.filter(email=KOR_ROADS).update(language="en")  # stable wording
    now = timezone.now()
    overdue = filed(due=now - timedelta(hours=5))
    soon = filed(due=now + timedelta(hours=3))
    on_time = filed(due=now + timedelta(days=5))
    paused = filed(due=now - timedelta(days=2), status=Status.WAITING_FOR_REPORTER)
    finished = filed(due=now - timedelta(days=2), status=Status.RESOLVED)
    # Answered in time: only the resolution due date counts once a report is answered.
    answered = filed(due=now + timedelta(days=5), status=Status.IN_PROGRESS)
    Report.objects.filter(pk=answered.pk).update(response_due_at=now - timedelta(days=1))

    enqueue(send_daily_digests)
    run_tasks()

    [mail] = mails_to(mailoutbox, KOR_ROADS)
    body = mail.body
    assert overdue.reference in body and soon.reference in body
    for left_out in (on_time, paused, finished, answered):
        assert left_out.reference not in body
    assert body.index(overdue.reference) < body.index(soon.reference)  # overdue first
    assert "1 overdue, 1 due soon" in mail.subject
    line = next(line for line in body.splitlines() if overdue.reference in line)
    assert "Pothole or damaged road" in line
    assert "Grote Markt 1" in line
    assert staff_url(overdue) in line
    with translation.override("en"):
        due_local = formats.date_format(
            timezone.localtime(overdue.resolution_due_at), "SHORT_DATETIME_FORMAT"
        )
    assert due_local in line


def test_each_department_gets_one_mail_with_only_its_own_reports(
    categories, kortrijk_admin, mailoutbox
):
    now = timezone.now()
    kor_road = filed(due=now - timedelta(hours=1))
    kor_road_2 = filed(due=now + timedelta(hours=2))
    kor_waste = filed(code="illegal-dumping", due=now - timedelta(hours=1))
    men_road = filed(where=MENEN_CENTRE, due=now - timedelta(hours=1))
    filed(where=MENEN_CENTRE, due=now + timedelta(days=6))  # Menen Milieu: nothing due

    assert send_daily_digests.call() == 3
    run_tasks()

    [kor_mail] = mails_to(mailoutbox, KOR_ROADS)
    assert kor_road.reference in kor_mail.body and kor_road_2.reference in kor_mail.body
    assert men_road.reference not in kor_mail.body
    assert kor_waste.reference not in kor_mail.body
    [men_mail] = mails_to(mailoutbox, MEN_ROADS)
    assert men_road.reference in men_mail.body
    assert "KOR-" not in men_mail.body
    # Kortrijk's Milieu department has no members: its administrators get the digest.
    for admin in (kortrijk_admin.email, f"beheer.kortrijk@{DEMO_DOMAIN}"):
        [waste_mail] = mails_to(mailoutbox, admin)
        assert kor_waste.reference in waste_mail.body
        assert kor_road.reference not in waste_mail.body
    assert all(len(m.to) == 1 for m in mailoutbox)
    assert len(mailoutbox) == 4


def test_each_member_gets_the_digest_in_their_own_language(categories, mailoutbox):
    roads = department("KOR", "Openbare werken")
    french = UserFactory(language="fr")
    english = UserFactory(language="en")
    gone = UserFactory(language="nl", is_active=False)
    for user in (french, english, gone):
        MembershipFactory(
            user=user, organisation=roads.organisation, department=roads, role=Role.HANDLER
        )
    report = filed(due=timezone.now() - timedelta(hours=1))

    send_department_digest.call(roads.pk, timezone.localdate().isoformat())

    assert sorted(m.to[0] for m in mailoutbox) == sorted([KOR_ROADS, french.email, english.email])
    [fr_mail] = mails_to(mailoutbox, french.email)
    [en_mail] = mails_to(mailoutbox, english.email)
    [nl_mail] = mails_to(mailoutbox, KOR_ROADS)
    assert report.reference in fr_mail.body and report.reference in en_mail.body
    assert "Nid-de-poule ou route abîmée" in fr_mail.body
    assert "Pothole or damaged road" in en_mail.body
    assert "Put of schade in de weg" in nl_mail.body


def test_the_digest_is_sent_once_per_department_and_day(categories, mailoutbox):
    filed(due=timezone.now() - timedelta(hours=1))
    roads = department("KOR", "Openbare werken")
    today = timezone.localdate().isoformat()

    enqueue(send_daily_digests)
    run_tasks()
    assert len(mails_to(mailoutbox, KOR_ROADS)) == 1

    enqueue(send_daily_digests)
    run_tasks()
    assert send_department_digest.call(roads.pk, today) == "already sent"
    assert len(mails_to(mailoutbox, KOR_ROADS)) == 1

    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert send_department_digest.call(roads.pk, tomorrow).startswith("sent")
    assert len(mails_to(mailoutbox, KOR_ROADS)) == 2


def test_nothing_is_sent_when_nothing_is_due(categories, mailoutbox):
    filed(due=timezone.now() + timedelta(days=4))
    filed(due=timezone.now() - timedelta(days=4), status=Status.CLOSED)
    assert send_daily_digests.call() == 0
    roads = department("KOR", "Openbare werken")
    assert send_department_digest.call(roads.pk, timezone.localdate().isoformat()) == (
        "nothing due"
    )
    run_tasks()
    assert mailoutbox == []
