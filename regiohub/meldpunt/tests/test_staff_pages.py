"""The staff pages: the inbox with its filters, paging, saved filters and bulk actions, the
report page with its actions, and agent intake - always limited to the municipalities
where the user handles reports, with the reporter's contact details only for the people
handling the report."""

from __future__ import annotations

import base64
import io
import json
from datetime import timedelta

import pytest
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from regiohub.core.models import Department, HistoryEntry
from regiohub.core.roles import Role
from regiohub.core.testing import run_tasks, staff_client
from regiohub.core.tests.factories import MembershipFactory
from regiohub.meldpunt import inbox, services
from regiohub.meldpunt.models import (
    ExternalBody,
    Handover,
    MessageKind,
    MessageTemplate,
    Report,
    SavedFilter,
)
from regiohub.meldpunt.photos import process_photo
from regiohub.meldpunt.tests.factories import KORTRIJK_CENTRE, MENEN_CENTRE, file_report
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db

INBOX = "/staff/reports/"
EMAIL = "burger@example.org"
PHONE = "056 27 00 00"


def browser(user):
    """A logged-in staff member's browser, in English so the wording can be checked."""
    client = staff_client(user)
    client.cookies["regiohub_language"] = "en"
    return client


def page_url(report: Report, action: str = "") -> str:
    if not action:
        return reverse("meldpunt:staff-report", args=[report.reference])
    return reverse(f"meldpunt:staff-{action}", args=[report.reference])


def references(response) -> list[str]:
    assert response.status_code == 200
    return [report.reference for report, _sla in response.context["rows"]]


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def refresh(report: Report) -> Report:
    return Report.objects.select_related("organisation", "assignee").get(pk=report.pk)


def photo():
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(buffer, "JPEG")
    buffer.seek(0)
    return process_photo(buffer)


def handler(organisation, department_name: str | None = None):
    department = (
        Department.objects.get(organisation=organisation, name=department_name)
        if department_name
        else None
    )
    return MembershipFactory(
        organisation=organisation, role=Role.HANDLER, department=department
    ).user


@pytest.fixture
def reports(categories):
    """Two Kortrijk reports and one of Menen."""
    return {
        "kor": file_report(description="Gat in de Doorniksewijk.", address="Doorniksewijk 5"),
        "kor2": file_report(code="street-light", description="Lantaarn kapot."),
        "men": file_report(where=MENEN_CENTRE, description="Menen: gat in de weg."),
    }


# --- Isolation between municipalities ----------------------------------------------------


def test_a_kortrijk_agent_never_sees_a_menen_report(reports, kortrijk_agent):
    menen = reports["men"]
    [menen_photo] = services.attach_photos(menen, [photo()], by_reporter=True)
    client = browser(kortrijk_agent)

    for query in ("", "?status=all", "?municipality=MEN", f"?q={menen.reference}", "?q=Menen"):
        response = client.get(INBOX + query)
        assert menen.reference not in references(response), query
        html = response.content.decode()
        assert "Menen: gat" not in html, query
        if menen.reference not in query:  # the search box echoes what was searched
            assert menen.reference not in html, query
    assert sorted(references(client.get(INBOX))) == sorted(
        [reports["kor"].reference, reports["kor2"].reference]
    )
    assert client.get(page_url(menen)).status_code == 404
    photo_url = reverse("meldpunt:staff-photo", args=[menen.reference, menen_photo.pk])
    assert client.get(photo_url).status_code == 404
    # Not through a Kortrijk reference with a Menen photo either.
    photo_url = reverse("meldpunt:staff-photo", args=[reports["kor"].reference, menen_photo.pk])
    assert client.get(photo_url).status_code == 404
    for action, data in [
        ("status", {"status": "in_progress"}),
        ("assign", {"assignee": kortrijk_agent.pk}),
        ("note", {"body": "Gezien"}),
        ("message", {"body": "Hallo"}),
        ("merge", {"into": reports["kor"].reference}),
        ("split", {"category": "noise", "description": "Lawaai"}),
    ]:
        assert client.post(page_url(menen, action), data).status_code == 404, action
    assert not inbox.nearby(kortrijk_agent, *MENEN_CENTRE)
    menen = refresh(menen)
    assert menen.status == Status.NEW and menen.assignee is None
    assert not menen.messages.exists()


