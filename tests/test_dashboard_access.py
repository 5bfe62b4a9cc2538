"""Who sees a dashboard and its charts, tried as a Menen agent, an anonymous visitor and a
website's frame would: an internal Kortrijk dashboard and a chart over an internal
Kortrijk dataset stay invisible outside Kortrijk and the region, through every page,
download and export; a public dashboard is drawn as for anyone, also for the owner's
staff; a 404 never tells an internal dashboard exists (issue 20, ADR 0043)."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from regiohub.core.roles import Role
from regiohub.core.testing import staff_client
from regiohub.core.tests.factories import MembershipFactory
from regiohub.dashboards import cache, services
from regiohub.datasets import services as dataset_services
from regiohub.datasets.tests.factories import COUNTS_CSV, make_dataset, upload

pytestmark = pytest.mark.django_db

FORMATS = ("csv", "json", "png", "pdf", "svg")
NO_DATA = "You may not see the data of this chart."

CHART = """
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


def definition(slug: str, audience: str, organisations: str = "") -> str:
    who = f"organisations: [{organisations}]\n" if organisations else ""
    return (
        f"slug: {slug}\n"
        f"title: {{nl: Tellingen {slug}, fr: Comptages {slug}, en: Counts {slug}}}\n"
        "description: {nl: Fietsers, fr: Cyclistes, en: Cyclists}\n"
        f"audience: {audience}\n{who}"
        "filters: [period]\n"
        "charts:" + CHART
    )


@pytest.fixture(autouse=True)
def _own_storage(settings: Any, tmp_path: Any) -> None:
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
    yield
    cache.reset()


@pytest.fixture
def counts(region: dict[str, Any], kortrijk_admin: Any) -> Any:
    """Kortrijk's internal counts, loaded: 20 cyclists on segment 101, none on 102."""
    dataset = make_dataset(region["KOR"], kortrijk_admin, access="internal")
    loaded = upload(dataset, kortrijk_admin, COUNTS_CSV)
    assert loaded.state == "done", loaded.error
    return dataset


@pytest.fixture
def people(region: dict[str, Any]) -> dict[str, Any]:
    def member(code: str, role: str = Role.ANALYST) -> Any:
        return MembershipFactory(organisation=region[code], role=role).user

    return {"menen": member("MEN"), "region": member("ZWVL"), "kortrijk": member("KOR")}


@pytest.fixture
def internal(counts: Any) -> str:
    """An internal dashboard for Kortrijk over Kortrijk's internal counts."""
    services.save_definition(definition("kortrijk-intern", "internal", "KOR"))
    return "kortrijk-intern"


def addresses(slug: str, chart: str = "fietsers") -> list[str]:
    """Every address that shows something of a dashboard or its chart."""
    base = f"/dashboards/{slug}"
    return [
        f"{base}/",
        f"{base}/?embed=1",
        f"{base}/{chart}/",
        f"{base}/{chart}/?embed=1",
        f"{base}.pdf",
        *(f"{base}/{chart}.{fmt}" for fmt in FORMATS),
        *(f"{base}/{chart}.{fmt}?embed=1" for fmt in FORMATS),
    ]


def pdf_pages(body: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(body)).pages)


def visitors(people: dict[str, Any]) -> dict[str, Client]:
    return {"anonymous": Client(), "menen": staff_client(people["menen"])}


def test_an_internal_kortrijk_dashboard_is_invisible_outside_kortrijk(internal, people):
    for who, client in visitors(people).items():
        listing = client.get("/dashboards/")
        assert listing.status_code == 200
        assert b"kortrijk-intern" not in listing.content, who
        for address in addresses(internal):
            response = client.get(address)
            assert response.status_code == 404, (who, address)
            body = response.content.decode()
            assert "Fietsers" not in body and "101" not in body, (who, address)


