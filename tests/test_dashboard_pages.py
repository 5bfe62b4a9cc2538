"""The dashboards' pages as their users and attackers use them: bad input on every public
address gets a specific 400 (never a 500), the embed view sets no cookie and may be
framed only by the configured origins, conditional GETs answer 304 until the data or the
dashboard change, and every shipped dashboard renders every chart as a whole figure
(issue 20, ADR 0043)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from regiohub.core.roles import Role
from regiohub.core.testing import needs_shared, staff_client
from regiohub.core.tests.factories import MembershipFactory
from regiohub.dashboards import cache, services
from regiohub.datasets.tests.factories import COUNTS_CSV, make_dataset, upload
from regiohub.meldpunt.tests.factories import KORTRIJK_CENTRE, MENEN_CENTRE, file_report

pytestmark = pytest.mark.django_db

FORMATS = ("csv", "json", "png", "pdf", "svg")

#: A public dashboard with both filters and a map (its ``frame``), over no dataset.
MAP = """
slug: wijken
title: {nl: Meldingen per wijk, fr: Signalements par quartier, en: Reports per district}
description: {nl: Per wijk, fr: Par quartier, en: Per district}
audience: public
filters: [period, municipality]
charts:
  - slug: kaart
    kind: map
    title: {nl: Meldingen per wijk, fr: Signalements par quartier, en: Reports per district}
    caption: {nl: Per maand, fr: Par mois, en: Per month}
    query: {meldpunt: district_counts, params: {period: month}}
"""

#: A public dashboard over an open dataset.
COUNTS = """
slug: tellingen
title: {nl: Tellingen, fr: Comptages, en: Counts}
description: {nl: Fietsers, fr: Cyclistes, en: Cyclists}
audience: public
filters: [period]
charts:
  - slug: fietsers
    title: {nl: Fietsers per segment, fr: Cyclistes par segment, en: Cyclists per segment}
    caption: {nl: Som per segment, fr: Somme par segment, en: Sum per segment}
    query:
      dataset: verkeerstellingen
      params: {group_by: segment, agg: "sum:fietsers", order: segment}
    columns: [segment, sum_fietsers]
    spec:
      mark: bar
      encoding:
        x: {field: segment, type: nominal, title: {nl: Segment, fr: Segment, en: Segment}}
        y:
          field: sum_fietsers
          type: quantitative
          title: {nl: Fietsers, fr: Cyclistes, en: Cyclists}
