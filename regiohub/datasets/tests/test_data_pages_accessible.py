"""In a real browser, in Dutch, French and English, on a desk screen (1280 px) and a phone
(375 px): every data page, in every state it can be in, meets WCAG 2.1 AA (axe-core) and
none of them scrolls sideways on the phone (wide tables scroll inside their own region).

The visitor's pages: the list (empty and full), a dataset (its chart, map, filtered rows,
an older version, no data yet), the comparison of two versions (changes, an error, too few
versions). The data steward's pages: the same with the steward's buttons, and creating,
editing, uploading (with their form errors), a feed (new, fetching fine, in error, wrong
settings), restoring a version (and the current one), and a load in each state: reading,
in review after a messy spreadsheet (notes, header row, total rows, a wrong row number),
after a dry run (its changes, or its refusal), checking, refused with its problems,
refused unreadable, loaded and cancelled.

One browser and one set of data for the whole module: the data is built once through the
services, as the stewards and the worker would, and every page is visited in each
language and width; every problem is gathered and reported together."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from regiohub.core.testing import WCAG_TAGS, chromium_page, login_page_as, run_tasks
from regiohub.core.testing import staff_client as client_of
from regiohub.datasets import services
from regiohub.datasets.feeds.base import FeedError
from regiohub.datasets.models import Feed, Load
from regiohub.datasets.tests.factories import COUNTS_CSV, make_dataset, upload
from regiohub.datasets.tests.messy_sheets import population_by_month

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

LANGUAGES = ("nl", "fr", "en")
WIDTHS = ((1280, 900), (375, 740))
KEY = ["segment", "uur"]
CORRECTED_CSV = COUNTS_CSV.replace("987;8", "990;9").replace(
    "102;31/12/2025 14:00;15,25;0;\n", "103;31/12/2025 16:00;1;1;30\n"
)
#: What sticks out to the right of a phone screen (tables scroll inside their region).
WIDE = (
    "[...document.querySelectorAll('body *')]"
    ".filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1"
    " && !e.closest('[role=region]'))"
    ".map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')"
    " + (e.className && e.className.baseVal === undefined ? '.' + e.className : ''))"
    ".slice(0, 8).join(' ')"
)
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


@dataclass
class Visit:
    """A page in one state: its address, and what to do there before looking (submit a
    form, to see its errors)."""

    name: str
    path: str
    then: Callable[[Any], None] | None = None


def submit(button: str, answer: str = "#form-errors", **fill: str) -> Callable[[Any], None]:
    """Fill fields (by id), press the first button the CSS selector ``button`` finds, and
    check that the page the form answers with names the problems (``answer``)."""

    def act(page: Any) -> None:
        for field, value in fill.items():
            page.fill(f"#{field}", value)
        with page.expect_navigation():
            page.locator(button).first.click()
        shows(answer)(page)

    return act


def shows(*selectors: str) -> Callable[[Any], None]:
    """Check that the page shows what its state is about (so that no state is skipped)."""

    def check(page: Any) -> None:
        for selector in selectors:
            assert page.locator(selector).count(), f"{page.url} shows no {selector}"

    return check


def upload_file(dataset: Any, steward: Any, name: str, content: bytes) -> Load:
    load = services.start_upload(dataset, steward, SimpleUploadedFile(name, content))
    run_tasks()
    load.refresh_from_db()
    return load


def with_type(load: Load, column: str, kind: str) -> list[dict[str, Any]]:
    return [{**c, "type": kind} if c["key"] == column else c for c in load.schema]


def build(region: dict[str, Any], steward: Any, tmp_path: Any) -> dict[str, list[Visit]]:
    """The datasets, versions, loads and feeds, made as stewards and the worker would;
    the pages to visit as a visitor and as the steward."""
    owner = region["KOR"]
    # Traffic counts, open: three versions (a correction, then the first one restored).
    counts = make_dataset(owner, steward, access="open", attribution="Telraam")
    first = upload(counts, steward, COUNTS_CSV, mode="replace", primary_key=KEY)
    second = upload(counts, steward, CORRECTED_CSV, mode="upsert", primary_key=KEY)
    assert (first.state, second.state) == ("done", "done"), (first.message, second.message)
    services.restore(counts, steward, number=1, reason="Het bestand van maart was fout")
    # A dry run that would replace every row (rows added, updated and removed).
    dry = upload(counts, steward, CORRECTED_CSV.replace("990;9", "991;9"), confirm=False)
    services.confirm(
        dry, steward, columns=dry.schema, primary_key=KEY, mode="replace", dry_run=True
    )
    # A dry run that would be refused, and the same load refused: "veel" is no number.
    wrong = COUNTS_CSV.replace("1.234,5", "veel").replace("987;8", "987;twaalf")
    dry_refused = upload(counts, steward, wrong, name="fout.csv", confirm=False)
    services.confirm(
        dry_refused,
        steward,
        columns=with_type(dry_refused, "fietsers", "integer"),
        primary_key=KEY,
        mode="upsert",
        dry_run=True,
    )
    refused = upload(counts, steward, wrong, name="fout.csv", confirm=False)
    services.confirm(
        refused,
        steward,
        columns=with_type(refused, "fietsers", "integer"),
        primary_key=KEY,
        mode="upsert",
    )
    cancelled = upload(counts, steward, CORRECTED_CSV, confirm=False)
    services.cancel(cancelled, steward)
    run_tasks()
    # A municipality's spreadsheet in review: title rows, a two-row header, merged cells,
    # subtotals; and a file that is no spreadsheet at all.
    population = make_dataset(owner, steward, slug="bevolking", title="Bevolking per maand")
    messy = upload_file(
        population, steward, "bevolking.xlsx", population_by_month(tmp_path).read_bytes()
    )
    unreadable = upload_file(population, steward, "kapot.xlsx", b"PK\x03\x04 geen werkmap")
    client = client_of(steward)
    saved = client.post(
        f"/staff/data/{population.slug}/feed/",
        {
            "kind": "telraam",
            "api_key": "sleutel",
            "segment_ids": "9000008311",
            "start": "2025-12-01 00:00",
            "base_url": "https://telraam-api.net",
            "timeout": "10",
            "interval_minutes": "60",
            "is_active": "on",
        },
    )
    assert saved.status_code == 302, saved.content.decode()[-3000:]
    Feed.objects.filter(dataset=population).update(last_run_at=timezone.now())
    # Trees with a place: a map. Open.
    trees = make_dataset(owner, steward, slug="bomen", title="Bomen", access="open", theme="ENVI")
    upload(
        trees,
        steward,
        "Boom;Soort;lat;lon;Hoogte (m)\n"
        "1;Linde;50.8279;3.2649;12,5\n2;Eik;50.8012;3.1234;20\n3;Es;50.85;3.30;7\n",
        name="bomen.csv",
        mode="replace",
    )
    # A Telraam feed in error, no data yet.
    fed = make_dataset(owner, steward, slug="telraam-9000008311", title="Telraam Doorniksestraat")
    feed = Feed.objects.create(
        dataset=fed,
        kind="telraam",
        interval_minutes=60,
        settings={
            "api_key": "sleutel",
            "segment_ids": [9000008311],
            "base_url": "http://127.0.0.1:9",
        },
    )
    with pytest.raises(FeedError):
        services.run_feed(feed)
    # An open dataset without data: nothing to show, nothing to compare.
    empty = make_dataset(
        owner, steward, slug="fietstellingen", title="Fietstellingen", access="open"
    )
    # Last, as nothing runs their tasks: a file being read, a dry run being worked out.
    checking = upload(counts, steward, CORRECTED_CSV, confirm=False)
    services.confirm(
        checking, steward, columns=checking.schema, primary_key=KEY, mode="upsert", dry_run=True
    )
    reading = services.start_upload(counts, steward, SimpleUploadedFile("x.csv", b"a;b\n1;2\n"))

    loads = f"/staff/data/{counts.slug}/loads"
    public = [
        Visit("list", "/data/"),
        Visit("dataset", f"/data/{counts.slug}/", shows("svg.chart", "#versions-heading")),
        Visit(
            "dataset, older version, filtered",
            f"/data/{counts.slug}/?version=1&column="
            "segment&op=gte&value=101&order=-uur&chart=autos",
        ),
        Visit("dataset, no rows match", f"/data/{counts.slug}/?column=segment&op=eq&value=9"),
        Visit("dataset, wrong filter", f"/data/{counts.slug}/?column=uur&op=gt&value=gisteren"),
        Visit("dataset with a map", f"/data/{trees.slug}/", shows("svg.map")),
        Visit("dataset without data", f"/data/{empty.slug}/"),
        Visit("compare", f"/data/{counts.slug}/compare/?from=1&to=2", shows("#changes-caption")),
        Visit("compare, nothing changed", f"/data/{counts.slug}/compare/?from=1&to=3"),
        Visit("compare, wrong versions", f"/data/{counts.slug}/compare/?from=2&to=9"),
        Visit("compare, too few versions", f"/data/{empty.slug}/compare/"),
        Visit("internal dataset (not found)", f"/data/{population.slug}/"),
    ]
    steward_pages = [
        Visit("list", "/data/"),
        Visit("dataset", f"/data/{counts.slug}/"),
        Visit("dataset, feed in error", f"/data/{fed.slug}/"),
        Visit("dataset, feed fine", f"/data/{population.slug}/"),
        Visit("compare", f"/data/{counts.slug}/compare/?from=1&to=2"),
        Visit("create", "/staff/data/new/"),
        Visit("create, errors", "/staff/data/new/", submit("main form button[type=submit]")),
        Visit("edit", f"/staff/data/{counts.slug}/edit/"),
        Visit(
            "edit, errors",
            f"/staff/data/{counts.slug}/edit/",
            submit("main form button[type=submit]", id_title=""),
        ),
        Visit("upload", f"/staff/data/{counts.slug}/upload/"),
        Visit(
            "upload, errors",
            f"/staff/data/{counts.slug}/upload/",
            submit("main form button[type=submit]"),
        ),
        Visit("feed, new", f"/staff/data/{empty.slug}/feed/"),
        Visit(
            "feed, errors",
            f"/staff/data/{empty.slug}/feed/",
            submit("main form.report-form button[type=submit]", id_segment_ids="abc"),
        ),
        Visit("feed, fine", f"/staff/data/{population.slug}/feed/"),
        Visit("feed, in error", f"/staff/data/{fed.slug}/feed/", shows("text=127.0.0.1")),
        Visit("restore", f"/staff/data/{counts.slug}/versions/2/restore/"),
        Visit(
            "restore, errors",
            f"/staff/data/{counts.slug}/versions/2/restore/",
            submit("main form.report-form button[type=submit]"),
        ),
        Visit("restore, the current version", f"/staff/data/{counts.slug}/versions/3/restore/"),
        Visit("load, reading", f"{loads}/{reading.pk}/"),
        Visit(
            "load, messy sheet in review",
            f"/staff/data/{population.slug}/loads/{messy.pk}/",
            shows("[aria-labelledby=sheet-heading] li", "#keep_total_12", "#header_row"),
        ),
        Visit(
            "load, review with problems",
            f"/staff/data/{population.slug}/loads/{messy.pk}/",
            submit(
                "form[action$='/confirm/'] button:not([name])",
                answer=".callout[role=alert] li",
                left_out="3, vijf",
            ),
        ),
        Visit("load, dry run", f"{loads}/{dry.pk}/", shows("[data-count=removed]")),
        Visit(
            "load, dry run refused",
            f"{loads}/{dry_refused.pk}/",
            shows("#dry-run-heading ~ div td.problem"),
        ),
        Visit("load, checking", f"{loads}/{checking.pk}/", shows("progress")),
        Visit("load, refused", f"{loads}/{refused.pk}/", shows("#load-problems", "#again-heading")),
        Visit("load, unreadable", f"/staff/data/{population.slug}/loads/{unreadable.pk}/"),
        Visit("load, loaded", f"{loads}/{second.pk}/"),
        Visit("load, cancelled", f"{loads}/{cancelled.pk}/"),
    ]
    states = {
        dry.pk: "review",
        dry_refused.pk: "review",
        refused.pk: "failed",
        messy.pk: "review",
        unreadable.pk: "failed",
        cancelled.pk: "cancelled",
        checking.pk: "checking",
        reading.pk: "inspecting",
    }
    found = dict(Load.objects.filter(pk__in=states).values_list("pk", "state"))
    assert found == states
    assert Load.objects.get(pk=dry.pk).dry_run["refused"] is False
    assert Load.objects.get(pk=dry_refused.pk).dry_run["refused"] is True
    assert Load.objects.get(pk=refused.pk).errors
    return {"visitor": public, "steward": steward_pages}


def violations(page: Any) -> list[dict[str, Any]]:
    """What :func:`axe_violations` finds (the same WCAG 2.1 A and AA rules), asking axe-core
    for the violations only (two to three times faster) and injecting it once per page."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(Axe().axe_script)
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    found = page.evaluate("options => axe.run(document, options).then(r => r.violations)", options)
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in found
    ]


