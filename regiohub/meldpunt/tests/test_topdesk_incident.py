"""What a TOPdesk incident says: the caller TOPdesk knows (or the configured default), the
citizen's text escaped for TOPdesk's HTML, fields that fit TOPdesk's lengths, and the
photos as attachments. Pushed again, it adds nothing twice."""

from __future__ import annotations

import io
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from regiohub.core.testing import run_tasks
from regiohub.meldpunt.contrib.topdesk import fake as topdesk
from regiohub.meldpunt.contrib.topdesk.connector import TopdeskConnector, utf16_len
from regiohub.meldpunt.contrib.topdesk.fake import fake_topdesk, settings_for
from regiohub.meldpunt.contrib.topdesk.tasks import push_topdesk_update
from regiohub.meldpunt.models import ConnectorConfig, Delivery
from regiohub.meldpunt.photos import process_photo
from regiohub.meldpunt.services import citizen
from regiohub.meldpunt.tests.factories import file_report

pytestmark = pytest.mark.django_db


def connect(organisation, fake, **settings) -> ConnectorConfig:
    return ConnectorConfig.objects.create(
        name="TOPdesk Kortrijk",
        organisation=organisation,
        connector="topdesk",
        settings=settings_for(fake, **settings),
    )


def posted_incident(fake) -> dict:
    (post,) = [r for r in fake.received if (r.method, r.path) == ("POST", "/tas/api/incidents")]
    return post.json()


def jpeg(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def test_a_reporter_topdesk_knows_is_the_caller(categories):
    with fake_topdesk() as fake:
        connect(categories["KOR"], fake, include_contact=True)
        file_report(reporter_email=topdesk.PERSON_EMAIL, reporter_name="An Peeters")
        run_tasks()
    (search,) = [r for r in fake.received if urlsplit(r.path).path == "/tas/api/persons"]
    assert parse_qs(urlsplit(search.path).query)["query"] == [f'email=="{topdesk.PERSON_EMAIL}"']
    body = posted_incident(fake)
    assert body["callerLookup"] == {"id": topdesk.PERSON_ID} and "caller" not in body
    assert fake.only_incident()["caller"]["id"] == topdesk.PERSON_ID


def test_a_reporter_topdesk_does_not_know_is_an_unregistered_caller_of_the_branch(categories):
    with fake_topdesk() as fake:
        connect(categories["KOR"], fake, include_contact=True, branch=topdesk.BRANCH_ID)
        file_report(reporter_name="Jan Janssens", reporter_phone="056 27 00 00")
        run_tasks()
    assert posted_incident(fake)["caller"] == {
        "dynamicName": "Jan Janssens",
        "branch": {"id": topdesk.BRANCH_ID},
        "email": "burger@example.org",
        "phoneNumber": "056270000",
    }
    assert fake.only_incident()["caller"]["branch"]["name"] == "Stadhuis Kortrijk"


def test_without_include_contact_the_default_caller_and_no_address_leaves(categories):
    with fake_topdesk() as fake:
        connect(categories["KOR"], fake, default_caller=topdesk.DEFAULT_PERSON_ID)
        file_report(reporter_email=topdesk.PERSON_EMAIL)
        run_tasks()
    assert not [r for r in fake.received if "/persons" in r.path]  # not even looked up
    body = posted_incident(fake)
    assert body["callerLookup"] == {"id": topdesk.DEFAULT_PERSON_ID}
    assert topdesk.PERSON_EMAIL not in str(body)


def test_without_a_default_caller_the_branch_takes_an_unregistered_caller(categories):
    with fake_topdesk() as fake:
        connect(categories["KOR"], fake, default_caller=None, branch=topdesk.BRANCH_ID)
        file_report()
        run_tasks()
    assert posted_incident(fake)["caller"] == {
        "dynamicName": "regiohub",
        "branch": {"id": topdesk.BRANCH_ID},
    }


def test_the_citizens_text_arrives_escaped_and_shows_as_typed(categories):
    description = "Kijk: <script>alert('x')</script> & <b>vet</b>\r\nTweede lijn\nDerde"
    with fake_topdesk() as fake:
        connect(categories["KOR"], fake)
        file_report(description=description, address="Grote Markt 1 <Kortrijk>")
        run_tasks()
    request = posted_incident(fake)["request"]
    assert request == (
        "Kijk: &lt;script&gt;alert('x')&lt;/script&gt; &amp; &lt;b&gt;vet&lt;/b&gt;"
        "<br>Tweede lijn<br>Derde<br><br>Grote Markt 1 &lt;Kortrijk&gt;"
    )
    shown = fake.only_incident()["request"]  # as TOPdesk shows it
    assert shown == description.replace("\r\n", "\n") + "\n\nGrote Markt 1 <Kortrijk>"


def test_fields_fit_topdesks_lengths_counted_as_topdesk_counts(categories):
    """80 characters for the brief description, counted in UTF-16 units: an emoji is
    two. A long name of an unregistered caller is cut to 109, a long phone left out."""
    description = "🕳️" * 60 + " diep gat"
    with fake_topdesk() as fake:
        connect(categories["KOR"], fake, include_contact=True, branch=topdesk.BRANCH_ID)
        report = file_report(
            description=description, reporter_name="Van " * 40, reporter_phone="+32 " * 9
        )
        run_tasks()
    body = posted_incident(fake)
    assert fake.counts["refused"] == 0 and fake.counts["incident"] == 1
    assert body["briefDescription"].startswith(report.reference)
    assert body["briefDescription"].endswith("…")
    assert 79 <= utf16_len(body["briefDescription"]) <= 80
    assert utf16_len(body["caller"]["dynamicName"]) <= 109
    assert "phoneNumber" not in body["caller"]
    assert Delivery.objects.get(report=report).state == "sent"


def test_photos_arrive_as_attachments_once_even_when_pushed_again(categories):
    photos = [process_photo(ContentFile(jpeg(c)), name=f"{c}.jpg") for c in ("red", "blue")]
    with fake_topdesk() as fake:
        config = connect(categories["KOR"], fake)
        report = file_report(photos=photos)
        run_tasks()
        incident = fake.only_incident()
        # A retry whose first answer was lost: no second incident, no second photo.
        assert TopdeskConnector(config).push(report, event_id="again") == incident["id"]
    assert fake.counts["incident"] == 1 and fake.counts["attachment"] == 2
    stored = [photo.file.open("rb").read() for photo in report.photos.all()]
    sent = [a["content"] for a in incident["attachments"]]
    assert sent == stored and all(sent)
    names = [a["fileName"] for a in incident["attachments"]]
    assert names == [f"{report.reference}-photo-{p.pk}.jpg" for p in report.photos.all()]
    posts = [r for r in fake.received if r.path.endswith("/attachments") and r.method == "POST"]
    assert all("multipart/form-data" in r.headers["Content-Type"] for r in posts)


def test_a_photo_added_later_is_attached_once(categories):
    with fake_topdesk() as fake:
        connect(categories["KOR"], fake)
        report = file_report()
        run_tasks()
        citizen.add_photos(report, [process_photo(ContentFile(jpeg("green")), name="g.jpg")])
        run_tasks()
        (photo,) = report.photos.all()
        delivery = Delivery.objects.get(report=report)
        assert push_topdesk_update.call(delivery.pk, "photo", photo.pk) == "was there"
    (attachment,) = fake.only_incident()["attachments"]
    assert attachment["content"] == photo.file.open("rb").read()
    assert fake.counts["attachment"] == 1
