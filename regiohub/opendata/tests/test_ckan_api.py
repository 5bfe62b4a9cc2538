"""The CKAN Action API answers as CKAN 2.10/2.11 does: the clients people use (``ckanapi``
as a library and on the command line, CKAN's own harvester loop) work against a real
server unchanged; only what the portal lists ever appears; rows are read through the data
platform's door, with a personal API token as its owner may read them; hostile input is
refused with CKAN's errors, never a server error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regiohub.core import api_tokens
from regiohub.core.roles import Role
from regiohub.core.testing import run_tasks
from regiohub.core.tests.factories import MembershipFactory
from regiohub.datasets import queries as dataset_queries
from regiohub.datasets import services as datasets
from regiohub.opendata import services
from regiohub.opendata.ckan import datastore, ids
from regiohub.opendata.models import Publication, Source, State
from regiohub.opendata.tests.factories import open_dataset, published, steward, town

pytestmark = pytest.mark.django_db

LISTED = ["afval", "brugge-parkeren", "fietstellingen", "verkeerstellingen"]
#: Published nowhere, or no longer: each must stay out of every answer.
UNLISTED = ["concept", "ingetrokken", "intern", "regionaal", "gesloten"]
SECRET = "geheimwoord"


def harvested(slug: str, title: str, publisher: Any, **fields: Any) -> Publication:
    """A dataset another catalogue publishes, published on the portal."""
    publication = Publication.objects.create(
        source=Source.HARVESTED,
        state=State.PUBLISHED,
        slug=slug,
        identifier=f"https://data.brugge.be/id/{slug}",
        landing_page=f"https://data.brugge.be/{slug}",
        publisher=publisher,
        title=title,
        description=fields.pop("description", "Bezetting van de parkings in het centrum."),
        theme=fields.pop("theme", "REGI"),
        licence="CC-BY-4.0",
        licence_uri="https://creativecommons.org/licenses/by/4.0/",
        keywords=fields.pop("keywords", ["parkeren"]),
        frequency="DAILY",
        distributions=[
            {
                "title": "Bezetting (CSV)",
                "url": f"https://data.brugge.be/{slug}.csv",
                "format": "CSV",
                "media_type": "text/csv",
            },
            {
                "title": "Bezetting (JSON)",
                "url": f"https://data.brugge.be/{slug}.json",
                "format": "JSON",
                "media_type": "application/json",
            },
        ],
        issued=timezone.now() - timedelta(days=30),
        modified=timezone.now() - timedelta(days=1),
        **fields,
    )
    services.reindex(publication)
    return publication


@pytest.fixture
def world() -> dict[str, Any]:
    kortrijk, waregem, menen = town("KOR"), town("WAR"), town("MEN")
    published(
        kortrijk,
        "verkeerstellingen",
        title="Verkeerstellingen Kortrijk",
        keywords=["Verkeer", "fietsers"],
    )
    published(
        waregem,
        "fietstellingen",
        title="Fietstellingen Waregem",
        licence="CC0-1.0",
        keywords=["fiets"],
    )
    published(
        kortrijk,
        "afval",
        title="Ophaling huisvuil",
        keywords=["afval"],
        description="Kilo's restafval per ophaalronde en per straat.",
    )
    harvested("brugge-parkeren", "Parkeerbezetting Brugge", menen)
    # Out of sight: a draft, a withdrawn one, internal, region-only, made internal.
    open_dataset(menen, "concept", title=f"Concept {SECRET}")
    services.describe(steward(menen), "concept", keywords=[SECRET])
    published(menen, "ingetrokken", title=f"Ingetrokken {SECRET}", keywords=[SECRET])
    services.withdraw(steward(menen), "ingetrokken", "Fouten in de tellingen.")
    open_dataset(kortrijk, "intern", title=f"Intern {SECRET}", access="internal")
    open_dataset(waregem, "regionaal", title=f"Regionaal {SECRET}", access="region")
    published(kortrijk, "gesloten", title=f"Gesloten {SECRET}", keywords=[SECRET])
    found = dataset_queries.datasets_for(AnonymousUser()).get(slug="gesloten")
    datasets.update_dataset(found, steward(kortrijk), access="internal")
    analyst = MembershipFactory(organisation=waregem, role=Role.ANALYST).user
    token = api_tokens.create_token(analyst, name="CKAN script").secret
    return {"token": token, "analyst": analyst, "towns": (kortrijk, waregem, menen)}


def call(
    client: Client, name: str, /, *, post: bool = True, token: str | None = None, **data: Any
) -> tuple[int, Any]:
    """An action as ckanapi sends it (POST, JSON) or as a browser does (GET)."""
    headers = {"HTTP_AUTHORIZATION": token} if token else {}
    if post:
        response = client.post(
            f"/api/3/action/{name}", json.dumps(data), content_type="application/json", **headers
        )
    else:
        query = {k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in data.items()}
        response = client.get(f"/api/3/action/{name}?{urlencode(query)}", **headers)
    return response.status_code, json.loads(response.content)


def ok(client: Client, name: str, /, **data: Any) -> Any:
    status, body = call(client, name, **data)
    assert status == 200, body
    assert body["success"] is True
    assert body["help"].endswith(f"/api/3/action/help_show?name={name}")
    return body["result"]


def names(result: dict[str, Any]) -> list[str]:
    return [p["name"] for p in result["results"]]


# --- The catalogue ------------------------------------------------------------------------


def test_status_and_the_envelope(world, client):
    status = ok(client, "status_show")
    assert status["ckan_version"].startswith("2.11") and "datastore" in status["extensions"]
    get = client.get("/api/action/package_list")  # the path without a version, by GET
    assert get.status_code == 200 and get["Content-Type"].startswith("application/json")
    assert json.loads(get.content)["result"] == LISTED
    assert ok(client, "package_list", limit=2, offset=1) == LISTED[1:3]
    assert "Searches for packages" in ok(client, "help_show", name="package_search")
    assert json.loads(client.get("/api/3").content) == {"version": 3}


def test_unknown_action_and_methods_as_ckan():
    client = Client()
    response = client.post("/api/3/action/package_create", "{}", content_type="application/json")
    assert response.status_code == 400
    assert json.loads(response.content) == "Bad request: Action name not known: package_create"
    assert client.put("/api/3/action/package_list").status_code == 405
    assert client.get("/api/3/action/package_list/").status_code == 404  # no redirect


def test_package_show_as_ckan_shapes_it(world, client):
    package = ok(client, "package_show", id="verkeerstellingen")
    assert package["id"] == ids.package_id("verkeerstellingen")
    assert ok(client, "package_show", id=package["id"]) == package  # by id too
    assert ok(client, "package_show", name_or_id="verkeerstellingen")["id"] == package["id"]
    assert package["name"] == "verkeerstellingen" and package["type"] == "dataset"
    assert (package["state"], package["private"]) == ("active", False)
    assert package["title"] == "Verkeerstellingen Kortrijk"
    assert package["license_id"] == "CC-BY-4.0" and package["isopen"] is True
    assert package["license_url"] == "https://creativecommons.org/licenses/by/4.0/"
    assert package["organization"]["name"] == "kor"
    assert package["owner_org"] == package["organization"]["id"]
    assert [t["name"] for t in package["tags"]] == ["verkeer", "fietsers"]
    assert package["tags"][0]["display_name"] == "Verkeer" and package["num_tags"] == 2
    assert [g["name"] for g in package["groups"]] == ["tran"]
    assert "T" in package["metadata_modified"] and not package["metadata_modified"].endswith("Z")
    resources = package["resources"]
    assert [r["id"] for r in resources] == [
        f"verkeerstellingen-{f}" for f in ("csv", "json", "ndjson", "parquet", "xlsx")
    ]
    assert package["num_resources"] == 5
    csv = resources[0]
    assert (csv["format"], csv["mimetype"], csv["datastore_active"]) == ("CSV", "text/csv", True)
    assert csv["package_id"] == package["id"]
    assert csv["url"].endswith("/data/verkeerstellingen/download/?format=csv")
    extras = {e["key"]: e["value"] for e in package["extras"]}
    assert extras["frequency"].endswith("/frequency/DAILY")
    assert extras["temporal_start"] == "2025-03-01"
    assert extras["contact_email"] == "mobiliteit@example.org"
    assert extras["spatial_uri"].endswith("/34022")
    assert [e["key"] for e in package["extras"]] == sorted(extras)
    assert ok(client, "resource_show", id="verkeerstellingen-parquet")["format"] == "PARQUET"

    brugge = ok(client, "package_show", id="brugge-parkeren")  # harvested: its own links
    assert brugge["url"] == "https://data.brugge.be/brugge-parkeren"
    assert [(r["id"], r["url"]) for r in brugge["resources"]] == [
        ("brugge-parkeren-csv", "https://data.brugge.be/brugge-parkeren.csv"),
        ("brugge-parkeren-json", "https://data.brugge.be/brugge-parkeren.json"),
    ]
    assert not any(r["datastore_active"] for r in brugge["resources"])

    assert call(client, "package_show")[1]["error"] == {
        "__type": "Validation Error",
        "name_or_id": ["Missing value"],
    }
    status, body = call(client, "package_show", id="bestaat-niet")
    assert status == 404 and body["error"] == {"__type": "Not Found Error", "message": "Not found"}
    assert call(client, "resource_show", id="verkeerstellingen-docx")[0] == 404


def test_package_search_pages_facets_and_sorts(world, client):
    found = ok(
        client,
        "package_search",
        rows=2,
        **{
            "facet.field": ["organization", "tags", "res_format", "license_id", "groups"],
            "facet.limit": 3,
        },
    )
    assert found["count"] == 4 and len(found["results"]) == 2
    assert found["sort"] == "score desc, metadata_modified desc"
    assert found["facets"]["organization"] == {"kor": 2, "men": 1, "war": 1}
    assert found["facets"]["res_format"] == {"CSV": 4, "JSON": 4, "NDJSON": 3}  # limit 3
    assert found["facets"]["license_id"] == {"CC-BY-4.0": 3, "CC0-1.0": 1}
    assert found["facets"]["groups"] == {"tran": 3, "regi": 1}
    organizations = found["search_facets"]["organization"]
    assert organizations["title"] == "organization"
    assert [i["display_name"] for i in organizations["items"]] == ["Waregem", "Menen", "Kortrijk"]
    assert organizations["items"][0] == {"name": "war", "display_name": "Waregem", "count": 1}
    # GET with the facet fields as a JSON text, as in a browser.
    by_get = call(client, "package_search", post=False, q="verkeer", **{"facet.field": ["tags"]})[
        1
    ]["result"]
    assert names(by_get) == ["verkeerstellingen"]
    assert by_get["facets"]["tags"] == {"fietsers": 1, "verkeer": 1}

    every = [p["name"] for p in ok(client, "package_search", rows=1000)["results"]]
    assert sorted(every) == LISTED
    assert names(ok(client, "package_search", rows=10, sort="name asc")) == LISTED
    assert names(ok(client, "package_search", sort="title_string desc"))[0] == "verkeerstellingen"
    by_id = ok(client, "package_search", sort="id asc")["results"]
    assert [p["id"] for p in by_id] == sorted(ids.package_id(s) for s in LISTED)
    newest = ok(client, "package_search", sort="metadata_modified desc")["results"]
    assert [p["metadata_modified"] for p in newest] == sorted(
        (p["metadata_modified"] for p in newest), reverse=True
    )
    assert names(ok(client, "package_search", q="restafval")) == ["afval"]  # stemmed words
    assert ok(client, "package_search", rows=0)["results"] == []
    assert ok(client, "package_search", rows=5000)["count"] == 4  # CKAN lowers it to 1000
    assert ok(client, "package_search", start=10**30)["results"] == []  # far past the end
    selected = ok(client, "package_search", fl="id,name", sort="name asc")["results"]
    assert selected[0] == {"id": ids.package_id("afval"), "name": "afval"}


def test_facets_follow_every_change(world, client):
    def tags() -> dict[str, int]:
        return ok(client, "package_search", **{"facet.field": ["tags"]})["facets"]["tags"]

    assert tags()["afval"] == 1
    services.describe(steward(town("KOR")), "afval", keywords=["restafval"])
    assert "afval" not in tags() and tags()["restafval"] == 1
    # Again: on SQLite the new facet rows get the ids the old ones had.
    services.describe(steward(town("KOR")), "afval", keywords=["huisvuil"])
    assert "restafval" not in tags() and tags()["huisvuil"] == 1


@pytest.mark.parametrize(
    ("fq", "expected"),
    [
        ("organization:kor", ["afval", "verkeerstellingen"]),
        ("organization:KOR OR organization:war", ["afval", "fietstellingen", "verkeerstellingen"]),
        ("organization:(kor OR men)", ["afval", "brugge-parkeren", "verkeerstellingen"]),
        ("-organization:kor", ["brugge-parkeren", "fietstellingen"]),
        ("+organization:kor +tags:fietsers", ["verkeerstellingen"]),
        ('tags:"Verkeer"', ["verkeerstellingen"]),
        ("tags:fiets*", ["fietstellingen", "verkeerstellingen"]),
        ("res_format:csv -res_format:ndjson", ["brugge-parkeren"]),
        ("res_format:NDJSON", ["afval", "fietstellingen", "verkeerstellingen"]),
        ("license_id:cc-zero", ["fietstellingen"]),  # CKAN's own licence id
        ("license_id:CC0-1.0", ["fietstellingen"]),
        ("groups:regi", ["brugge-parkeren"]),
        ("name:afval", ["afval"]),
        ("capacity:public +state:active", LISTED),
        ("state:draft", []),
        ("metadata_modified:[* TO NOW]", LISTED),
        ("metadata_modified:[NOW-1DAY TO *]", LISTED),
        ("metadata_modified:[2099-01-01T00:00:00Z TO *]", []),
        ("metadata_created:{* TO NOW/DAY+1DAY}", LISTED),
        (
            "organization:kor metadata_modified:[2020-01-01T00:00:00.123456Z TO *]",
            ["afval", "verkeerstellingen"],
        ),
        ("NOT organization:kor AND NOT organization:men", ["fietstellingen"]),
        ("*:*", LISTED),
    ],
)
def test_filter_queries_map_to_the_facets(world, client, fq, expected):
    found = ok(client, "package_search", fq=fq, rows=100, sort="name asc")
    assert names(found) == expected
    assert found["count"] == len(expected)


def test_filter_by_package_id_and_fq_list(world, client):
    wanted = ids.package_id("afval")
    assert names(ok(client, "package_search", fq=f"id:{wanted}")) == ["afval"]
    assert names(ok(client, "package_search", fq_list=["organization:kor", "name:afval"])) == [
        "afval"
    ]


@pytest.mark.parametrize(
    ("data", "status", "kind", "field"),
    [
        ({"rows": -1}, 409, "Validation Error", "rows"),
        ({"rows": "tien"}, 409, "Validation Error", "rows"),
        ({"start": -5}, 409, "Validation Error", "start"),
        ({"facet.field": "[not json"}, 409, "Validation Error", "facet.field"),
        ({"facet.field": '{"a": 1}'}, 409, "Validation Error", "facet.field"),
        ({"facet.limit": "veel"}, 409, "Validation Error", "facet.limit"),
        ({"q": {"a": 1}}, 409, "Validation Error", "q"),
        ({"sort": "nonsense asc"}, 400, "Search Query Error", None),
        ({"sort": "name"}, 400, "Search Query Error", None),
        ({"foo": "bar"}, 400, "Search Query Error", None),
        ({"fq": "organization:(kor"}, 400, "Search Query Error", None),
        ({"fq": "metadata_modified:[gisteren TO *]"}, 400, "Search Query Error", None),
        ({"fq": "secret_field:x"}, 409, "Search Error", None),
        ({"facet.field": ["author"]}, 409, "Search Error", None),
        ({"fq": "(" * 500}, 400, "Search Query Error", None),
    ],
)
def test_bad_search_parameters_are_refused_as_ckan_does(world, client, data, status, kind, field):
    got, body = call(client, "package_search", **data)
    assert got == status, body
    assert body["success"] is False and body["error"]["__type"] == kind
    if field:
        assert isinstance(body["error"][field], list)
    else:
        assert body["error"]["message"]


def test_organizations_groups_tags_and_licences(world, client):
    assert ok(client, "organization_list", sort="name asc") == ["kor", "men", "war"]
    listed = ok(client, "organization_list", all_fields=True, sort="package_count desc")
    assert [(o["name"], o["package_count"]) for o in listed] == [("kor", 2), ("men", 1), ("war", 1)]
    kortrijk = ok(client, "organization_show", id="kor", include_datasets=True)
    assert kortrijk["title"] == "Kortrijk" and kortrijk["package_count"] == 2
    assert sorted(p["name"] for p in kortrijk["packages"]) == ["afval", "verkeerstellingen"]
    assert ok(client, "organization_show", id=kortrijk["id"])["name"] == "kor"
    assert call(client, "organization_show", id="nergens")[0] == 404

    themes = ok(client, "group_list")
    assert "tran" in themes and len(themes) == 13
    transport = ok(client, "group_show", id="tran", include_datasets=True)
    assert transport["package_count"] == 3 and transport["title"] == "Transport"
    assert ok(client, "group_list", all_fields=True, groups="regi")[0]["package_count"] == 1

    assert ok(client, "tag_list") == ["afval", "fiets", "fietsers", "parkeren", "verkeer"]
    assert ok(client, "tag_list", query="fiets") == ["fiets", "fietsers"]
    licences = {lic["id"]: lic for lic in ok(client, "license_list")}
    assert licences["CC0-1.0"]["od_conformance"] == "approved"
    assert licences["CC-BY-4.0"]["url"] == "https://creativecommons.org/licenses/by/4.0/"


# --- Nothing unlisted, ever -----------------------------------------------------------------


def test_nothing_unlisted_appears_in_any_action(world, client):
    everything = json.dumps(
        [
            ok(client, "package_list"),
            ok(
                client,
                "package_search",
                rows=1000,
                q="",
                **{
                    "facet.field": ["tags", "organization", "res_format", "license_id", "groups"],
                    "facet.limit": -1,
                },
            ),
            ok(client, "package_search", q=SECRET),
            ok(client, "package_search", fq=f"tags:{SECRET}"),
            ok(client, "organization_list", all_fields=True),
            ok(client, "organization_show", id="men", include_datasets=True),
            ok(client, "organization_show", id="kor", include_datasets=True),
            ok(client, "organization_show", id="war", include_datasets=True),
            ok(client, "group_show", id="tran", include_datasets=True),
            ok(client, "group_list", all_fields=True),
            ok(client, "tag_list", all_fields=True),
        ]
    )
    assert SECRET not in everything
    for slug in UNLISTED:
        assert f'"{slug}"' not in everything
        assert ids.package_id(slug) not in everything
        assert call(client, "package_show", id=slug)[0] == 404
        assert call(client, "package_show", id=ids.package_id(slug))[0] == 404
        assert call(client, "package_search", fq=f"name:{slug}")[1]["result"]["count"] == 0
        assert call(client, "resource_show", id=f"{slug}-csv")[0] == 404
        assert call(client, "datastore_search", resource_id=f"{slug}-csv")[0] == 404
    transport = ok(client, "group_show", id="tran")
    assert transport["package_count"] == 3  # the unlisted ones are not counted either


def test_a_dataset_made_internal_leaves_every_answer_at_once(world, client):
    assert call(client, "datastore_search", resource_id="afval-csv")[0] == 200
    found = dataset_queries.datasets_for(AnonymousUser()).get(slug="afval")
    datasets.update_dataset(found, steward(town("KOR")), access="internal")
    assert "afval" not in ok(client, "package_list")  # before the portal's copy is refreshed
    assert call(client, "datastore_search", resource_id="afval-csv")[0] == 404
    run_tasks()
    assert "afval" not in ok(client, "package_list")


# --- The DataStore --------------------------------------------------------------------------


def test_datastore_search_reads_rows_as_ckan_shapes_them(world, client):
    result = ok(client, "datastore_search", resource_id="verkeerstellingen-csv", limit=3)
    assert result["fields"][:3] == [
        {"id": "segment_id", "type": "int", "info": {"label": "segment_id"}},
        {
            "id": "hour",
            "type": "timestamp",
            "info": {"label": "hour", "notes": "Times are in UTC."},
        },
        {"id": "car", "type": "numeric", "info": {"label": "car"}},
    ]
    assert result["total"] == 48 and result["total_was_estimated"] is False
    assert result["records"][0] == {
        "segment_id": 9000001,
        "hour": "2025-03-01T00:00:00",
        "car": 0.0,
    }
    assert result["limit"] == 3 and result["resource_id"] == "verkeerstellingen-csv"
    assert result["_links"]["start"] == "/api/3/action/datastore_search"
    assert result["_links"]["next"] == "/api/3/action/datastore_search?offset=3"
    # Any download format of the same version reads the same rows.
    json_rows = ok(client, "datastore_search", resource_id="verkeerstellingen-json", limit=3)
    assert json_rows["records"] == result["records"]


def test_datastore_paging_by_offset_reads_every_row_once(world, client):
    seen = []
    for offset in range(0, 60, 7):
        page = ok(
            client,
            "datastore_search",
            resource_id="verkeerstellingen-csv",
            limit=7,
            offset=offset,
            sort="car desc",
        )
        seen += [(r["hour"], r["car"]) for r in page["records"]]
    assert len(seen) == 48 and len(set(seen)) == 48
    assert [car for _h, car in seen] == sorted((car for _h, car in seen), reverse=True)
    # A page far in, asked first (no cursor remembered): the same rows.
    datastore._cursors.questions.clear()
    far = ok(
        client,
        "datastore_search",
        resource_id="verkeerstellingen-csv",
        limit=7,
        offset=35,
        sort="car desc",
    )
    assert [(r["hour"], r["car"]) for r in far["records"]] == seen[35:42]
    past = ok(client, "datastore_search", resource_id="verkeerstellingen-csv", offset=10**12)
    assert past["records"] == [] and past["total"] == 48


def test_datastore_filters_fields_sort_and_formats(world, client):
    rid = "verkeerstellingen-csv"
    exact = ok(client, "datastore_search", resource_id=rid, filters={"car": 5})
    assert exact["total"] == 2 and {r["car"] for r in exact["records"]} == {5.0}
    several = ok(client, "datastore_search", resource_id=rid, filters={"car": [1, 2, 3]})
    assert several["total"] == 6
    ranged = ok(client, "datastore_search", resource_id=rid, filters={"car": {"gte": 20}})
    assert ranged["total"] == 8
    by_get = call(
        client,
        "datastore_search",
        post=False,
        resource_id=rid,
        filters={"hour": "2025-03-02T23:00:00+00:00"},
    )[1]["result"]
    assert by_get["total"] == 1 and by_get["records"][0]["car"] == 23.0
    assert by_get["_links"]["next"].startswith("/api/3/action/datastore_search?resource_id=")
    narrow = ok(
        client, "datastore_search", resource_id=rid, fields="hour,car", limit=1, sort="hour desc"
    )
    assert narrow["records"] == [{"hour": "2025-03-02T23:00:00", "car": 23.0}]
    assert [f["id"] for f in narrow["fields"]] == ["hour", "car"]
    lists = ok(
        client,
        "datastore_search",
        resource_id=rid,
        fields=["car"],
        limit=2,
        records_format="lists",
        sort="_id",
    )
    assert lists["records"] == [[0.0], [1.0]]
    text = ok(client, "datastore_search", resource_id=rid, limit=2, records_format="csv")
    assert text["records"] == "9000001,2025-03-01T00:00:00,0.0\n9000001,2025-03-01T01:00:00,1.0\n"
    counted = ok(client, "datastore_search", resource_id=rid, limit=0)
    assert counted["records"] == [] and counted["total"] == 48 and len(counted["fields"]) == 3
    assert ok(client, "datastore_search", resource_id=rid, limit=10**9)["limit"] == 32000
    assert ok(client, "datastore_search", resource_id=rid, filters={"car": []})["total"] == 0


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "resource_id"),
        ({"q": "fiets"}, "q"),
        ({"full_text": "fiets"}, "full_text"),
        ({"distinct": True}, "distinct"),
        ({"filters": {"nope": 1}}, "filters"),
        ({"filters": "{broken"}, "filters"),
        ({"filters": [1, 2]}, "filters"),
        ({"filters": {"car": "veel"}}, "filters"),
        ({"filters": {"car": {"like": 1}}}, "filters"),
        ({"filters": {"hour": ["a,b", "c"]}}, "filters"),
        ({"fields": ["nope"]}, "fields"),
        ({"sort": "nope desc"}, "sort"),
        ({"sort": "car sideways"}, "sort"),
        ({"sort": "_id desc"}, "sort"),
        ({"offset": -1}, "offset"),
        ({"limit": -1}, "limit"),
        ({"limit": "alles"}, "limit"),
        ({"records_format": "xml"}, "records_format"),
        ({"bogus": 1}, "__junk"),
    ],
)
def test_bad_datastore_parameters_are_validation_errors(world, client, data, field):
    data = {"resource_id": "verkeerstellingen-csv", **data} if field != "resource_id" else data
    status, body = call(client, "datastore_search", **data)
    assert status == 409, body
    assert body["error"]["__type"] == "Validation Error"
    assert isinstance(body["error"][field], list) and body["error"][field][0]


# --- Personal API tokens ----------------------------------------------------------------------


def test_a_token_reads_what_its_owner_may_read(world, client):
    token = world["token"]
    assert call(client, "datastore_search", resource_id="regionaal-csv")[0] == 404
    for header in (token, f"Bearer {token}"):
        found = ok(client, "datastore_search", resource_id="regionaal-csv", token=header)
        assert found["total"] == 48
    legacy = client.post(
        "/api/3/action/datastore_search",
        {"resource_id": "regionaal-csv"},
        content_type="application/json",
        HTTP_X_CKAN_API_KEY=token,
    )
    assert legacy.status_code == 200
    assert call(client, "datastore_search", resource_id="intern-csv", token=token)[0] == 404
    # The catalogue stays the portal's: the token lists nothing more.
    assert ok(client, "package_list", token=token) == LISTED
    assert call(client, "package_show", id="regionaal", token=token)[0] == 404
    assert ok(client, "datastore_search", resource_id="afval-csv", token=token)["total"] == 48


def test_a_token_that_opens_nothing_is_an_authorization_error(world, client):
    for bad in ("rh_abcdefgh_" + "x" * 43, f"Bearer rh_{'z' * 8}_{'y' * 43}"):
        status, body = call(client, "package_search", token=bad)
        assert status == 403
        assert body["error"]["__type"] == "Authorization Error"
        assert body["error"]["message"].startswith("Access denied: This API token is not valid")
    found = api_tokens.tokens_of(world["analyst"]).get()
    api_tokens.revoke_token(found, world["analyst"])
    status, body = call(
        client, "datastore_search", resource_id="regionaal-csv", token=world["token"]
    )
    assert status == 403 and "revoked" in body["error"]["message"]
    # Someone else's scheme (HTTP Basic) is not a token: an anonymous answer.
    assert call(client, "package_list", token="Basic dXNlcjpwYXNz")[0] == 200


# --- Hostile input ------------------------------------------------------------------------------


def test_bodies_that_cannot_be_read(world, client):
    url = "/api/3/action/package_search"
    broken = client.post(url, "{not json", content_type="application/json")
    assert broken.status_code == 400
    assert json.loads(broken.content).startswith("Bad request: JSON Error: ")
    listed = client.post(url, "[1, 2]", content_type="application/json")
    assert listed.status_code == 400 and "dictionary" in json.loads(listed.content)
    latin = client.post(url, '{"q": "caf\xe9"}'.encode("latin-1"), content_type="application/json")
    assert latin.status_code == 400
    deep = client.post(url, "[" * 100_000 + "]" * 100_000, content_type="application/json")
    assert deep.status_code == 400
    huge = client.post(url, json.dumps({"q": "x" * (2 << 20)}), content_type="application/json")
    assert huge.status_code == 413 and json.loads(huge.content)["success"] is False
    nul = client.post(url, json.dumps({"q": "a\x00b"}), content_type="application/json")
    assert nul.status_code == 409 and json.loads(nul.content)["error"]["q"]
    nested = client.post(
        "/api/3/action/datastore_search",
        json.dumps({"resource_id": "afval-csv", "filters": {"car": "\x00"}}),
        content_type="application/json",
    )
    assert nested.status_code == 409
    query_nul = client.get("/api/3/action/package_search?q=a%00b")
    assert query_nul.status_code in (400, 409)  # refused before any view
    form = client.post(url, {"q": "verkeer", "rows": "1"})  # a form, as curl -d sends
    assert json.loads(form.content)["result"]["count"] == 1
    legacy = client.post(
        url,
        urlencode({json.dumps({"q": "afval"}): "1"}),
        content_type="application/x-www-form-urlencoded",
    )
    assert names(json.loads(legacy.content)["result"]) == ["afval"]


def test_no_session_no_cookie_no_csrf(world):
    client = Client(enforce_csrf_checks=True)
    before = Session.objects.count()
    response = client.post("/api/3/action/package_search", "{}", content_type="application/json")
    assert response.status_code == 200
    assert not response.cookies and "Set-Cookie" not in response
    assert "Authorization" in response["Vary"]
    token = client.post(
        "/api/3/action/datastore_search",
        {"resource_id": "regionaal-csv"},
        content_type="application/json",
        HTTP_AUTHORIZATION=world["token"],
    )
    assert token.status_code == 200 and not token.cookies
    assert "private" in token["Cache-Control"]
    assert Session.objects.count() == before


def test_jsonp_is_anonymous(world, client):
    response = client.get(
        "/api/3/action/package_list?callback=show", HTTP_AUTHORIZATION=world["token"]
    )
    assert response["Content-Type"].startswith("application/javascript")
    assert response.content.decode().startswith('show({"help"')
    assert client.get("/api/3/action/package_list?callback=alert(1)").status_code == 400


_anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_search_keys = st.sampled_from(
    [
        "q",
        "fq",
        "rows",
        "start",
        "sort",
        "facet.field",
        "facet.limit",
        "facet.mincount",
        "fl",
        "fq_list",
        "facet",
        "include_private",
    ]
)
_datastore_keys = st.sampled_from(
    [
        "filters",
        "fields",
        "sort",
        "limit",
        "offset",
        "include_total",
        "records_format",
        "q",
        "distinct",
    ]
)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(
    search=st.dictionaries(_search_keys, _anything, max_size=4),
    rows=st.dictionaries(_datastore_keys, _anything, max_size=4),
    fq=st.text(alphabet=' ():[]{}"*+-!abkorTO\\', max_size=40),
)
def test_no_input_gives_a_server_error(small_world, search, rows, fq):
    client = Client()
    for name, data in (
        ("package_search", search),
        ("package_search", {"fq": fq}),
        ("package_search", {"q": fq}),
        ("datastore_search", {**rows, "resource_id": "afval-csv"}),
    ):
        response = client.post(
            f"/api/3/action/{name}",
            json.dumps(data, allow_nan=False) if _finite(data) else "{}",
            content_type="application/json",
        )
        assert response.status_code < 500, (name, data, response.content[:500])


def _finite(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return False
    return True


@pytest.fixture
def small_world(db) -> None:
    published(town("KOR"), "afval", title="Ophaling huisvuil", keywords=["afval"])


# --- The real clients over HTTP -------------------------------------------------------------


def ckanapi_command() -> list[str]:
    return [str(Path(sys.executable).with_name("ckanapi"))]


def cli_env() -> dict[str, str]:
    """``ckanapi dump`` starts its workers as ``ckanapi`` from the PATH: the venv's."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_ckanapi_reads_the_catalogue_and_the_rows(world, live_server):
    import ckanapi

    portal = ckanapi.RemoteCKAN(live_server.url, user_agent="regiohub-test")
    found = portal.action.package_search(q="verkeer", rows=5, **{"facet.field": ["tags"]})
    assert [p["name"] for p in found["results"]] == ["verkeerstellingen"]
    package = portal.action.package_show(id="verkeerstellingen")
    assert package["resources"][0]["id"] == "verkeerstellingen-csv"
    rows = portal.action.datastore_search(
        resource_id="verkeerstellingen-csv", limit=5, filters={"car": 3}
    )
    assert rows["total"] == 2 and rows["records"][0]["car"] == 3.0
    with pytest.raises(ckanapi.NotFound):
        portal.action.package_show(id="concept")
    with pytest.raises(ckanapi.NotFound):
        portal.action.datastore_search(resource_id="regionaal-csv")
    with pytest.raises(ckanapi.ValidationError):
        portal.action.datastore_search(resource_id="verkeerstellingen-csv", q="auto")
    with pytest.raises(ckanapi.SearchQueryError):
        portal.action.package_search(sort="sideways")
    by_get = ckanapi.RemoteCKAN(live_server.url, get_only=True)
    assert by_get.action.package_list() == LISTED

    owner = ckanapi.RemoteCKAN(live_server.url, apikey=world["token"])
    assert owner.action.datastore_search(resource_id="regionaal-csv", limit=1)["total"] == 48
    assert owner.action.package_list() == LISTED
    stranger = ckanapi.RemoteCKAN(live_server.url, apikey="rh_nobody00_" + "x" * 43)
    with pytest.raises(ckanapi.NotAuthorized):
        stranger.action.package_list()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_ckanapi_dump_writes_every_listed_dataset(world, live_server, tmp_path):
    out = tmp_path / "datasets.jsonl"
    done = subprocess.run(
        [
            *ckanapi_command(),
            "dump",
            "datasets",
            "--all",
            "-r",
            live_server.url,
            "-p",
            "2",
            "-O",
            str(out),
            "-q",
            "--datastore-fields",
        ],
        env=cli_env(),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    dumped = [json.loads(line) for line in out.read_text().splitlines()]
    assert [d["name"] for d in dumped] == LISTED
    client = Client()
    for record in dumped:
        shown = ok(client, "package_show", id=record["name"])
        csv = next((r for r in record["resources"] if r["datastore_active"]), None)
        if csv is not None:  # --datastore-fields asked the DataStore for the columns
            assert [f["id"] for f in csv.pop("datastore_fields")] == ["segment_id", "hour", "car"]
        assert record == json.loads(json.dumps(shown))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_ckan_harvester_paging_loop_sees_every_dataset_once(world, live_server):
    """ckanext-harvest's CKANHarvester._search_for_datasets: rows/start, ``sort=id asc``,
    ``fq`` of organisations and ``metadata_modified:[<since>Z TO *]``, until a page is
    empty; a page equal to the one before is a paging error."""
    import requests

    menen = town("MEN")
    for n in range(9):
        harvested(f"extra-{n}", f"Extra {n}", menen, keywords=[f"extra{n}"])
    listed = {*LISTED, *(f"extra-{n}" for n in range(9))}

    def harvest(fq_terms: list[str]) -> list[dict[str, Any]]:
        base = f"{live_server.url}/api/3/action/package_search"
        parameters = {"rows": "4", "start": "0", "sort": "id asc"}
        if fq_terms:
            parameters["fq"] = " ".join(fq_terms)
        found: list[dict[str, Any]] = []
        seen: set[str] = set()
        previous = None
        while True:
            content = requests.get(f"{base}?{urlencode(parameters)}", timeout=30).text
            assert content != previous, "the paging does not seem to work"
            previous = content
            page = json.loads(content).get("result", {}).get("results", [])
            assert not {p["id"] for p in page} & seen  # every dataset once
            seen |= {p["id"] for p in page}
            found += page
            if not page:
                return found
            parameters["start"] = str(int(parameters["start"]) + int(parameters["rows"]))

    everything = harvest([])
    assert {p["name"] for p in everything} == listed and len(everything) == len(listed)
    assert [p["id"] for p in everything] == sorted(p["id"] for p in everything)
    since = (timezone.now() - timedelta(hours=1)).replace(tzinfo=None).isoformat()
    changed = harvest([f"metadata_modified:[{since}Z TO *]"])
    assert {p["name"] for p in changed} == listed
    assert harvest(["metadata_modified:[2999-01-01T00:00:00Z TO *]"]) == []
    included = harvest(["organization:kor OR organization:war"])
    assert {p["name"] for p in included} == {"afval", "fietstellingen", "verkeerstellingen"}
    excluded = harvest(["-organization:men", f"metadata_modified:[{since}Z TO *]"])
    assert {p["name"] for p in excluded} == {"afval", "fietstellingen", "verkeerstellingen"}