def test_a_bulk_action_on_a_menen_report_is_refused_and_changes_nothing(reports, kortrijk_agent):
    client = browser(kortrijk_agent)
    response = client.post(
        reverse("meldpunt:bulk"),
        {"action": "assign_me", "reports": [reports["kor"].pk, reports["men"].pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert any("valid choice" in m for m in messages_of(response))
    assert refresh(reports["men"]).assignee is None
    assert refresh(reports["kor"]).assignee is None  # the whole request is refused


def test_a_kortrijk_report_cannot_be_merged_into_a_menen_reference(reports, kortrijk_agent):
    client = browser(kortrijk_agent)
    response = client.post(page_url(reports["kor"], "merge"), {"into": reports["men"].reference})
    assert response.status_code == 400
    assert "No report with this reference that you handle" in response.content.decode()
    assert reports["men"].reference not in str(response.context["merge_form"].errors)
    assert refresh(reports["kor"]).status == Status.NEW


def test_a_region_admin_sees_both_municipalities(reports, region_admin):
    client = browser(region_admin)
    assert sorted(references(client.get(INBOX))) == sorted(r.reference for r in reports.values())
    assert references(client.get(INBOX + "?municipality=MEN")) == [reports["men"].reference]
    assert client.get(page_url(reports["men"])).status_code == 200
    assert client.get(page_url(reports["kor"])).status_code == 200


def test_people_without_the_right_to_handle_reports_see_none(reports, region):
    employee = MembershipFactory(organisation=region["KOR"]).user
    client = browser(employee)
    assert references(client.get(INBOX)) == []
    assert client.get(page_url(reports["kor"])).status_code == 404


def test_the_staff_pages_need_a_login(reports, client):
    for path in (INBOX, page_url(reports["kor"]), reverse("meldpunt:intake")):
        response = client.get(path)
        assert response.status_code == 302
        assert reports["kor"].reference not in response.content.decode()
    response = client.post(page_url(reports["kor"], "note"), {"body": "Hallo"})
    assert response.status_code == 302
    assert not reports["kor"].messages.exists()


# --- Inbox filters ----------------------------------------------------------------------


@pytest.fixture
def mixed(categories, kortrijk_agent):
    """Kortrijk reports in different states, categories and channels."""
    new = file_report(description="Diep gat voor de school.", address="Kerkstraat 1")
    phone = file_report(code="street-light", channel="phone", description="Lamp flikkert.")
    mine = file_report(code="noise", description="Lawaai van de bouwwerf.")
    services.assign(mine, actor=kortrijk_agent, assignee=kortrijk_agent)
    done = file_report(description="Opgelost gat.")
    services.change_status(done, Status.RESOLVED, actor=kortrijk_agent)
    waiting = file_report(description="Welk gat?")
    services.send_message(waiting, "Waar precies?", actor=kortrijk_agent, question=True)
    return {"new": new, "phone": phone, "mine": mine, "done": done, "waiting": waiting}


def refs(*reports: Report) -> list[str]:
    return sorted(r.reference for r in reports)


def test_the_inbox_shows_open_reports_by_default_and_filters_by_status(mixed, kortrijk_agent):
    client = browser(kortrijk_agent)
    m = mixed
    assert sorted(references(client.get(INBOX))) == refs(
        m["new"], m["phone"], m["mine"], m["waiting"]
    )
    assert references(client.get(INBOX + "?status=resolved")) == [m["done"].reference]
    assert sorted(references(client.get(INBOX + "?status=all"))) == refs(*m.values())
    both = client.get(INBOX + "?status=resolved&status=waiting_for_reporter")
    assert sorted(references(both)) == refs(m["done"], m["waiting"])


def test_the_inbox_filters_by_category_channel_and_assignee(mixed, kortrijk_agent):
    client = browser(kortrijk_agent)
    m = mixed
    assert references(client.get(INBOX + "?category=street-light")) == [m["phone"].reference]
    both = client.get(INBOX + "?category=noise&category=street-light")
    assert sorted(references(both)) == refs(m["mine"], m["phone"])
    assert references(client.get(INBOX + "?channel=phone")) == [m["phone"].reference]
    assert references(client.get(INBOX + "?assignee=me")) == [m["mine"].reference]
    assert sorted(references(client.get(INBOX + "?assignee=none"))) == refs(
        m["new"], m["phone"], m["waiting"]
    )
    assert references(client.get(INBOX + f"?assignee={kortrijk_agent.pk}")) == [m["mine"].reference]
    roads = Department.objects.get(organisation__code="KOR", name="Openbare werken")
    assert sorted(references(client.get(INBOX + f"?department={roads.pk}"))) == refs(
        m["new"], m["phone"], m["waiting"]
    )


def test_the_inbox_filters_overdue_reports(mixed, kortrijk_agent):
    client = browser(kortrijk_agent)
    past = timezone.now() - timedelta(hours=2)
    Report.objects.filter(pk=mixed["new"].pk).update(resolution_due_at=past)
    # Only the response is late, and it was answered: not overdue.
    Report.objects.filter(pk=mixed["mine"].pk).update(
        status=Status.IN_PROGRESS, response_due_at=past
    )
    # Paused and finished reports are never overdue.
    Report.objects.filter(pk__in=[mixed["waiting"].pk, mixed["done"].pk]).update(
        resolution_due_at=past
    )
    assert references(client.get(INBOX + "?sla=overdue")) == [mixed["new"].reference]
    assert references(client.get(INBOX + "?sla=overdue&status=all")) == [mixed["new"].reference]
    assert references(client.get(INBOX + "?sla=paused")) == [mixed["waiting"].reference]


def test_the_inbox_searches_references_numbers_and_words(mixed, kortrijk_agent):
    client = browser(kortrijk_agent)
    m = mixed
    phone = m["phone"].reference
    # A whole reference opens the report (test_inbox_finds_a_report_or_a_reporter.py).
    assert client.get(INBOX + f"?q={phone}")["Location"] == page_url(m["phone"])
    assert client.get(INBOX + f"?q={phone.lower()}")["Location"] == page_url(m["phone"])
    assert references(client.get(INBOX + f"?q={phone[4:]}")) == [phone]  # 2026-000002
    assert references(client.get(INBOX + f"?q={int(phone[-6:])}")) == [phone]
    assert references(client.get(INBOX + "?q=flikkert")) == [phone]
    assert references(client.get(INBOX + "?q=GAT+school")) == [m["new"].reference]
    assert references(client.get(INBOX + "?q=kerkstraat")) == [m["new"].reference]
    assert references(client.get(INBOX + "?q=gat+bouwwerf")) == []


def test_the_inbox_sorts(mixed, kortrijk_agent):
    client = browser(kortrijk_agent)
    now = timezone.now()
    m = mixed
    order = [m["new"], m["phone"], m["mine"], m["waiting"]]
    for hours, report in enumerate(order):
        Report.objects.filter(pk=report.pk).update(
            created_at=now - timedelta(hours=10 - hours),
            resolution_due_at=now + timedelta(days=5 - hours),
        )
    newest = references(client.get(INBOX))
    assert newest == [r.reference for r in reversed(order)]
    assert references(client.get(INBOX + "?sort=oldest")) == [r.reference for r in order]
    # The report waiting for its reporter has no due date while paused.
    Report.objects.filter(pk=m["waiting"].pk).update(resolution_due_at=None)
    due = references(client.get(INBOX + "?sort=due"))
    assert due == [m[key].reference for key in ("mine", "phone", "new", "waiting")]
    services.add_note(m["new"], "Vandaag bekeken.", actor=kortrijk_agent)  # touches nothing
    services.assign(m["phone"], actor=kortrijk_agent, assignee=kortrijk_agent)
    assert references(client.get(INBOX + "?sort=updated"))[0] == m["phone"].reference


def walk(query: inbox.InboxQuery, user, size: int = 3) -> list[str]:
    seen: list[str] = []
    pages = 0
    while True:
        result = inbox.page(query, user, size=size)
        assert len(result.reports) <= size
        seen += [r.reference for r in result.reports]
        pages += 1
        assert pages < 20, "paging does not end"
        if not result.next_cursor:
            return seen
        query.after = result.next_cursor


@pytest.mark.parametrize("sort", list(inbox.SORTS))
def test_keyset_paging_walks_every_report_once_in_order(categories, kortrijk_agent, sort):
    now = timezone.now()
    made = [file_report(description=f"Melding {n}") for n in range(7)]
    # Ties on every sort column, and reports without a due date (sorted last).
    for n, report in enumerate(made):
        Report.objects.filter(pk=report.pk).update(
            created_at=now - timedelta(hours=n // 3),
            updated_at=now - timedelta(minutes=n % 2),
            resolution_due_at=None if n in (2, 5) else now + timedelta(days=n % 3),
        )
    made.append(file_report(where=MENEN_CENTRE))  # never in a Kortrijk agent's pages
    query = inbox.InboxQuery.from_params(QueryDict(f"sort={sort}&status=all"))
    everything = [r.reference for r in inbox.page(query, kortrijk_agent, size=100).reports]
    assert len(everything) == 7
    walked = walk(query, kortrijk_agent)
    assert walked == everything
    assert len(set(walked)) == 7
    # The order is the promised one.
    column, descending, _label = inbox.SORTS[sort]
    rows = [Report.objects.get(reference=ref) for ref in walked]
    keys = [getattr(r, column) for r in rows]
    present = [k for k in keys if k is not None]
    assert present == sorted(present, reverse=descending)
    assert keys[len(present) :] == [None] * (len(keys) - len(present))


def test_keyset_paging_through_the_page_links(categories, kortrijk_agent):
    for n in range(7):
        file_report(description=f"Melding {n}")
    client = browser(kortrijk_agent)
    seen: list[str] = []
    url = INBOX + "?sort=oldest"
    for _page in range(10):
        response = client.get(url)
        seen += references(response)
        if not response.context["next_url"]:
            break
        url = INBOX + response.context["next_url"]
        assert "sort=oldest" in url
    assert len(seen) == len(set(seen)) == 7


def cursor(value) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode()


@pytest.mark.parametrize(
    "after",
    [
        "garbage",
        "%FF%FE",
        "a" * 500,
        cursor([1, 2]),
        cursor("x"),
        cursor(b"\xff\xfe\x00"),
        cursor(["not a date", 1]),
        cursor(["2026-13-45T99:00:00", 1]),
        cursor([[1], 1]),
        cursor({"a": 1, "b": 2}),
        cursor([None, "1"]),
        cursor([None, 10**30]),
        cursor(["2026-01-01T00:00:00+00:00", 10**30]),
    ],
)
def test_a_junk_cursor_gives_a_page_not_an_error(categories, kortrijk_agent, after):
    for _n in range(3):
        file_report()
    response = browser(kortrijk_agent).get(INBOX + "?after=" + after)
    assert response.status_code == 200
    assert len(response.context["rows"]) <= 3


def test_a_cursor_that_cannot_be_read_starts_at_page_one(categories, kortrijk_agent):
    made = [file_report() for _n in range(3)]
    response = browser(kortrijk_agent).get(INBOX + "?after=garbage")
    assert sorted(references(response)) == refs(*made)


@pytest.mark.parametrize(
    "query",
    [
        "status=bogus",
        "status=",
        "sort=bogus",
        "sla=bogus",
        "assignee=somebody",
        "assignee=-1",
        "department=abc",
        "department=-5",
        "category=" + "x" * 500,
        "municipality=%27%20OR%201%3D1%20--",
        "q=%27%20OR%201%3D1%20--",
        "q=" + "%25" * 300,
        "q=KOR-" + "9" * 100,
        "page=2&limit=100000",
    ],
)
def test_junk_filter_values_are_ignored(categories, kortrijk_agent, query):
    file_report()
    response = browser(kortrijk_agent).get(INBOX + "?" + query)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "query",
    ["department=%C2%B2", "assignee=%C2%B2", "department=" + "9" * 25, "assignee=" + "9" * 25],
)
def test_junk_numeric_filter_values_are_ignored(categories, kortrijk_agent, query):
    file_report()
    response = browser(kortrijk_agent).get(INBOX + "?" + query)
    assert response.status_code == 200


# --- Saved filters ----------------------------------------------------------------------


def test_a_saved_filter_is_normalised_listed_and_only_for_its_owner(reports, kortrijk_agent):
    client = browser(kortrijk_agent)
    response = client.post(
        reverse("meldpunt:save-filter"),
        {"name": " Lampen ", "query": "category=street-light&status=bogus&junk=1&after=abc"},
    )
    assert response.status_code == 302
    saved = SavedFilter.objects.get(user=kortrijk_agent)
    assert saved.name == "Lampen"
    assert saved.query == "category=street-light"
    assert response["Location"] == INBOX + "?category=street-light"
    page = client.get(INBOX)
    assert list(page.context["saved_filters"]) == [saved]
    assert f'href="?{saved.query}"' in page.content.decode()
    assert references(client.get(INBOX + "?" + saved.query)) == [reports["kor2"].reference]

    colleague = MembershipFactory(organisation=reports["kor"].organisation, agent=True).user
    other = browser(colleague)
    assert list(other.get(INBOX).context["saved_filters"]) == []
    assert other.post(reverse("meldpunt:delete-filter", args=[saved.pk])).status_code == 404
    assert SavedFilter.objects.filter(pk=saved.pk).exists()

    assert client.post(reverse("meldpunt:delete-filter", args=[saved.pk])).status_code == 302
    assert not SavedFilter.objects.exists()


def test_saving_under_the_same_name_replaces_the_filter(reports, kortrijk_agent):
    client = browser(kortrijk_agent)
    client.post(reverse("meldpunt:save-filter"), {"name": "Mijn", "query": "channel=phone"})
    client.post(reverse("meldpunt:save-filter"), {"name": "Mijn", "query": "assignee=me"})
    assert list(SavedFilter.objects.values_list("name", "query")) == [("Mijn", "assignee=me")]


def test_a_filter_without_a_name_is_not_saved(reports, kortrijk_agent):
    client = browser(kortrijk_agent)
    response = client.post(reverse("meldpunt:save-filter"), {"name": "", "query": "channel=phone"})
    assert response.status_code == 302
    assert not SavedFilter.objects.exists()


def test_a_saved_filter_never_exceeds_its_column(reports, kortrijk_agent):
    query = "&".join(f"category={'é' * 50}" for _n in range(20))[:1000]
    browser(kortrijk_agent).post(reverse("meldpunt:save-filter"), {"name": "x", "query": query})
    assert all(len(q) <= 1000 for q in SavedFilter.objects.values_list("query", flat=True))


def test_deleting_a_filter_needs_a_post(reports, kortrijk_agent):
    saved = SavedFilter.objects.create(user=kortrijk_agent, name="x", query="channel=phone")
    delete = reverse("meldpunt:delete-filter", args=[saved.pk])
    assert browser(kortrijk_agent).get(delete).status_code == 405
    assert SavedFilter.objects.exists()


# --- Bulk actions -----------------------------------------------------------------------


def test_bulk_assign_to_me(reports, kortrijk_agent):
    client = browser(kortrijk_agent)
    response = client.post(
        reverse("meldpunt:bulk"),
        {"action": "assign_me", "reports": [reports["kor"].pk, reports["kor2"].pk],
         "next": "?sort=oldest"},
    )  # fmt: skip
    assert response.status_code == 302
    assert response["Location"] == INBOX + "?sort=oldest"
    assert refresh(reports["kor"]).assignee == kortrijk_agent
    assert refresh(reports["kor2"]).assignee == kortrijk_agent
    assert sorted(references(client.get(INBOX + "?assignee=me"))) == refs(
        reports["kor"], reports["kor2"]
    )


def test_bulk_redirects_only_within_the_inbox(reports, kortrijk_agent):
    response = browser(kortrijk_agent).post(
        reverse("meldpunt:bulk"),
        {"action": "assign_me", "reports": [reports["kor"].pk], "next": "https://evil.example/"},
    )
    assert response["Location"] == INBOX
    response = browser(kortrijk_agent).post(
        reverse("meldpunt:bulk"),
        {"action": "assign_me", "reports": [reports["kor"].pk], "next": "?x\r\nSet-Cookie: a=b"},
    )
    assert response["Location"].startswith(INBOX + "?")
    assert "\n" not in response["Location"] and "a" not in response.cookies


def test_a_bulk_status_change_changes_the_legal_ones_and_names_the_others(
    categories, kortrijk_agent
):
    new = file_report()
    resolved = file_report()
    services.change_status(resolved, Status.RESOLVED, actor=kortrijk_agent)
    also_resolved = file_report()
    services.change_status(also_resolved, Status.RESOLVED, actor=kortrijk_agent)
    response = browser(kortrijk_agent).post(
        reverse("meldpunt:bulk"),
        {"action": "status", "status": "closed",
         "reports": [new.pk, resolved.pk, also_resolved.pk]},
        follow=True,
    )  # fmt: skip
    assert response.status_code == 200
    assert refresh(resolved).status == Status.CLOSED
    assert refresh(also_resolved).status == Status.CLOSED
    assert refresh(new).status == Status.NEW
    lines = messages_of(response)
    [failed] = [line for line in lines if line.startswith("Not changed")]
    assert new.reference in failed and "cannot become" in failed
    [done] = [line for line in lines if line.startswith("Changed 2")]
    assert resolved.reference in done and also_resolved.reference in done
    assert new.reference not in done


def test_a_bulk_status_change_needs_a_status_and_a_reason_where_the_workflow_asks(
    reports, kortrijk_agent
):
    client = browser(kortrijk_agent)
    response = client.post(
        reverse("meldpunt:bulk"),
        {"action": "status", "status": "", "reports": [reports["kor"].pk]},
        follow=True,
    )
    assert any("Choose the new status" in line for line in messages_of(response))
    response = client.post(
        reverse("meldpunt:bulk"),
        {"action": "status", "status": "cancelled", "reports": [reports["kor"].pk]},
        follow=True,
    )
    assert any("Give a reason" in line for line in messages_of(response))
    assert refresh(reports["kor"]).status == Status.NEW


def test_a_bulk_action_without_reports_or_with_junk_is_refused(reports, kortrijk_agent):
    client = browser(kortrijk_agent)
    for data in [
        {"action": "assign_me"},
        {"action": "explode", "reports": [reports["kor"].pk]},
        {"action": "assign_me", "reports": ["abc"]},
        {"action": "assign_me", "reports": ["-1"]},
        {"action": "status", "status": "bogus", "reports": [reports["kor"].pk]},
    ]:
        response = client.post(reverse("meldpunt:bulk"), data)
        assert response.status_code == 302, data
    kor = refresh(reports["kor"])
    assert kor.assignee is None and kor.status == Status.NEW


def test_a_bulk_action_with_an_overlong_report_id_is_refused(reports, kortrijk_agent):
    response = browser(kortrijk_agent).post(
        reverse("meldpunt:bulk"), {"action": "assign_me", "reports": ["9" * 30]}
    )
    assert response.status_code == 302


def bulk_post(client, **data):
    return client.post(reverse("meldpunt:bulk"), data, follow=True)


def test_the_bulk_bar_sits_above_the_list_and_offers_colleagues_and_departments(
    reports, kortrijk_agent
):
    colleague = handler(reports["kor"].organisation, "Mobiliteit")
    html = browser(kortrijk_agent).get(INBOX).content.decode()
    assert html.index('id="bulk-action"') < html.index('class="data inbox-table"')
    assert f'<option value="{colleague.pk}">' in html
    mobility = Department.objects.get(organisation__code="KOR", name="Mobiliteit")
    assert f'<option value="{mobility.pk}">' in html
    menen_roads = Department.objects.get(organisation__code="MEN", name="Openbare werken")
    assert f'<option value="{menen_roads.pk}">' not in html  # not this agent's


def test_bulk_assign_to_a_colleague_records_history(reports, kortrijk_agent):
    colleague = handler(reports["kor"].organisation, "Mobiliteit")
    chosen = [reports["kor"], reports["kor2"]]
    response = bulk_post(
        browser(kortrijk_agent), action="assign", assignee=colleague.pk,
        reports=[r.pk for r in chosen],
    )  # fmt: skip
    assert any(line.startswith("Changed 2 report(s)") for line in messages_of(response))
    for report in chosen:
        assert refresh(report).assignee == colleague
        [entry] = HistoryEntry.objects.for_object(report).filter(action="report.assigned")
        assert entry.actor == kortrijk_agent and entry.after["assignee"] == colleague.pk


def test_bulk_assign_checks_each_reports_municipality(reports, region_admin):
    """A region admin selects a Kortrijk and a Menen report and gives both to a Menen agent:
    the Menen one is assigned, the Kortrijk one refused with the reason."""
    menen_agent = MembershipFactory(organisation=reports["men"].organisation, agent=True).user
    response = bulk_post(
        browser(region_admin), action="assign", assignee=menen_agent.pk,
        reports=[reports["kor"].pk, reports["men"].pk],
    )  # fmt: skip
    assert refresh(reports["men"]).assignee == menen_agent
    assert refresh(reports["kor"]).assignee is None
    lines = messages_of(response)
    assert [line for line in lines if line.startswith("Changed 1")] == [
        f"Changed 1 report(s): {reports['men'].reference}"
    ]
    [refused] = [line for line in lines if line.startswith("Not changed")]
    assert reports["kor"].reference in refused and "does not handle reports of" in refused


def test_bulk_give_to_a_department_of_each_reports_municipality(reports, region_admin):
    mobility = Department.objects.get(organisation__code="KOR", name="Mobiliteit")
    response = bulk_post(
        browser(region_admin), action="department", department=mobility.pk,
        reports=[reports["kor"].pk, reports["kor2"].pk, reports["men"].pk],
    )  # fmt: skip
    assert refresh(reports["kor"]).department == mobility
    assert refresh(reports["kor2"]).department == mobility
    assert refresh(reports["men"]).department.organisation.code == "MEN"
    [refused] = [line for line in messages_of(response) if line.startswith("Not changed")]
    assert reports["men"].reference in refused and "Choose a department of Menen" in refused


def test_bulk_choices_outside_the_agents_reach_change_nothing(reports, kortrijk_agent):
    menen_roads = Department.objects.get(organisation__code="MEN", name="Openbare werken")
    stranger = MembershipFactory(organisation=reports["men"].organisation, agent=True).user
    client = browser(kortrijk_agent)
    for data, problem in [
        ({"action": "department", "department": menen_roads.pk}, "valid choice"),
        ({"action": "assign", "assignee": stranger.pk}, "valid choice"),
        ({"action": "assign"}, "Choose the person"),
        ({"action": "department"}, "Choose the department"),
    ]:
        response = bulk_post(client, reports=[reports["kor"].pk], **data)
        assert any(problem in line for line in messages_of(response)), data
    kor = refresh(reports["kor"])
    assert kor.assignee is None and kor.department.name == "Openbare werken"


def test_a_bulk_cancel_with_a_reason_is_recorded_per_report(reports, kortrijk_agent):
    chosen = [reports["kor"], reports["kor2"]]
    response = bulk_post(
        browser(kortrijk_agent), action="status", status="cancelled", reason="Proefmelding",
        reports=[r.pk for r in chosen],
    )  # fmt: skip
    assert any(line.startswith("Changed 2") for line in messages_of(response))
    for report in chosen:
        assert refresh(report).status == Status.CANCELLED
        [entry] = HistoryEntry.objects.for_object(report).filter(action="report.status_changed")
        assert entry.reason == "Proefmelding"


def test_bulk_refusals_with_the_same_reason_are_named_together(categories, kortrijk_agent):
    done = [file_report() for _n in range(2)]
    for report in done:
        services.change_status(report, Status.RESOLVED, actor=kortrijk_agent)
    waiting = file_report()
    response = bulk_post(
        browser(kortrijk_agent), action="status", status="in_progress",
        reports=[r.pk for r in [*done, waiting]],
    )  # fmt: skip
    refused = [line for line in messages_of(response) if line.startswith("Not changed")]
    assert len(refused) == 1
    assert all(r.reference in refused[0] for r in done) and "cannot become" in refused[0]
    assert refresh(waiting).status == Status.IN_PROGRESS


def test_the_bulk_bar_works_on_a_full_page(categories, kortrijk_agent):
    for _n in range(inbox.PAGE_SIZE + 1):
        file_report()
    client = browser(kortrijk_agent)
    page = client.get(INBOX)
    shown = [report.pk for report, _sla in page.context["rows"]]
    assert len(shown) == inbox.PAGE_SIZE and page.context["next_url"]
    assert 'id="bulk-action"' in page.content.decode()
    response = bulk_post(client, action="assign_me", reports=shown)
    assert any(line.startswith(f"Changed {inbox.PAGE_SIZE} ") for line in messages_of(response))
    assert Report.objects.filter(assignee=kortrijk_agent).count() == inbox.PAGE_SIZE


# --- Report page actions ----------------------------------------------------------------


def test_the_report_page_shows_the_report_and_its_history(reports, kortrijk_agent):
    report = reports["kor"]
    services.add_note(report, "Ploeg gepland.", actor=kortrijk_agent)
    response = browser(kortrijk_agent).get(page_url(report))
    assert response.status_code == 200
    html = response.content.decode()
    assert report.reference in html and "Gat in de Doorniksewijk." in html
    assert "Ploeg gepland." in html
    assert "Report filed" in html and "Note added" in html


def ids_and_labels(html: str) -> tuple[list[str], dict[str, str]]:
    """Every id on the page, and each label's text by the id it points at."""
    from html.parser import HTMLParser

    class Parser(HTMLParser):
        ids: list[str] = []
        labels: dict[str, str] = {}
        _for: str | None = None

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if "id" in attrs:
                self.ids.append(attrs["id"])
            if tag == "label":
                self._for = attrs.get("for")
                self.labels.setdefault(self._for, "")

        def handle_endtag(self, tag):
            if tag == "label":
                self._for = None

        def handle_data(self, data):
            if self._for:
                self.labels[self._for] += data

    parser = Parser()
    parser.ids, parser.labels = [], {}
    parser.feed(html)
    return parser.ids, {key: " ".join(text.split()) for key, text in parser.labels.items()}


def test_each_form_of_the_report_page_has_its_own_field_ids(reports, kortrijk_agent):
    ids, labels = ids_and_labels(
        browser(kortrijk_agent).get(page_url(reports["kor"])).content.decode()
    )
    assert len(ids) == len(set(ids))
    assert labels["message-body"] == "Message to the reporter"
    assert labels["note-body"] == "Internal note (never shown to the reporter)"
    assert labels["status-reason"].startswith("Reason")
    assert labels["merge-reason"].startswith("Reason")
    assert labels["forward-reason"].startswith("Reason for the hand-over")
    assert all(target in ids for target in labels)


def test_a_form_with_errors_shows_them_in_its_own_unfolded_section(reports, kortrijk_agent):
    menen_roads = Department.objects.get(organisation__code="MEN", name="Openbare werken")
    response = browser(kortrijk_agent).post(
        page_url(reports["kor"], "assign"), {"department": menen_roads.pk}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert '<details class="action" id="act-assign" open>' in html
    assert '<details class="action" id="act-split">' in html  # the others stay folded
    assert 'href="#assign-department"' in html and 'id="assign-department"' in html


def test_the_report_page_folds_all_but_the_newest_history(reports, kortrijk_agent):
    from regiohub.meldpunt.views.staff import HISTORY_SHOWN

    report = reports["kor"]
    for n in range(HISTORY_SHOWN + 3):
        services.add_note(report, f"Notitie nummer {n:02d}.", actor=kortrijk_agent)
    html = browser(kortrijk_agent).get(page_url(report)).content.decode()
    folded = html[html.index('<details class="timeline-older">') : html.index("</details>")]
    assert "Report filed" in folded and "Notitie nummer 00." in folded
    assert f"Notitie nummer {HISTORY_SHOWN + 2:02d}." not in folded
    assert f"Notitie nummer {HISTORY_SHOWN + 2:02d}." in html  # the newest, shown
    assert "Show all" in folded


def test_the_report_page_offers_templates_of_other_statuses_after_its_own(reports, kortrijk_agent):
    report = reports["kor"]  # new
    working = MessageTemplate.objects.create(
        language="nl",
        title="Ingepland",
        body="{reference} is ingepland.",
        status=Status.IN_PROGRESS,
    )
    own = MessageTemplate.objects.create(language="nl", title="Ontvangen", body="Ontvangen.",
                                         status=Status.NEW)  # fmt: skip
    client = browser(kortrijk_agent)
    page = client.get(page_url(report))
    assert page.context["templates"] == [own, working]
    html = page.content.decode()
    assert 'Ingepland</a> <span class="meta">(In progress)</span>' in html
    page = client.get(page_url(report) + f"?template={working.pk}")
    assert page.context["message_form"].initial["body"] == f"{report.reference} is ingepland."


def test_changing_the_status_on_the_report_page(reports, kortrijk_agent):
    report = reports["kor"]
    client = browser(kortrijk_agent)
    response = client.post(page_url(report, "status"), {"status": "in_progress"})
    assert response.status_code == 302
    assert response["Location"] == page_url(report)
    assert refresh(report).status == Status.IN_PROGRESS
    assert "Status: In progress" in client.get(page_url(report)).content.decode()


def test_a_status_the_workflow_refuses_is_a_400_with_its_message(reports, kortrijk_agent):
    report = reports["kor"]
    client = browser(kortrijk_agent)
    # Allowed next, but only with a reason: the workflow says so.
    response = client.post(page_url(report, "status"), {"status": "on_hold", "reason": " "})
    assert response.status_code == 400
    assert "Give a reason to make the report “On hold”." in response.content.decode()
    # Not a next state at all.
    response = client.post(page_url(report, "status"), {"status": "closed"})
    assert response.status_code == 400
    assert "status" in response.context["status_form"].errors
    assert refresh(report).status == Status.NEW


@pytest.mark.parametrize("value", ["bogus", "", "merged", "forwarded", "NEW", "new"])
def test_an_unknown_or_reserved_status_value_is_a_400(reports, kortrijk_agent, value):
    report = reports["kor"]
    response = browser(kortrijk_agent).post(page_url(report, "status"), {"status": value})
    assert response.status_code == 400
    assert refresh(report).status == Status.NEW


def test_assigning_on_the_report_page(reports, kortrijk_agent):
    report = reports["kor"]
    mobility = Department.objects.get(organisation__code="KOR", name="Mobiliteit")
    client = browser(kortrijk_agent)
    response = client.post(
        page_url(report, "assign"), {"department": mobility.pk, "assignee": kortrijk_agent.pk}
    )
    assert response.status_code == 302
    report = refresh(report)
    assert report.department == mobility and report.assignee == kortrijk_agent
    # Empty assignee clears it; the department stays.
    client.post(page_url(report, "assign"), {"department": mobility.pk, "assignee": ""})
    report = refresh(report)
    assert report.assignee is None and report.department == mobility


def test_assigning_a_menen_department_or_person_on_the_report_page_is_a_400(
    reports, kortrijk_agent
):
    report = reports["kor"]
    menen_roads = Department.objects.get(organisation__code="MEN", name="Openbare werken")
    menen_agent = MembershipFactory(organisation=reports["men"].organisation, agent=True).user
    client = browser(kortrijk_agent)
    for data in ({"department": menen_roads.pk}, {"assignee": menen_agent.pk}):
        assert client.post(page_url(report, "assign"), data).status_code == 400
    report = refresh(report)
    assert report.department.organisation.code == "KOR" and report.assignee is None


def test_a_note_is_added_and_shown_escaped(reports, kortrijk_agent):
    report = reports["kor"]
    client = browser(kortrijk_agent)
    hostile = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    response = client.post(page_url(report, "note"), {"body": hostile})
    assert response.status_code == 302
    note = report.messages.get()
    assert note.kind == MessageKind.NOTE and note.body == hostile
    html = client.get(page_url(report)).content.decode()
    assert "<script>alert('x')" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html


def test_a_note_that_is_too_long_or_empty_is_a_400(reports, kortrijk_agent):
    report = reports["kor"]
    client = browser(kortrijk_agent)
    for body in ("x" * 5001, "", "   "):
        response = client.post(page_url(report, "note"), {"body": body})
        assert response.status_code == 400
        assert "body" in response.context["note_form"].errors
    assert not report.messages.exists()


def test_a_message_starts_from_a_template_and_is_sent(reports, kortrijk_agent, mailoutbox):
    report = reports["kor"]
    kor = report.organisation
    tpl = MessageTemplate.objects.create(
        organisation=kor, language="nl", title="Ingepland",
        body="Uw melding {reference} in {municipality} is ingepland. {unknown}",
    )  # fmt: skip
    foreign = MessageTemplate.objects.create(
        organisation=reports["men"].organisation, language="nl", title="Menen", body="MENEN-TEKST"
    )
    client = browser(kortrijk_agent)
    page = client.get(page_url(report) + f"?template={tpl.pk}")
    expected = f"Uw melding {report.reference} in Kortrijk is ingepland. {{unknown}}"
    assert page.context["message_form"].initial["body"] == expected
    assert expected in page.content.decode()
    assert "Ingepland" in page.content.decode()
    # Another municipality's template is neither listed nor filled in.
    page = client.get(page_url(report) + f"?template={foreign.pk}")
    assert "body" not in page.context["message_form"].initial
    assert "MENEN-TEKST" not in page.content.decode()

    run_tasks()
    mailoutbox.clear()
    response = client.post(page_url(report, "message"), {"body": expected})
    assert response.status_code == 302
    message = report.messages.get()
    assert message.kind == MessageKind.TO_REPORTER and message.author == kortrijk_agent
    run_tasks()
    [mail] = mailoutbox
    assert mail.to == [EMAIL] and expected in mail.body


def test_a_junk_template_parameter_is_ignored(reports, kortrijk_agent):
    MessageTemplate.objects.create(language="nl", title="Algemeen", body="Hallo")
    client = browser(kortrijk_agent)
    for junk in ("abc", "9" * 30, "-1", "%C2%B2"):
        assert client.get(page_url(reports["kor"]) + f"?template={junk}").status_code == 200


def test_a_question_on_the_report_page_waits_for_the_reporter(reports, kortrijk_agent):
    report = reports["kor"]
    response = browser(kortrijk_agent).post(
        page_url(report, "message"), {"body": "Welke kant?", "question": "on"}
    )
    assert response.status_code == 302
    report = refresh(report)
    assert report.status == Status.WAITING_FOR_REPORTER
    assert report.messages.get().kind == MessageKind.QUESTION


def test_forwarding_to_menen_leaves_the_kortrijk_agent_at_the_inbox(reports, kortrijk_agent):
    report = reports["kor"]
    menen = reports["men"].organisation
    client = browser(kortrijk_agent)
    response = client.post(
        page_url(report, "forward"), {"organisation": menen.pk, "reason": "Ligt in Menen"}
    )
    assert response.status_code == 302
    assert response["Location"] == INBOX
    assert refresh(report).organisation == menen
    assert client.get(page_url(report)).status_code == 404


def test_forwarding_to_an_external_body_on_the_report_page(reports, kortrijk_agent):
    report = reports["kor"]
    body = ExternalBody.objects.create(code="fluvius", name="Fluvius", email="f@example.org")
    client = browser(kortrijk_agent)
    response = client.post(
        page_url(report, "forward"), {"external_body": body.pk, "reason": "Netbeheerder"}
    )
    assert response.status_code == 302
    assert response["Location"] == page_url(report)
    assert refresh(report).status == Status.FORWARDED
    assert Handover.objects.get(report=report).to_external_body == body
    html = client.get(page_url(report)).content.decode()
    assert "Fluvius" in html and "Netbeheerder" in html


@pytest.mark.parametrize("both_or_none", ["both", "none", "same"])
def test_forwarding_needs_exactly_one_other_target(reports, kortrijk_agent, both_or_none):
    report = reports["kor"]
    body = ExternalBody.objects.create(code="fluvius", name="Fluvius", email="f@example.org")
    data = {"reason": "Weg ermee"}
    if both_or_none == "both":
        data.update(organisation=reports["men"].organisation.pk, external_body=body.pk)
    elif both_or_none == "same":
        data.update(organisation=report.organisation.pk)
    response = browser(kortrijk_agent).post(page_url(report, "forward"), data)
    assert response.status_code == 400
    report = refresh(report)
    assert report.organisation.code == "KOR" and report.status == Status.NEW
    assert not Handover.objects.exists()


def test_merging_on_the_report_page(reports, kortrijk_agent):
    duplicate = file_report(description="Zelfde gat.")
    client = browser(kortrijk_agent)
    response = client.post(
        page_url(duplicate, "merge"), {"into": f"  {reports['kor'].reference.lower()} "}
    )
    assert response.status_code == 302
    assert response["Location"] == page_url(duplicate)
    duplicate = refresh(duplicate)
    assert duplicate.status == Status.MERGED and duplicate.merged_into == reports["kor"]
    html = client.get(page_url(reports["kor"])).content.decode()
    assert duplicate.reference in html  # listed as merged here


def test_merging_into_itself_or_an_unknown_reference_is_a_400(reports, kortrijk_agent):
    report = reports["kor"]
    client = browser(kortrijk_agent)
    for into in (report.reference, "KOR-1999-999999", "' OR 1=1 --", "x" * 21):
        assert client.post(page_url(report, "merge"), {"into": into}).status_code == 400, into
    assert refresh(report).status == Status.NEW


def test_splitting_on_the_report_page_opens_the_new_report(reports, kortrijk_agent):
    report = reports["kor"]
    client = browser(kortrijk_agent)
    response = client.post(
        page_url(report, "split"),
        {"category": "traffic-sign", "description": "Ook een bord is omver gereden."},
    )
    assert response.status_code == 302
    new = Report.objects.get(split_from=report)
    assert response["Location"] == page_url(new)
    assert new.category.code == "traffic-sign"
    page = client.get(page_url(report))
    assert new.reference in page.content.decode()


def test_splitting_into_another_municipalitys_category_code_is_a_400(reports, kortrijk_agent):
    response = browser(kortrijk_agent).post(
        page_url(reports["kor"], "split"), {"category": "bogus", "description": "Iets"}
    )
    assert response.status_code == 400
    assert Report.objects.filter(split_from=reports["kor"]).count() == 0


def test_the_report_actions_need_a_post(reports, kortrijk_agent):
    client = browser(kortrijk_agent)
    for action in ("status", "assign", "note", "message", "forward", "merge", "split"):
        assert client.get(page_url(reports["kor"], action)).status_code == 405, action


def test_a_staff_photo_is_served_to_the_municipality(reports, kortrijk_agent):
    [stored] = services.attach_photos(reports["kor"], [photo()], by_reporter=True)
    response = browser(kortrijk_agent).get(
        reverse("meldpunt:staff-photo", args=[reports["kor"].reference, stored.pk])
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"


# --- Contact details --------------------------------------------------------------------


@pytest.fixture
def with_contact(categories):
    return file_report(reporter_name="An Peeters", reporter_phone=PHONE)  # Openbare werken


def contact_shown(user, report: Report) -> bool:
    html = browser(user).get(page_url(report)).content.decode()
    shown = EMAIL in html
    assert (PHONE in html) == shown and ("An Peeters" in html) == shown
    return shown


def test_the_municipalitys_agent_sees_the_contact_details(with_contact, kortrijk_agent):
    assert contact_shown(kortrijk_agent, with_contact)


def test_a_handler_of_the_reports_department_sees_the_contact_details(with_contact, region):
    assert contact_shown(handler(region["KOR"], "Openbare werken"), with_contact)


def test_a_handler_of_another_department_does_not_see_the_contact_details(with_contact, region):
    other = handler(region["KOR"], "Milieu")
    client = browser(other)
    response = client.get(page_url(with_contact))
    assert response.status_code == 200  # may handle it, but not see who reported it
    html = response.content.decode()
    assert EMAIL not in html and PHONE not in html and "An Peeters" not in html
    assert "Only the people handling this report see" in html


def test_the_assignee_sees_the_contact_details_whatever_their_department(
    with_contact, region, kortrijk_agent
):
    other = handler(region["KOR"], "Milieu")
    services.assign(with_contact, actor=kortrijk_agent, assignee=other)
    assert contact_shown(other, with_contact)


def test_a_region_admin_sees_the_contact_details(with_contact, region_admin):
    assert contact_shown(region_admin, with_contact)


# --- Intake -----------------------------------------------------------------------------


def intake_data(**overrides) -> dict[str, str]:
    data = {
        "channel": "phone",
        "category": "pothole",
        "description": "Beller meldt een gat in de rijweg.",
        "latitude": str(KORTRIJK_CENTRE[0]),
        "longitude": str(KORTRIJK_CENTRE[1]),
        "address": "Grote Markt 1",
        "municipality": "",
        "reporter_name": "Bert Beller",
        "reporter_email": "bert@example.org",
        "reporter_phone": "",
        "reporter_language": "fr",
        "consent": "on",
        "client_key": "",
    }
    data.update(overrides)
    return data


def test_an_agent_files_a_phone_report(categories, kortrijk_agent, mailoutbox):
    client = browser(kortrijk_agent)
    assert client.get(reverse("meldpunt:intake")).status_code == 200
    response = client.post(reverse("meldpunt:intake"), intake_data())
    assert response.status_code == 302
    report = Report.objects.get()
    assert response["Location"] == page_url(report)
    assert report.channel == "phone"
    assert report.reporter_language == "fr"
    assert report.organisation.code == "KOR"
    [created] = HistoryEntry.objects.for_object(report).filter(action="report.created")
    assert created.actor == kortrijk_agent
    assert created.after["channel"] == "phone"
    run_tasks()
    [ack] = mailoutbox
    assert ack.to == ["bert@example.org"]


def test_checking_shows_open_reports_nearby_without_filing(categories, kortrijk_agent):
    near = file_report(description="Al gekend gat.")
    done = file_report(description="Al hersteld.")
    services.change_status(done, Status.RESOLVED, actor=kortrijk_agent)
    far = file_report(where=(50.8100, 3.2900), description="Ver weg.")
    response = browser(kortrijk_agent).post(reverse("meldpunt:intake"), intake_data(check="1"))
    assert response.status_code == 200
    assert [other.reference for other, _distance in response.context["nearby"]] == [near.reference]
    html = response.content.decode()
    assert near.reference in html and done.reference not in html and far.reference not in html
    assert Report.objects.count() == 3  # nothing filed


def test_an_agent_filing_a_report_for_another_municipality_is_sent_back_to_intake(
    categories, kortrijk_agent
):
    response = browser(kortrijk_agent).post(
        reverse("meldpunt:intake"),
        intake_data(latitude=str(MENEN_CENTRE[0]), longitude=str(MENEN_CENTRE[1])),
        follow=True,
    )
    report = Report.objects.get()
    assert report.organisation.code == "MEN"
    assert response.redirect_chain[-1][0] == reverse("meldpunt:intake")
    assert any("Menen" in line for line in messages_of(response))


def test_intake_refuses_the_web_channel_and_bad_input(categories, kortrijk_agent):
    client = browser(kortrijk_agent)
    for overrides in (
        {"channel": "web"},
        {"channel": "api"},
        {"category": "bogus"},
        {"description": "x" * 5001},
        {"latitude": "", "longitude": "", "address": ""},
    ):
        response = client.post(reverse("meldpunt:intake"), intake_data(**overrides))
        assert response.status_code == 200, overrides
        assert response.context["form"].errors, overrides
    assert not Report.objects.exists()


def test_a_handler_cannot_take_reports(categories, region):
    person = handler(region["KOR"], "Openbare werken")
    client = browser(person)
    assert client.get(reverse("meldpunt:intake")).status_code == 403
    assert client.post(reverse("meldpunt:intake"), intake_data()).status_code == 403
    assert not Report.objects.exists()
    assert client.get(INBOX).context["can_take"] is False


@pytest.mark.parametrize(
    "query",
    ["category=%00", "municipality=K%00R", "q=KOR-%002026", "q=%00", "channel=%00",
     "after=%00%FF"],
)  # fmt: skip
def test_nul_characters_in_filters_are_refused_not_a_server_error(
    categories, kortrijk_agent, query
):
    """PostgreSQL cannot hold NUL: the platform refuses it before the inbox (issue 15)."""
    file_report()
    assert browser(kortrijk_agent).get(INBOX + "?" + query).status_code == 400


def test_a_nul_character_in_a_reference_is_refused(categories, kortrijk_agent):
    assert browser(kortrijk_agent).get("/staff/reports/KOR%00/").status_code == 400