"""


@pytest.fixture(autouse=True)
def _own_storage(settings: Any, tmp_path: Any) -> Any:
    """Each test its own tables, and no figure or definition read by an earlier test:
    SQLite gives a rolled-back dashboard's id again, and what a process keeps by id and
    revision is not rolled back."""
    from regiohub.dashboards import queries
    from regiohub.datasets.queries import forget_open_datasets

    queries._read.found.clear()

    settings.DATASETS_URI = str(tmp_path / "tables")
    settings.DATA_DIR = tmp_path
    cache.reset()
    forget_open_datasets()
    with translation.override("en"):
        yield
    cache.reset()


@pytest.fixture
def wijken(categories: dict[str, Any]) -> str:
    """The public map, with enough reports in one Kortrijk district to be shown."""
    for _ in range(5):
        file_report(where=KORTRIJK_CENTRE)
    services.save_definition(MAP)
    return "wijken"


@pytest.fixture
def tellingen(region: dict[str, Any], kortrijk_admin: Any) -> Any:
    dataset = make_dataset(region["KOR"], kortrijk_admin, access="open")
    assert upload(dataset, kortrijk_admin, COUNTS_CSV).state == "done"
    services.save_definition(COUNTS)
    return dataset


def get(client: Client, path: str, params: Any = None, **extra: Any) -> Any:
    return client.get(path, params, HTTP_ACCEPT_LANGUAGE="en", **extra)


# --- Bad input ---------------------------------------------------------------------------

PAGES = ("/dashboards/wijken/", "/dashboards/wijken/kaart/", "/dashboards/wijken/?embed=1")
FILES = (
    *(f"/dashboards/wijken/kaart.{fmt}" for fmt in FORMATS),
    "/dashboards/wijken.pdf",
)
LONG = "9" * 10_000

BAD = [
    ({"start": "2026-13-01"}, "start", "Give a date such as 2026-03-31."),
    ({"end": "31/12/2026"}, "end", "Give a date such as 2026-03-31."),
    ({"start": "2026-03-01", "end": "2026-02-01"}, "end", "The period ends before it starts."),
    (
        {"start": "2010-01-01", "end": "2026-01-01"},
        "start",
        "Choose a period of at most ten years.",
    ),
    ({"municipality": "XYZ"}, "municipality", "Unknown municipality “XYZ”."),
    ({"frame": "garbage"}, "frame", "Give a date such as 2026-03-31."),
    ({"start": "2026-01-01\x01"}, "start", "Give a date such as 2026-03-31."),
    ({"frame": "\x1b[31m"}, "frame", "Give a date such as 2026-03-31."),
    ({"start": LONG}, "start", "Give a date such as 2026-03-31."),
    ({"end": LONG}, "end", "Give a date such as 2026-03-31."),
    ({"frame": LONG}, "frame", "Give a date such as 2026-03-31."),
    ({"municipality": LONG}, "municipality", f"Unknown municipality “{LONG[:20]}”."),
    ({"municipality": "Menén"}, "municipality", "Unknown municipality “Menén”."),
    ({"municipality": "🚲"}, "municipality", "Unknown municipality “🚲”."),
    ({"municipality": "\u202eKOR"}, "municipality", "Unknown municipality “\u202eKOR”."),
    ({"municipality": "كورتريك"}, "municipality", "Unknown municipality “كورتريك”."),
    ({"start": "２０２６-01-01"}, "start", "Give a date such as 2026-03-31."),
    ({"municipality": ["KOR", "XYZ"]}, "municipality", "Unknown municipality “XYZ”."),
]


@pytest.mark.parametrize(("params", "field", "message"), BAD)
def test_a_bad_filter_on_a_page_names_the_field_and_links_to_it(wijken, params, field, message):
    for path in PAGES:
        response = get(Client(), path, params)
        assert response.status_code == 400, path
        body = response.content.decode()
        errors = body.split('id="form-errors"')[1].split("</div>")[0] if "embed" not in path else ""
        if "embed" not in path:
            # The error summary names why and links to the field it is about.
            link = re.search(r'<a href="#([^"]+)">([^<]*)</a>', errors)
            assert link is not None, path
            assert link.group(1) == ("frame-kaart" if field == "frame" else f"filter-{field}")
            from html import unescape

            assert unescape(link.group(2)) == message
        else:
            # The embed view has no form: it still says what is wrong.
            from html import unescape

            assert message in unescape(body), path
        assert "ETag" not in response, path


def test_a_bad_frame_links_to_the_maps_field(wijken):
    response = get(Client(), "/dashboards/wijken/", {"frame": "garbage"})
    assert response.status_code == 400
    target = re.search(r'id="form-errors".*?<a href="#([^"]+)"', response.content.decode(), re.S)
    assert target is not None
    assert f'id="{target.group(1)}"' in response.content.decode()


@pytest.mark.parametrize(("params", "field", "message"), BAD)
def test_a_bad_filter_on_a_download_names_the_field(wijken, params, field, message):
    for path in FILES:
        response = get(Client(), path, params)
        assert response.status_code == 400, path
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert response.content.decode() == f"{field}: {message}", path


@pytest.mark.parametrize(
    "params",
    [
        {"start": "2026-01-01\x00"},
        {"end": "\x00"},
        {"municipality": "KOR\x00"},
        {"frame": "2026-01-01\x00"},
        {"embed": "1\x00"},
        {"lang": "fr\x00"},
        {"st\x00art": "2026-01-01"},
    ],
)
def test_a_nul_in_any_parameter_is_refused_before_the_view(wijken, params):
    name = next(iter(params)).replace("\x00", "")
    for path in (*PAGES, *FILES, "/dashboards/"):
        response = get(Client(), path, params)
        assert response.status_code == 400, path
        assert f"{name} contains a NUL character" in response.content.decode(), path


@pytest.mark.parametrize(
    "path",
    [
        "/dashboards/bestaat-niet/",
        "/dashboards/bestaat-niet/kaart/",
        "/dashboards/bestaat-niet.pdf",
        "/dashboards/wijken/geen-grafiek/",
        "/dashboards/wijken/geen-grafiek.csv",
        "/dashboards/wijken/kaart.xlsx",
        "/dashboards/wijken/kaart.CSV",
        "/dashboards/wijken/kaart.csv.exe",
        "/dashboards/wijken/kaart.",
        "/dashboards/w%C3%ABken/",
        "/dashboards/wijken/%F0%9F%9A%B2/",
        "/dashboards/" + "a" * 10_000 + "/",
    ],
)
def test_an_unknown_dashboard_chart_or_format_is_a_plain_404(wijken, path):
    response = get(Client(), path)
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_a_control_character_in_the_address_is_refused(wijken):
    for path in ("/dashboards/wij%01ken/", "/dashboards/wijken/kaart%1B/", "/dashboards/%7F.pdf"):
        response = get(Client(), path)
        assert response.status_code == 400, path
        assert "control character" in response.content.decode()


def test_odd_but_harmless_parameters_are_ignored(wijken):
    """Parameters a dashboard does not take, a ``lang`` outside the embed view, an
    ``embed`` that is not 1: the page as without them."""
    for params in (
        {"x": LONG},
        {"lang": "xx"},
        {"embed": "🚲"},
        {"embed": LONG},
        {"utm_source": "كورتريك"},
        {"\u202e": "1"},
    ):
        assert get(Client(), "/dashboards/wijken/", params).status_code == 200, params
    embedded = get(Client(), "/dashboards/wijken/", {"embed": "1", "lang": LONG})
    assert embedded.status_code == 200
    assert '<html lang="en">' in embedded.content.decode()


def test_a_repeated_single_value_parameter_is_refused(wijken):
    response = get(Client(), "/dashboards/wijken/?start=2026-01-01&start=2025-01-01&end=2026-02-01")
    assert response.status_code == 400
    assert 'href="#filter-start"' in response.content.decode()


def test_repeated_municipalities_are_a_selection(wijken):
    response = get(Client(), "/dashboards/wijken/?municipality=MEN&municipality=KOR")
    assert response.status_code == 200
    assert response.context["filters"].municipalities == ("KOR", "MEN")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_pages_only_answer_get(wijken, method):
    for path in ("/dashboards/", *PAGES, *FILES):
        response = getattr(Client(), method)(path)
        assert response.status_code == 405, (method, path)
        assert "GET" in response["Allow"]


@pytest.mark.parametrize("reports", [0, 2])
def test_a_map_with_nothing_to_colour_is_still_drawn(categories, reports):
    for _ in range(reports):
        file_report(where=MENEN_CENTRE)
    services.save_definition(MAP)
    response = get(Client(), "/dashboards/wijken/")
    assert response.status_code == 200
    figure = response.context["figures"][0]
    assert figure["problem"] == "" and figure["figure"] is not None


# --- Embedding ---------------------------------------------------------------------------


def test_the_embed_view_sets_no_cookie_and_may_be_framed_by_no_one_by_default(wijken):
    for path in ("/dashboards/wijken/?embed=1", "/dashboards/wijken/kaart/?embed=1"):
        first = Client()  # a first-time visitor: no cookie at all yet
        response = first.get(path)
        assert response.status_code == 200
        assert "Set-Cookie" not in response.serialize_headers().decode()
        assert not response.cookies
        assert "csrfmiddlewaretoken" not in response.content.decode()
        policy = response["Content-Security-Policy"]
        directives = [p.strip() for p in policy.split(";")]
        assert [d for d in directives if d.startswith("frame-ancestors")] == [
            "frame-ancestors 'none'"
        ]
        assert "X-Frame-Options" not in response
    # Its downloads neither.
    for fmt in FORMATS:
        download = Client().get(f"/dashboards/wijken/kaart.{fmt}?embed=1")
        assert download.status_code == 200, fmt
        assert not download.cookies, fmt


def test_the_embed_view_may_be_framed_by_the_configured_origins(wijken, settings):
    settings.DASHBOARDS_EMBED_ANCESTORS = ["https://www.kortrijk.be", "https://www.menen.be"]
    response = Client().get("/dashboards/wijken/?embed=1")
    directives = [p.strip() for p in response["Content-Security-Policy"].split(";")]
    assert [d for d in directives if d.startswith("frame-ancestors")] == [
        "frame-ancestors https://www.kortrijk.be https://www.menen.be"
    ]
    # The rest of the site's policy stays.
    assert any(d.startswith("default-src") for d in directives)


def test_the_page_itself_may_not_be_framed(wijken):
    for path in ("/dashboards/wijken/", "/dashboards/wijken/kaart/", "/dashboards/"):
        response = Client().get(path)
        assert response.status_code == 200
        assert response["X-Frame-Options"] == "DENY", path


def test_the_embed_view_speaks_the_language_it_is_asked(wijken):
    response = Client().get("/dashboards/wijken/?embed=1&lang=fr", HTTP_ACCEPT_LANGUAGE="nl")
    body = response.content.decode()
    assert '<html lang="fr">' in body
    assert "Signalements par quartier" in body and "Meldingen per wijk" not in body
    assert not response.cookies
    dutch = Client().get("/dashboards/wijken/?embed=1&lang=nl").content.decode()
    assert "Meldingen per wijk" in dutch and "Signalements par quartier" not in dutch


def test_a_member_of_staff_sees_the_public_embed_as_anyone(wijken, region):
    member = MembershipFactory(organisation=region["ZWVL"], role=Role.ANALYST).user
    response = staff_client(member).get("/dashboards/wijken/?embed=1")
    assert response.status_code == 200
    assert not response.cookies
    assert response.context["figures"][0]["figure"].extra["public"] is True


# --- Conditional GETs --------------------------------------------------------------------


def test_a_second_get_is_answered_not_modified(wijken):
    client = Client()
    get(client, "/dashboards/wijken/")  # the CSRF cookie of a first visit
    first = get(client, "/dashboards/wijken/")
    tag = first["ETag"]
    again = get(client, "/dashboards/wijken/", HTTP_IF_NONE_MATCH=tag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == tag
    embedded = Client().get("/dashboards/wijken/?embed=1")
    assert (
        Client().get("/dashboards/wijken/?embed=1", HTTP_IF_NONE_MATCH=embedded["ETag"]).status_code
        == 304
    )
    data = Client().get("/dashboards/wijken/kaart.csv")
    assert (
        Client().get("/dashboards/wijken/kaart.csv", HTTP_IF_NONE_MATCH=data["ETag"]).status_code
        == 304
    )


def test_a_new_dataset_version_changes_the_etag_and_the_numbers(tellingen, kortrijk_admin):
    client = Client()
    path = "/dashboards/tellingen/?embed=1"
    first = client.get(path)
    assert first.context["figures"][0]["problem"] == ""
    assert first.context["figures"][0]["figure"].rows[0] == {"segment": 101, "sum_fietsers": 20}
    download = client.get("/dashboards/tellingen/fietsers.csv")
    assert b"101;20" in download.content

    assert upload(tellingen, kortrijk_admin, COUNTS_CSV).state == "done"  # appended again
    second = client.get(path, HTTP_IF_NONE_MATCH=first["ETag"])
    assert second.status_code == 200
    assert second["ETag"] != first["ETag"]
    assert second.context["figures"][0]["figure"].rows[0] == {"segment": 101, "sum_fietsers": 40}
    again = client.get("/dashboards/tellingen/fietsers.csv", HTTP_IF_NONE_MATCH=download["ETag"])
    assert again.status_code == 200 and b"101;40" in again.content


def test_a_changed_dashboard_changes_the_etag(tellingen):
    client = Client()
    first = client.get("/dashboards/tellingen/?embed=1&lang=en")
    services.save_definition(COUNTS.replace("en: Sum per segment", "en: Total per segment"))
    second = client.get("/dashboards/tellingen/?embed=1&lang=en", HTTP_IF_NONE_MATCH=first["ETag"])
    assert second.status_code == 200
    assert second["ETag"] != first["ETag"]
    assert "Total per segment" in second.content.decode()
    # Saved again unchanged: the same tag.
    services.save_definition(COUNTS.replace("en: Sum per segment", "en: Total per segment"))
    third = client.get("/dashboards/tellingen/?embed=1&lang=en", HTTP_IF_NONE_MATCH=second["ETag"])
    assert third.status_code == 304


# --- Every shipped dashboard -------------------------------------------------------------


def _figures(body: str) -> dict[str, str]:
    return {
        m.group(1): m.group(0)
        for m in re.finditer(
            r'<figure class="dashboard-figure[^"]*" id="chart-([^"]+)".*?</figure>', body, re.S
        )
    }


def _check_figure(slug: str, chart: str, html: str) -> None:
    where = f"{slug}/{chart}"
    assert 'class="figure-problem"' not in html, (where, html[:2000])
    svg = re.search(r"<svg\b[^>]*>", html)
    assert svg is not None, where
    assert 'role="img"' in svg.group(0), where
    label = re.search(r'aria-label="([^"]*)"', svg.group(0))
    assert label is not None and label.group(1).strip(), where
    summary = re.search(r'<p class="figure-summary"[^>]*>(.*?)</p>', html, re.S)
    assert summary is not None and summary.group(1).strip(), where
    caption = re.search(r'<p class="meta">(.*?)</p>', html.split("<figcaption>")[1], re.S)
    assert caption is not None and caption.group(1).strip(), where
    table = re.search(r"<table\b.*?</table>", html, re.S)
    assert table is not None, where
    headers = re.findall(r"<th scope=\"col\"[^>]*>([^<]*)</th>", table.group(0))
    assert headers and all(h.strip() for h in headers), where


@pytest.mark.slow
@needs_shared("data", "telraam")
@needs_shared("data", "statbel")
def test_every_shipped_dashboard_loads_and_renders_every_chart(categories):
    """The demo region's data, every shipped dashboard loaded as ``regiohub demo`` does,
    then every chart of every one drawn as a region member (and anonymously for the
    public ones): a figure, an image with a label, a caption, a summary and a table."""
    import io

    from regiohub.datasets import demo as dataset_demo

    # Enough in one district for the public map to show it (an empty map: see above).
    for where in [KORTRIJK_CENTRE] * 6 + [MENEN_CENTRE]:
        file_report(where=where)
    dataset_demo.load(io.StringIO())
    results = services.load_folder(services.shipped_folder())
    assert results, "no shipped dashboards"
    for result in results:
        assert not result.problems, (result.path, result.problems)
    member = MembershipFactory(organisation=categories["ZWVL"], role=Role.ANALYST).user
    viewers = {"member": staff_client(member), "anonymous": Client()}
    from regiohub.dashboards.models import Dashboard
    from regiohub.dashboards.queries import read

    for dashboard in Dashboard.objects.all():
        viewable = read(dashboard)
        for who, client in viewers.items():
            if who == "anonymous" and not viewable.public:
                continue
            for language in ("nl", "fr", "en"):
                response = client.get(
                    f"/dashboards/{dashboard.slug}/", HTTP_ACCEPT_LANGUAGE=language
                )
                assert response.status_code == 200, (dashboard.slug, who, language)
                found = _figures(response.content.decode())
                assert set(found) == {c.slug for c in viewable.definition.charts}
                for chart, html in found.items():
                    _check_figure(dashboard.slug, chart, html)