def look(page: Any, base: str, visit: Visit, language: str) -> list[str]:
    """The problems of one page, on a desk screen and then on a phone."""
    page.set_viewport_size({"width": WIDTHS[0][0], "height": WIDTHS[0][1]})
    response = page.goto(base + visit.path)
    if visit.then:
        visit.then(page)
    problems = []
    if response is None or response.status >= 500:
        problems.append(f"{visit.name} [{language}]: status {response and response.status}")
    if page.locator("html").get_attribute("lang") != language:
        problems.append(f"{visit.name} [{language}]: not in {language}")
    for width, height in WIDTHS:
        where = f"{visit.name} [{language}, {width} px]"
        page.set_viewport_size({"width": width, "height": height})
        problems += [f"{where}: {violation}" for violation in violations(page)]
        if width < 400 and page.evaluate(OVERFLOW) > 0:
            problems.append(f"{where}: scrolls sideways ({page.evaluate(WIDE)})")
    return problems


def test_every_data_page_is_accessible_on_a_desk_and_a_phone(
    live_server, region, steward, tmp_path
):
    problems: list[str] = []
    with chromium_page() as page:

        def visit_all(visits: list[Visit]) -> None:
            for language in LANGUAGES:
                page.context.add_cookies(
                    [{"name": "regiohub_language", "value": language, "url": live_server.url}]
                )
                for visit in visits:
                    problems.extend(look(page, live_server.url, visit, language))

        visit_all([Visit("list, no datasets", "/data/")])
        visits = build(region, steward, tmp_path)
        visit_all(visits["visitor"])
        login_page_as(page, steward, live_server.url)
        visit_all(visits["steward"])
        # A load being read follows itself without a timed reload, and shows the column
        # review once the file is read.
        reading = next(v for v in visits["steward"] if v.name == "load, reading")
        page.goto(live_server.url + reading.path)
        assert page.locator("meta[http-equiv=refresh]").count() == 0
        run_tasks()
        page.wait_for_selector("form[action$='/confirm/']", timeout=15_000)
    assert problems == [], "\n".join(problems)
