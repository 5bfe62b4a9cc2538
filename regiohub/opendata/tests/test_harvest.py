"""Harvesting a municipality's catalogue: a local server (real sockets, real HTTP) serves
a DCAT-AP Vlaanderen export in two pages (Turtle, then RDF/XML, with Hydra paging), and
the portal lists its datasets with their original identifiers and links, keeps them in
step run after run, and never lets a broken, hostile or looping feed change anything."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rdflib import Graph

from regiohub.core.history import history_of
from regiohub.core.testing import FakeHandler, Received, local_server, run_tasks, staff_client
from regiohub.opendata import queries
from regiohub.opendata.admin import HarvestSourceForm
from regiohub.opendata.harvest import fetch, run
from regiohub.opendata.harvest.errors import HarvestBusy, HarvestTemporaryError
from regiohub.opendata.harvest.tasks import run_due_harvests
from regiohub.opendata.models import HarvestRun, HarvestSource, Publication, Source
from regiohub.opendata.tests.factories import open_dataset, town

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "harvest_fixtures"
PAGE_1 = "/catalog.ttl?page=1"
PAGE_2 = "/catalog.rdf?page=2"
PARKING = "3f6c1b9e-8a2d-4c57-9a0e-5b1d7c2e4f01"
BIKES = "9b2e7d44-1c3a-4e8f-b6d2-0a9c8e7f6d52"
WASTE = "c0d4a8e2-77f1-4b90-8e3c-2f5a6b1d9e33"
AED = "5a7e9c10-3b4d-4f62-a8e1-7c9d0b2f3a44"
POPULATION = "e8f1b2c3-9d4a-4a7b-8c6d-1e2f3a4b5c66"
ALL = {PARKING, BIKES, WASTE, AED, POPULATION}
KORTRIJK = "https://opendata.kortrijk.example"


# --- A local catalogue --------------------------------------------------------------------


@dataclass
class Answer:
    status: int = 200
    content_type: str = "text/turtle; charset=utf-8"
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    #: Without Content-Length: the body runs until the connection closes.
    streamed: bool = False


@dataclass
class FakeCatalogue:
    """What the municipality's portal answers, by path and query; tests change it."""

    url: str = ""
    answers: dict[str, Answer] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def serve(self, path: str, body: str | bytes, content_type: str, **options: Any) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.answers[path] = Answer(content_type=content_type, body=data, **options)

    def text(self, path: str) -> str:
        return self.answers[path].body.decode()

    def edit(self, path: str, old: str, new: str) -> None:
        text = self.text(path)
        assert old in text, old
        self.answers[path].body = text.replace(old, new).encode()

    def cut(self, path: str, pattern: str) -> None:
        """Remove what ``pattern`` (a regular expression) matches from a page."""
        text, n = re.subn(pattern, "", self.text(path), flags=re.S | re.M)
        assert n == 1, pattern
        self.answers[path].body = text.encode()

    def paths(self) -> list[str]:
        return [r.path for r in self.received]


