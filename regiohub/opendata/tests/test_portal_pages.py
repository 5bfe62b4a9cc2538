"""The portal's pages as a visitor and a data steward use them: search with facets,
a dataset's page with everything needed to reuse it, the sitemap, describing and
publishing; nothing that is not open shows, whatever is asked."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from regiohub.core.testing import staff_client
from regiohub.opendata.models import Publication
from regiohub.opendata.tests.factories import open_dataset, published, steward, town

pytestmark = pytest.mark.django_db


def test_a_visitor_searches_and_narrows():
    published(town("KOR"), "fietstellingen", title="Fietstellingen Kortrijk")
    published(
        town("WAR"),
        "afval",
        title="Ophaling huisvuil",
        description="Kilo's restafval per ophaalronde.",
        keywords=["afval"],
    )
    client = Client()
    page = client.get("/open/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Fietstellingen Kortrijk" in body and "Ophaling huisvuil" in body
    assert 'type="text/turtle" href="http://testserver/catalog.ttl"' in body
    found = client.get("/open/", {"q": "fietsers"}).content.decode()
    assert "Fietstellingen Kortrijk" in found and "Ophaling huisvuil" not in found
    narrowed = client.get("/open/", {"publisher": "WAR"}).content.decode()
    assert "Ophaling huisvuil" in narrowed and "Fietstellingen Kortrijk" not in narrowed
    assert re.search(r'name="publisher" value="WAR" checked', narrowed)


def test_the_dataset_page_says_how_to_reuse_it():
    publication = published(town("KOR"), licence="CC-BY-NC-4.0")
    body = Client().get(f"/open/{publication.slug}/").content.decode()
    assert "https://creativecommons.org/licenses/by-nc/4.0/" in body
    assert "Dienst Mobiliteit" in body and "mobiliteit@example.org" in body
    assert "/data/verkeerstellingen/download/?format=csv" in body
    assert "pd.read_csv" in body and "/api/v1/datasets/verkeerstellingen/rows/" in body
    assert "<code>segment_id</code>" in body  # the columns
    ld = re.search(r'<script type="application/ld\+json">(.*?)</script>', body, re.S)
    data = json.loads(ld.group(1))
    assert data["@type"] == "Dataset" and data["license"].endswith("/by-nc/4.0/")
    assert data["temporalCoverage"] == "2025-03-01/2025-03-03"  # Belgian days


@pytest.mark.parametrize("access", ["internal", "region"])
def test_what_is_not_open_never_shows(access):
    kortrijk = town("KOR")
    open_dataset(kortrijk, "geheim", title="Geheime tellingen", access=access)
    draft = open_dataset(kortrijk, "ontwerp", title="Ontwerp")  # open, not published
    assert draft
    client = Client()
    for url in ("/open/", "/open/?q=geheime", "/open/?q=ontwerp", "/sitemap.xml"):
        body = client.get(url).content.decode()
        assert "Geheime tellingen" not in body and ">Ontwerp<" not in body
        assert "/open/geheim/" not in body and "/open/ontwerp/" not in body
    assert client.get("/open/geheim/").status_code == 404
    assert client.get("/open/ontwerp/").status_code == 404


def test_the_sitemap_lists_published_pages():
    published(town("KOR"))
    body = Client().get("/sitemap.xml").content.decode()
    assert "<loc>http://testserver/open/verkeerstellingen/</loc>" in body or (
        "/open/verkeerstellingen/</loc>" in body
    )


@pytest.mark.parametrize(
    "params",
    [
        {"q": "\x00"},
        {"q": "x" * 10_000},
        {"page": "999999999999999999999"},
        {"page": "-3"},
        {"sort": "<script>"},
        {"publisher": ["A"] * 500},
        {"keyword": "'; DROP TABLE opendata_publication; --"},
    ],
)
def test_hostile_catalogue_questions(params):
    published(town("KOR"))
    response = Client().get("/open/", params)
    assert response.status_code in (200, 400)
    assert Publication.objects.count() == 1


def test_a_steward_describes_and_publishes():
    kortrijk = town("KOR")
    open_dataset(kortrijk)
    user = steward(kortrijk)
    client = staff_client(user)
    listing = client.get("/staff/open/").content.decode()
    assert "Verkeerstellingen" in listing
    page = client.get("/staff/open/verkeerstellingen/").content.decode()
    assert "At least one keyword." in page
    refused = client.post("/staff/open/verkeerstellingen/publish/", follow=True)
    assert "Fill in what is missing first." in refused.content.decode()
    assert Client().get("/open/verkeerstellingen/").status_code == 404
    saved = client.post(
        "/staff/open/verkeerstellingen/",
        {
            "keywords": "verkeer, tellingen",
            "contact_name": "Dienst Mobiliteit",
            "contact_email": "mobiliteit@example.org",
            "frequency": "DAILY",
            "places": ["34022"],
        },
    )
    assert saved.status_code == 302
    client.post("/staff/open/verkeerstellingen/publish/")
    assert Client().get("/open/verkeerstellingen/").status_code == 200
    client.post("/staff/open/verkeerstellingen/withdraw/", {"reason": "Fouten in maart"})
    assert Client().get("/open/verkeerstellingen/").status_code == 404


def test_another_municipality_cannot_touch_it():
    open_dataset(town("KOR"))
    other = staff_client(steward(town("WAR")))
    assert "Verkeerstellingen" not in other.get("/staff/open/").content.decode()
    assert other.get("/staff/open/verkeerstellingen/").status_code == 404
    assert other.post("/staff/open/verkeerstellingen/publish/").status_code == 404
    assert Publication.objects.get().state == "draft"


def test_the_page_documents_the_api_with_the_dataset_s_own_columns():
    published(town("KOR"))
    body = Client().get("/open/verkeerstellingen/").content.decode()
    assert "bucket=hour%3Amonth&amp;agg=sum%3Acar%2Ccount" in body  # totals per month
    assert "hour__gte=2025-01-01" in body
    assert 'class="chart' in body or "Quick chart" not in body  # a chart when one fits