def test_the_region_and_kortrijk_see_it_but_not_in_a_frame(internal, people):
    for who in ("region", "kortrijk"):
        client = staff_client(people[who])
        assert b"/dashboards/kortrijk-intern/" in client.get("/dashboards/").content, who
        page = client.get(f"/dashboards/{internal}/")
        assert page.status_code == 200, who
        assert NO_DATA.encode() not in page.content
        assert page.context["figures"][0]["figure"].rows == [
            {"segment": 101, "sum_fietsers": 20},
            {"segment": 102, "sum_fietsers": 0},
        ]
        assert client.get(f"/dashboards/{internal}/fietsers/").status_code == 200
        for fmt in FORMATS:
            assert client.get(f"/dashboards/{internal}/fietsers.{fmt}").status_code == 200, fmt
        assert client.get(f"/dashboards/{internal}.pdf").status_code == 200
        # Embedded is for public dashboards only, whoever is logged in.
        for address in addresses(internal):
            if "embed=1" in address:
                assert client.get(address).status_code == 404, (who, address)


def _neutral(body: bytes, slug: str) -> str:
    text = body.decode().replace(slug, "SLUG")
    return re.sub(r'(csrfmiddlewaretoken" value=")[^"]+', r"\1", text)


def test_a_404_does_not_tell_an_internal_dashboard_exists(internal, people):
    for client in visitors(people).values():
        for hidden, missing in zip(addresses(internal), addresses("bestaat-niet"), strict=True):
            one, other = client.get(hidden), client.get(missing)
            assert (one.status_code, other.status_code) == (404, 404), hidden
            assert one["Content-Type"] == other["Content-Type"], hidden
            assert _neutral(one.content, internal) == _neutral(other.content, "bestaat-niet")


def test_a_chart_over_a_dataset_its_viewer_may_not_read_says_so(counts, people):
    """A dashboard for the whole region over Kortrijk's internal counts: Menen's staff may
    open it, but its chart shows them no number."""
    services.save_definition(definition("regio-tellingen", "internal", "ZWVL"))
    menen = staff_client(people["menen"])
    with translation.override("en"):
        page = menen.get("/dashboards/regio-tellingen/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    figure = page.context["figures"][0]
    assert figure["figure"] is None and figure["problem"] == NO_DATA
    assert "<td" not in page.content.decode().split('id="chart-fietsers"')[1].split("</figure>")[0]
    for fmt in FORMATS:
        download = menen.get(f"/dashboards/regio-tellingen/fietsers.{fmt}")
        assert download.status_code == 404, fmt
        assert b"101" not in download.content
    whole = menen.get("/dashboards/regio-tellingen.pdf")
    # One page that says there is nothing this viewer may see, never the numbers.
    assert whole.status_code == 200 and pdf_pages(whole.content) == 1
    # The region's own staff see the numbers, and their PDF has the chart's page.
    regio = staff_client(people["region"])
    page = regio.get("/dashboards/regio-tellingen/")
    assert page.context["figures"][0]["figure"].rows[0] == {"segment": 101, "sum_fietsers": 20}
    assert pdf_pages(regio.get("/dashboards/regio-tellingen.pdf").content) == 1


def test_a_public_dashboard_over_data_made_internal_shows_it_to_nobody(
    region, kortrijk_admin, people
):
    """Public dashboards are drawn as for an anonymous visitor, whoever looks: once the
    counts are made internal, not even Kortrijk's own staff see them there."""
    dataset = make_dataset(region["KOR"], kortrijk_admin, access="open")
    assert upload(dataset, kortrijk_admin, COUNTS_CSV).state == "done"
    services.save_definition(definition("tellingen", "public"))
    anonymous = Client()
    before = anonymous.get("/dashboards/tellingen/")
    assert before.context["figures"][0]["figure"].rows[0]["sum_fietsers"] == 20

    dataset_services.update_dataset(dataset, kortrijk_admin, access="internal")
    owner = staff_client(kortrijk_admin)
    with translation.override("en"):
        for who, client in {"anonymous": anonymous, "owner": owner, **visitors(people)}.items():
            for address in ("/dashboards/tellingen/", "/dashboards/tellingen/?embed=1&lang=en"):
                page = client.get(address, HTTP_ACCEPT_LANGUAGE="en")
                assert page.status_code == 200, (who, address)
                figure = page.context["figures"][0]
                assert figure["figure"] is None, (who, address)
                assert figure["problem"] == NO_DATA, (who, address)
                assert NO_DATA in page.content.decode()
            for fmt in FORMATS:
                download = client.get(f"/dashboards/tellingen/fietsers.{fmt}")
                assert download.status_code == 404, (who, fmt)
                assert b"101" not in download.content
