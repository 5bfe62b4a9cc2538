"""Anybody tells what they built on a dataset; it shows once a steward of the publisher
approved it; the person's name and e-mail never show and can be exported and erased."""

from __future__ import annotations

import pytest
from django.test import Client

from regiohub.core.models import HistoryEntry
from regiohub.core.testing import staff_client
from regiohub.opendata.models import Reuse
from regiohub.opendata.privacy import PrivacyHandler
from regiohub.opendata.tests.factories import published, steward, town

pytestmark = pytest.mark.django_db

FORM = {
    "kind": "app",
    "title": "Fietsdrukte Kortrijk",
    "url": "https://fiets.example.org/",
    "description": "Hoe druk is het op de fietspaden, per uur.",
    "submitter_name": "Sam Ontwikkelaar",
    "submitter_email": "sam@example.org",
}


def test_a_reuse_shows_after_the_publisher_approves_it():
    kortrijk = town("KOR")
    published(kortrijk)
    visitor = Client()
    sent = visitor.post("/open/verkeerstellingen/reuses/new/", FORM, follow=True)
    assert "The data team checks it" in sent.content.decode()
    page = visitor.get("/open/verkeerstellingen/").content.decode()
    assert "Fietsdrukte Kortrijk" not in page  # not yet
    other = staff_client(steward(town("WAR")))
    assert "Fietsdrukte" not in other.get("/staff/open/reuses/").content.decode()
    reuse = Reuse.objects.get()
    assert (
        other.post(f"/staff/open/reuses/{reuse.pk}/review/", {"decision": "approve"}).status_code
        == 404
    )
    mine = staff_client(steward(kortrijk))
    listing = mine.get("/staff/open/reuses/").content.decode()
    assert "Fietsdrukte Kortrijk" in listing and "sam@example.org" in listing
    mine.post(f"/staff/open/reuses/{reuse.pk}/review/", {"decision": "approve"})
    page = visitor.get("/open/verkeerstellingen/").content.decode()
    assert "Fietsdrukte Kortrijk" in page and "sam@example.org" not in page
    assert "Sam Ontwikkelaar" not in page
    assert "Fietsdrukte Kortrijk" in visitor.get("/open/reuses/").content.decode()
    assert HistoryEntry.objects.filter(action__startswith="reuse.").count() == 2


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("url", "javascript:alert(1)"),
        ("url", "ftp://example.org/x"),
        ("title", ""),
        ("title", "x" * 201),
        ("kind", "virus"),
        ("submitter_email", "not-an-address"),
        ("description", "y" * 5000),
    ],
)
def test_bad_reuses_are_refused_with_the_field_named(field, value):
    published(town("KOR"))
    response = Client().post("/open/verkeerstellingen/reuses/new/", {**FORM, field: value})
    assert response.status_code == 200
    assert f'href="#id_{field}"' in response.content.decode()
    assert not Reuse.objects.exists()


def test_nul_bytes_and_unknown_datasets():
    published(town("KOR"))
    client = Client()
    response = client.post("/open/verkeerstellingen/reuses/new/", {**FORM, "title": "a\x00b"})
    assert response.status_code in (200, 302, 400)
    assert client.get("/open/bestaat-niet/reuses/new/").status_code == 404


def test_too_many_reuses_from_one_address(settings):
    settings.OPENDATA_REUSE_RATE = "2/hour"
    from django.core.cache import cache

    cache.clear()
    published(town("KOR"))
    client = Client()
    codes = [client.post("/open/verkeerstellingen/reuses/new/", FORM).status_code for _ in range(3)]
    assert codes[-1] == 429


def test_the_submitter_can_see_and_erase_their_data():
    published(town("KOR"))
    Client().post("/open/verkeerstellingen/reuses/new/", FORM)
    handler = PrivacyHandler()
    assert handler.export("SAM@example.org")["reuses"][0]["name"] == "Sam Ontwikkelaar"
    assert handler.erase("sam@example.org", actor_label="privacy") == 1
    reuse = Reuse.objects.get()
    assert reuse.submitter_email == "" and reuse.title == "Fietsdrukte Kortrijk"
    assert handler.export("sam@example.org") == {}