def _handler(catalogue: FakeCatalogue) -> type[FakeHandler]:
    class Handler(FakeHandler):
        received = catalogue.received

        def do_GET(self) -> None:
            self.read_request()
            answer = catalogue.answers.get(self.path) or Answer(404, "text/plain", b"not found")
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                if not answer.streamed:
                    self.send_header("Content-Length", str(len(answer.body)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(answer.body)
            except OSError:  # the harvester stopped reading (a refused answer)
                pass

    return Handler


def export(name: str, base: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8").replace("@@CATALOGUE@@", base)


@pytest.fixture
def catalogue(settings: Any) -> Iterator[FakeCatalogue]:
    """Stad Kortrijk's export on 127.0.0.1, the one host the harvester may reach."""
    fake = FakeCatalogue()
    with local_server(_handler(fake)) as url:
        fake.url = url
        fake.serve(PAGE_1, export("kortrijk-page-1.ttl", url), "text/turtle; charset=utf-8")
        fake.serve(PAGE_2, export("kortrijk-page-2.rdf", url), "application/rdf+xml")
        settings.OPENDATA_HARVEST_HOSTS = ["127.0.0.1"]
        yield fake


@pytest.fixture
def source(catalogue: FakeCatalogue) -> HarvestSource:
    return HarvestSource.objects.create(
        name="Open data Stad Kortrijk", publisher=town("KOR"), url=catalogue.url + PAGE_1
    )


def harvested(source: HarvestSource) -> dict[str, Publication]:
    return {
        p.identifier: p
        for p in Publication.objects.filter(source=Source.HARVESTED, harvest_source_id=source.pk)
    }


def snapshot(source: HarvestSource) -> dict[str, tuple[Any, ...]]:
    return {
        i: (p.state, p.title, p.slug, p.updated_at, p.distributions)
        for i, p in harvested(source).items()
    }


# --- A first run, a second run ------------------------------------------------------------


def test_the_first_run_lists_every_dataset_with_its_original_identifiers_and_links(
    catalogue, source
):
    done = run.harvest(source.pk, trigger="test")

    assert (done.status, done.error, done.pages, done.found) == ("ok", "", 2, 5)
    assert (done.created, done.updated, done.withdrawn, done.unchanged) == (5, 0, 0, 0)
    assert catalogue.paths() == [PAGE_1, PAGE_2]
    assert "text/turtle" in catalogue.received[0].headers["Accept"]
    found = harvested(source)
    assert set(found) == ALL
    assert all(p.state == "published" and p.listed for p in found.values())
    assert {p.publisher.code for p in found.values()} == {"KOR"}

    parking = found[PARKING]
    assert parking.uri == f"{KORTRIJK}/dataset/parkeerplaatsen-andersvaliden"
    assert parking.landing_page == f"{KORTRIJK}/dataset/parkeerplaatsen-andersvaliden"
    assert parking.slug == "kor-parkeerplaatsen-voor-personen-met-een-handicap"
    assert parking.title == "Parkeerplaatsen voor personen met een handicap"  # nl before en
    assert parking.description.startswith("Locatie en aantal van de voorbehouden")
    assert parking.keywords == ["mobiliteit", "parkeren", "toegankelijkheid"]
    assert (parking.theme, parking.frequency) == ("TRAN", "MONTHLY")
    assert parking.licence == "MLGH"
    assert parking.licence_uri == (
        "https://data.vlaanderen.be/id/licentie/modellicentie-gratis-hergebruik/v1.0"
    )
    assert (parking.contact_name, parking.contact_email) == (
        "Dienst Mobiliteit",
        "mobiliteit@kortrijk.example",
    )
    assert parking.places == ["34022"]
    assert (parking.temporal_start, parking.temporal_end) == (date(2019, 1, 1), None)
    assert parking.issued == datetime(2019, 3, 14, 8, 12, tzinfo=UTC)
    assert parking.modified == datetime(2025, 11, 2, 5, 0, tzinfo=UTC)
    assert [(d["format"], d["media_type"], d["url"]) for d in parking.distributions] == [
        (
            "CSV",
            "text/csv",
            f"{KORTRIJK}/api/datasets/parkeerplaatsen-andersvaliden/exports/csv",
        ),
        (
            "GEOJSON",
            "application/geo+json",
            f"{KORTRIJK}/api/datasets/parkeerplaatsen-andersvaliden/exports/geojson",
        ),
    ]
    assert parking.distributions[0]["access_url"] == parking.landing_page
    assert parking.distributions[0]["title"] == "Parkeerplaatsen (CSV)"

    bikes = found[BIKES]
    assert bikes.title == "Fietstellingen Kortrijk"  # a title without a language
    assert bikes.licence == "CC-BY-4.0"  # named by its distributions
    assert bikes.frequency == "DAILY"
    assert (bikes.temporal_start, bikes.temporal_end) == (date(2021, 6, 1), date(2025, 12, 31))
    api = next(d for d in bikes.distributions if not d["download_url"])
    assert (api["format"], api["url"]) == (
        "JSON",
        f"{KORTRIJK}/api/datasets/fietstellingen/records",
    )

    waste = found[WASTE]
    assert waste.licence == "CC0-1.0"  # the EU licence authority's URI
    assert sorted(d["format"] for d in waste.distributions) == ["PDF", "XLSX"]
    assert waste.keywords == ["afval", "ophaling"]
    assert (waste.contact_name, waste.contact_email) == (
        "Dienst Omgeving",
        "omgeving@kortrijk.example",
    )

    aed = found[AED]
    assert aed.title == "Publicly accessible defibrillators (AED)"  # en before fr
    assert aed.keywords == ["AED", "health", "santé"]  # no nl: every language
    assert aed.licence == ""  # a licence the portal does not know keeps only its URI
    assert aed.licence_uri == f"{KORTRIJK}/licentie/gebruiksvoorwaarden"
    assert aed.frequency == "IRREG"  # Dublin Core's frequency
    assert [d["format"] for d in aed.distributions] == ["JSON"]  # from its media type
    assert aed.issued == timezone.make_aware(datetime(2022, 9, 29))

    population = found[POPULATION]
    assert population.licence == "MLGH"  # the dataset's own dct:license
    assert (population.temporal_start, population.temporal_end) == (
        date(2010, 1, 1),
        date(2025, 1, 1),
    )
    assert (population.theme, population.frequency) == ("SOCI", "ANNUAL")

    source.refresh_from_db()
    assert (source.last_created, source.last_error, source.leased_by) == (5, "", "")
    assert source.last_ok_at == source.last_run_at is not None
    assert [e.action for e in history_of(parking)] == ["publication.harvested"]
    assert history_of(parking)[0].actor_label == "harvest"


def test_a_second_run_changes_nothing(catalogue, source):
    run.harvest(source.pk)
    before = snapshot(source)
    entries = {i: history_of(p).count() for i, p in harvested(source).items()}

    again = run.harvest(source.pk)

    assert (again.status, again.created, again.updated, again.withdrawn, again.unchanged) == (
        "ok",
        0,
        0,
        0,
        5,
    )
    assert snapshot(source) == before
    assert {i: history_of(p).count() for i, p in harvested(source).items()} == entries
    source.refresh_from_db()
    assert (source.last_created, source.last_unchanged) == (0, 5)
    assert list(source.runs.values_list("status", flat=True)) == ["ok", "ok"]


def test_a_dataset_gone_from_the_export_is_withdrawn_and_an_edited_one_updated(catalogue, source):
    run.harvest(source.pk)
    slugs = {i: p.slug for i, p in harvested(source).items()}
    catalogue.edit(PAGE_1, '"Fietstellingen Kortrijk"', '"Fietstellingen Kortrijk en Leiedal"')
    catalogue.cut(
        PAGE_1,
        r"^<https://opendata\.kortrijk\.example/dataset/ophaalkalender-afval> a dcat:Dataset"
        r".*?\.\n\n",
    )

    done = run.harvest(source.pk)

    assert (done.created, done.updated, done.withdrawn, done.unchanged) == (0, 1, 1, 3)
    found = harvested(source)
    assert found[BIKES].title == "Fietstellingen Kortrijk en Leiedal"
    assert found[BIKES].slug == slugs[BIKES]  # the address stays
    assert found[WASTE].state == "withdrawn"  # kept, not deleted
    withdrawn = history_of(found[WASTE]).last()
    assert (withdrawn.action, withdrawn.reason) == (
        "publication.withdrawn",
        "no longer in the harvested catalogue",
    )
    edited = history_of(found[BIKES]).last()
    assert edited.action == "publication.harvested"
    assert edited.before == {"title": "Fietstellingen Kortrijk"}
    assert edited.after["fields"] == ["title"]

    # Back in the export: listed again, at the same address.
    catalogue.serve(PAGE_1, export("kortrijk-page-1.ttl", catalogue.url), "text/turtle")
    back = run.harvest(source.pk)
    assert (back.updated, back.withdrawn, back.unchanged) == (2, 0, 3)
    assert harvested(source)[WASTE].state == "published"
    assert harvested(source)[WASTE].slug == slugs[WASTE]


# --- Failures change nothing ------------------------------------------------------------


def test_a_failing_page_leaves_everything_as_after_the_last_run(catalogue, source):
    run.harvest(source.pk)
    before = snapshot(source)
    source.refresh_from_db()
    last_ok = source.last_ok_at
    # Page 1 changes, but page 2 fails: not even page 1's change is written.
    catalogue.edit(PAGE_1, '"Fietstellingen Kortrijk"', '"Fietstellingen (nieuw)"')
    catalogue.answers[PAGE_2] = Answer(
        500, "text/html", b"<h1>Internal error</h1><pre>Traceback: db password hunter2</pre>"
    )

    done = run.harvest(source.pk)

    assert done.status == "failed"
    assert done.error == "page 2: HTTP 500 from the catalogue"
    assert (done.created, done.updated, done.withdrawn) == (0, 0, 0)
    assert snapshot(source) == before
    source.refresh_from_db()
    assert source.last_error == "page 2: HTTP 500 from the catalogue"
    assert "hunter2" not in source.last_error + done.error + done.notes
    assert source.last_ok_at == last_ok
    assert source.leased_by == ""  # the lease is given back
    with pytest.raises(HarvestTemporaryError):  # a task tries again later
        run.harvest(source.pk, raise_temporary=True)


def test_paging_that_loops_back_stops(catalogue, source):
    catalogue.edit(
        PAGE_2,
        "<hydra:last ",
        f'<hydra:next rdf:resource="{catalogue.url}{PAGE_1}"/>\n        <hydra:last ',
    )

    done = run.harvest(source.pk)

    assert (done.status, done.pages, done.created) == ("ok", 2, 5)
    assert catalogue.paths() == [PAGE_1, PAGE_2]
    assert "leads back to a page already read" in done.notes


def test_a_last_page_that_names_itself_as_the_next_ends_the_catalogue(catalogue, source):
    catalogue.edit(
        PAGE_2,
        "<hydra:last ",
        f'<hydra:next rdf:resource="{catalogue.url}{PAGE_2}"/>\n        <hydra:last ',
    )

    done = run.harvest(source.pk)

    assert (done.status, done.pages, done.created, done.notes) == ("ok", 2, 5, "")


def test_the_same_page_under_another_address_ends_the_paging(catalogue, source):
    # A catalogue that ignores the page parameter answers page 1 for every page.
    catalogue.serve(PAGE_2, catalogue.answers[PAGE_1].body, "text/turtle")
    catalogue.edit(PAGE_1, "page=2", "page=2&x=1")  # so no address repeats
    catalogue.serve("/catalog.rdf?page=2&x=1", catalogue.answers[PAGE_1].body, "text/turtle")

    done = run.harvest(source.pk)

    assert (done.status, done.pages, done.created) == ("ok", 1, 3)
    assert "the same as a page already read" in done.notes


def test_more_pages_than_allowed_fail_the_run(catalogue, source, settings):
    settings.OPENDATA_HARVEST_MAX_PAGES = 1

    done = run.harvest(source.pk)

    assert done.status == "failed"
    assert "more than 1 pages" in done.error
    assert harvested(source) == {}


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (Answer(content_type="text/turtle", body=b"# " + b"x" * (2 << 20)), "larger than 1 MB"),
        (
            Answer(content_type="text/turtle", body=b"# " + b"x" * (2 << 20), streamed=True),
            "larger than 1 MB (REGIOHUB_OPENDATA_HARVEST_MAX_MB); reading stopped",
        ),
        (
            Answer(content_type="text/html", body=b"<!doctype html><title>Open data</title>"),
            "page 1: the answer is a web page (text/html), not an RDF catalogue",
        ),
        (
            Answer(content_type="text/plain", body=b"Dit is geen RDF: <a href=x>klik</a>"),
            "page 1: the answer could not be read as Turtle",
        ),
        (
            Answer(content_type="application/json", body=b'{"error": "not found"}'),
            "the feed lists no dcat:Dataset; nothing was withdrawn",
        ),
        (Answer(404, "text/plain", b"Not Found"), "page 1: HTTP 404 from the catalogue"),
    ],
    ids=["huge", "huge-streamed", "html", "not-rdf", "no-datasets", "404"],
)
def test_an_answer_that_is_not_a_catalogue_is_refused(catalogue, source, settings, answer, message):
    settings.OPENDATA_HARVEST_MAX_MB = 1
    run.harvest(source.pk)
    before = snapshot(source)
    catalogue.answers[PAGE_1] = answer

    done = run.harvest(source.pk)

    assert done.status == "failed"
    assert message in done.error
    assert "klik" not in done.error and "Open data" not in done.error
    assert snapshot(source) == before  # nothing withdrawn


def test_a_redirect_to_a_private_address_is_not_followed(catalogue, source):
    port = catalogue.url.rsplit(":", 1)[1]
    catalogue.answers[PAGE_1] = Answer(
        302, "text/plain", headers={"Location": "http://169.254.169.254/latest/meta-data/"}
    )
    done = run.harvest(source.pk)
    assert done.status == "failed"
    assert "redirected to an address that is not allowed" in done.error
    assert "169.254.169.254 is not an allowed host" in done.error

    # localhost is this machine too, but not the host the installation named.
    catalogue.answers[PAGE_1].headers["Location"] = f"http://localhost:{port}{PAGE_2}"
    assert "localhost is not an allowed host" in run.harvest(source.pk).error
    assert catalogue.paths() == [PAGE_1, PAGE_1]

    # A redirect to an allowed address is followed.
    catalogue.answers[PAGE_1].headers["Location"] = "/catalog.ttl?page=1&moved=1"
    catalogue.serve(
        "/catalog.ttl?page=1&moved=1", export("kortrijk-page-1.ttl", catalogue.url), "text/turtle"
    )
    assert run.harvest(source.pk).created == 5


def test_without_a_list_only_public_addresses_are_asked(catalogue, source, settings, monkeypatch):
    settings.OPENDATA_HARVEST_HOSTS = []
    port = catalogue.url.rsplit(":", 1)[1]

    refused = run.harvest(source.pk)
    source.url = f"http://localhost:{port}{PAGE_1}"  # a name that resolves to loopback
    source.save()
    resolved = run.harvest(source.pk)

    assert refused.error == "page 1: 127.0.0.1 is an internal address; nothing was sent there"
    assert resolved.error == (
        "page 1: localhost resolves to an internal address; only a host named in "
        "REGIOHUB_OPENDATA_HARVEST_HOSTS may"
    )
    assert catalogue.received == []
    # Through a proxy the address a name resolves to cannot be checked: hosts must be named.
    for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.intern.example:3128")
    source.url = "http://opendata.kortrijk.example/catalog.ttl"
    source.save()
    assert "requests go through a proxy" in run.harvest(source.pk).error
    for address in ("10.1.2.3", "192.168.0.1", "169.254.169.254", "::1", "fd00::1", "0.0.0.0"):  # noqa: S104
        assert fetch.internal(address), address
    assert not fetch.internal("193.191.200.10")


def test_hostile_text_and_links_are_cleaned(catalogue, source):
    catalogue.serve(
        PAGE_1,
        """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
<https://opendata.kortrijk.example/dataset/x> a dcat:Dataset ;
    dct:identifier "x-1" ;
    dct:title "Zitbanken\\u0000 in\\tde   stad%s"@nl ;
    dct:description "Regel een\\u0000\\nregel twee" ;
    dcat:keyword "bank\\u0007en" ;
    dcat:landingPage <javascript:alert(1)> ;
    dcat:contactPoint [ vcard:fn "Dienst" ; vcard:hasEmail "geen adres" ] ;
    dcat:distribution [ dcat:accessURL <https://opendata.kortrijk.example/x.csv> ;
        dcat:downloadURL <data:text/html,hi> ; dct:format "CSV<script>" ] ,
        [ dcat:accessURL <ftp://opendata.kortrijk.example/x.zip> ] .
[] a dcat:Dataset ; dct:title "No identifier" .
<https://opendata.kortrijk.example/dataset/y> a dcat:Dataset ;
    dct:identifier "x-1" ; dct:title "Same identifier" .
"""
        % ("!" * 500),
        "text/turtle",
    )

    done = run.harvest(source.pk)

    assert (done.status, done.created, done.skipped) == ("ok", 1, 2)
    assert "without dct:identifier or URI" in done.notes
    assert "'x-1' is repeated" in done.notes
    bench = harvested(source)["x-1"]
    assert bench.title.startswith("Zitbanken in de stad!!!") and len(bench.title) == 300
    assert bench.description == "Regel een\nregel twee"
    assert bench.keywords == ["bank en"]
    assert bench.landing_page == ""
    assert (bench.contact_name, bench.contact_email) == ("Dienst", "")
    assert bench.distributions == [
        {
            "title": "",
            "description": "",
            "url": "https://opendata.kortrijk.example/x.csv",
            "access_url": "https://opendata.kortrijk.example/x.csv",
            "download_url": "",
            "format": "CSVSCRIPT",
            "media_type": "",
            "licence": "",
        }
    ]


def test_json_ld_is_read_but_a_remote_context_is_not_fetched(catalogue, source):
    graph = Graph().parse(data=catalogue.text(PAGE_2), format="xml")
    catalogue.serve(PAGE_1, graph.serialize(format="json-ld"), "application/ld+json")
    assert run.harvest(source.pk).created == 2

    remote = {"@context": f"{catalogue.url}/context.jsonld", "@graph": []}
    catalogue.serve(PAGE_1, json.dumps(remote), "application/ld+json")
    done = run.harvest(source.pk)
    assert "remote @context" in done.error
    assert "/context.jsonld" not in catalogue.paths()


def test_rdf_xml_entities_are_not_fetched(catalogue, source):
    page = catalogue.text(PAGE_2).replace(
        "<rdf:RDF",
        f'<!DOCTYPE rdf:RDF [ <!ENTITY secret SYSTEM "{catalogue.url}/secret"> ]>\n<rdf:RDF',
        1,
    )
    page = page.replace("Bevolking per statistische sector<", "Bevolking &secret;<")
    catalogue.serve(PAGE_1, page, "application/rdf+xml")

    done = run.harvest(source.pk)

    assert "/secret" not in catalogue.paths()
    assert done.status == "ok", done.error  # read without the external entity
    assert harvested(source)[POPULATION].title == "Bevolking"


# --- One run at a time, on a schedule, by command -----------------------------------------


def test_a_source_held_by_a_run_is_not_harvested_twice(catalogue, source):
    token = run.claim(source.pk)
    assert token is not None
    assert run.claim(source.pk) is None
    with pytest.raises(HarvestBusy):
        run.harvest(source.pk)
    assert catalogue.received == []
    assert not HarvestSource.objects.get(pk=source.pk).is_due()

    run.release(source.pk, token)
    assert run.harvest(source.pk).created == 5
    # A lease left by a worker that died expires.
    HarvestSource.objects.filter(pk=source.pk).update(
        leased_until=timezone.now() - timedelta(seconds=1), leased_by="dead"
    )
    HarvestRun.objects.create(source=source, trigger="schedule")  # left "running"
    assert run.harvest(source.pk).unchanged == 5
    assert source.runs.filter(status="running").count() == 0
    with pytest.raises(HarvestSource.DoesNotExist):
        run.harvest(source.pk + 1000)


def test_the_scheduler_starts_the_sources_that_are_due(catalogue, source):
    idle = HarvestSource.objects.create(
        name="Uit", publisher=town("WAR"), url=catalogue.url + "/nothing", enabled=False
    )

    assert run_due_harvests.call() == 1
    assert run_due_harvests.call() == 0  # marked, not started twice
    run_tasks()

    assert len(harvested(source)) == 5
    assert HarvestRun.objects.filter(source=idle).count() == 0
    assert source.runs.get().trigger == "schedule"
    source.refresh_from_db()
    assert not source.is_due()
    assert source.is_due(timezone.now() + timedelta(hours=24, minutes=1))


def test_the_command_harvests_now(catalogue, source, capsys):
    call_command("harvest", "--source", str(source.pk))
    assert "Open data Stad Kortrijk: 5 created, 0 updated, 0 withdrawn" in capsys.readouterr().out

    catalogue.answers[PAGE_2] = Answer(503, "text/plain", b"busy")
    with pytest.raises(CommandError, match="1 of 1 sources could not be harvested"):
        call_command("harvest", "--all")
    assert "page 2: HTTP 503" in capsys.readouterr().err
    with pytest.raises(CommandError):
        call_command("harvest")


def test_the_admin_checks_the_address_and_harvests_now(catalogue, source, superuser):
    form = HarvestSourceForm(
        data={
            "name": "Elders",
            "publisher": source.publisher_id,
            "url": "https://data.elders.example/catalog.ttl",
            "format": "auto",
            "interval_hours": 24,
            "enabled": "on",
        }
    )
    assert not form.is_valid()
    assert "is not an allowed host" in form.errors["url"][0]

    client = staff_client(superuser)
    answer = client.post(
        "/admin/opendata/harvestsource/",
        {"action": "harvest_now", "_selected_action": [source.pk]},
    )
    assert answer.status_code == 302
    run_tasks()
    assert source.runs.get().trigger == "admin"

    answer = client.post(
        "/admin/opendata/harvestsource/",
        {"action": "stop_and_withdraw", "_selected_action": [source.pk]},
    )
    assert answer.status_code == 302
    assert {p.state for p in harvested(source).values()} == {"withdrawn"}
    assert not HarvestSource.objects.get(pk=source.pk).enabled
    assert client.get(f"/admin/opendata/harvestsource/{source.pk}/change/").status_code == 200
    assert client.get("/admin/opendata/harvestsource/add/").status_code == 200


# --- What visitors see ----------------------------------------------------------------------


def test_harvested_datasets_are_found_and_faceted_and_nothing_unlisted_leaks(catalogue, source):
    open_dataset(town("KOR"), "verkeerstellingen")  # a local draft: not listed
    run.harvest(source.pk)
    catalogue.cut(
        PAGE_2,
        r"<dcat:dataset>\s*<dcat:Dataset rdf:about=\"[^\"]*aed-toestellen\".*?</dcat:dataset>",
    )
    run.harvest(source.pk)  # the AED dataset is withdrawn

    page = queries.search_catalogue(limit=100)
    facets = {f.name: {v.value: v.count for v in f.values} for f in page.facets}
    listed = {p.identifier for p in page.results}

    assert listed == ALL - {AED}
    assert page.total == 4
    assert facets["publisher"] == {"KOR": 4}
    assert facets["format"] == {"CSV": 3, "GEOJSON": 1, "JSON": 1, "PDF": 1, "XLSX": 1}
    assert facets["licence"] == {"MLGH": 2, "CC-BY-4.0": 1, "CC0-1.0": 1}
    assert [p.identifier for p in queries.search_catalogue("fietstelling").results] == [BIKES]
    assert [p.identifier for p in queries.search_catalogue("afval").results] == [WASTE]
    assert queries.search_catalogue("defibrillators").total == 0
    aed = harvested(source)[AED]
    assert queries.entry(aed.slug) is None
    assert queries.search_catalogue(chosen={"format": ["JSON"]}).total == 1
    assert queries.entry(harvested(source)[PARKING].slug) is not None
    assert not Publication.objects.filter(slug="verkeerstellingen", state="published").exists()
