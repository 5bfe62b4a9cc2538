"""Addresses on the map: a typed address is looked up in the address register (a local fake
speaking its wire format) and the citizen confirms the match before anything is filed;
a photo's position is offered, never kept unless chosen; reports filed by address alone are
placed afterwards when the register is sure; with no geocoder, the form says so."""

from __future__ import annotations

import io

import pytest
from django.test import override_settings
from PIL import Image

from regiohub.core.geocoding.fake import ADDRESSES, fake_address_register
from regiohub.core.models import HistoryEntry
from regiohub.core.testing import run_tasks
from regiohub.meldpunt.events import Action
from regiohub.meldpunt.models import Photo, Report
from regiohub.meldpunt.services import submit_report
from regiohub.meldpunt.tests.test_public_form import form_data

pytestmark = pytest.mark.django_db

URL = "/melden/"
GROTE_MARKT = next(
    a for a in ADDRESSES if a.municipality == "Kortrijk" and a.street == "Grote Markt"
)
DOORNIKSESTRAAT = next(a for a in ADDRESSES if a.street == "Doorniksestraat")


@pytest.fixture
def register():
    with (
        fake_address_register() as fake,
        override_settings(
            GEOCODER="vlaanderen", GEOCODER_SETTINGS=fake.settings(timeout_seconds=0.5)
        ),
    ):
        yield fake


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def typed(address: str = "Grote Markt 1", municipality: str = "KOR", **extra: object) -> dict:
    return form_data(latitude="", longitude="", address=address, municipality=municipality, **extra)


def options(response) -> list:
    return response.context["question"].options


def test_without_a_geocoder_the_form_says_so_and_files_as_before(client, categories):
    page = client.get(URL, HTTP_ACCEPT_LANGUAGE="en")
    assert "Addresses are not looked up on this site" in page.content.decode()
    response = client.post(URL, typed())
    assert response.status_code == 302
    report = Report.objects.get()
    assert report.location_is_approximate
    assert report.location_source == "municipality"
    assert report.address_register_id == ""


def test_a_typed_address_is_confirmed_before_it_is_filed(client, categories, register):
    response = client.post(URL, typed(), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert not Report.objects.exists()
    html = response.content.decode()
    assert "Did you mean" in html
    labels = [option.label for option in options(response)]
    assert labels[0] == GROTE_MARKT.label
    assert labels[-1].startswith("None of these")
    # The page carries the address asked about; the citizen chooses and sends again.
    data = {**typed(), "place_checked": "Grote Markt 1", "place_choice": options(response)[0].value}
    response = client.post(URL, data)
    assert response.status_code == 302
    report = Report.objects.get()
    assert not report.location_is_approximate and report.place_known
    assert report.location_source == "address"
    assert report.address_register_id == GROTE_MARKT.uri
    assert abs(report.latitude - GROTE_MARKT.latitude) < 1e-4
    assert abs(report.longitude - GROTE_MARKT.longitude) < 1e-4
    assert report.district_code  # a real point has a district


def test_keeping_the_address_as_typed_files_it_approximately(client, categories, register):
    first = client.post(URL, typed())
    data = {**typed(), "place_checked": "Grote Markt 1", "place_choice": "typed"}
    assert first.status_code == 200
    response = client.post(URL, data)
    assert response.status_code == 302
    report = Report.objects.get()
    assert report.location_is_approximate and report.location_source == "municipality"


def test_sending_again_without_choosing_asks_again_with_an_error(client, categories, register):
    data = {**typed(), "place_checked": "Grote Markt 1", "place_choice": ""}
    response = client.post(URL, data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response.context["question"].error
    assert not Report.objects.exists()


def test_a_changed_address_is_looked_up_again(client, categories, register):
    data = {
        **typed("Doorniksestraat 45"),
        "place_checked": "Grote Markt 1",
        "place_choice": "typed",
    }
    response = client.post(URL, data)
    assert response.status_code == 200
    assert options(response)[0].label == DOORNIKSESTRAAT.label


@pytest.mark.parametrize(
    "value",
    ["not-signed", "eyJsYXQiOjUxfQ:1abc:forged", "typed\x00", "x" * 999],
)
def test_a_forged_choice_never_places_the_report(client, categories, register, value):
    data = {**typed(), "place_checked": "Grote Markt 1", "place_choice": value}
    response = client.post(URL, data)
    assert response.status_code in (200, 400)
    assert not Report.objects.exists()


@pytest.mark.parametrize(
    ("mode", "wording"),
    [("none", "could not find this address"), ("error", "did not answer"),
     ("slow", "did not answer")],
)  # fmt: skip
def test_no_match_or_a_failing_register_offers_to_send_as_typed(
    client, categories, register, mode, wording
):
    register.mode = mode
    register.delay = 1.5
    response = client.post(URL, typed(), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert wording in response.context["question"].message
    assert [o.value for o in options(response)] == ["typed"]
    response = client.post(
        URL, {**typed(), "place_checked": "Grote Markt 1", "place_choice": "typed"}
    )
    assert response.status_code == 302
    assert Report.objects.get().location_is_approximate


def gps_jpeg(latitude: float, longitude: float) -> io.BytesIO:
    """A phone photo with its position in the EXIF GPS block."""

    def dms(value: float) -> tuple[float, float, float]:
        degrees = int(value)
        minutes = int((value - degrees) * 60)
        return (degrees, minutes, round(((value - degrees) * 60 - minutes) * 60, 2))

    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", dms(latitude), "E", dms(longitude)
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(buffer, "JPEG", exif=exif)
    buffer.seek(0)
    buffer.name = "IMG_0002.jpg"
    return buffer


def test_a_photo_position_is_offered_and_kept_only_when_chosen(client, categories, register):
    where = (DOORNIKSESTRAAT.latitude, DOORNIKSESTRAAT.longitude)
    data = form_data(latitude="", longitude="", address="", municipality="")
    response = client.post(URL, {**data, "photos": [gps_jpeg(*where)]}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, response.context["form"].errors
    offered = options(response)
    assert offered[0].label == "The place where your photo was taken"
    assert DOORNIKSESTRAAT.label in offered[0].detail
    assert response.context["photos_kept"] == 1
    stash = response.context["form"].data["photo_stash"]
    assert stash and not Report.objects.exists()
    # Chosen, with the photo kept from the first step (not chosen again).
    response = client.post(URL, {**data, "photo_stash": stash, "place_choice": offered[0].value})
    assert response.status_code == 302
    report = Report.objects.get()
    assert report.location_source == "photo"
    assert abs(report.latitude - where[0]) < 1e-4
    photo = Photo.objects.get(report=report)
    assert not Image.open(io.BytesIO(photo.file.read())).getexif()


def test_a_declined_photo_position_is_not_kept(client, categories, register):
    where = (DOORNIKSESTRAAT.latitude, DOORNIKSESTRAAT.longitude)
    data = typed("Grote Markt 1")
    response = client.post(URL, {**data, "photos": [gps_jpeg(*where)]})
    assert options(response)[0].label == "The place where your photo was taken"
    stash = response.context["form"].data["photo_stash"]
    response = client.post(
        URL, {**data, "photo_stash": stash, "place_checked": "Grote Markt 1",
              "place_choice": "typed"},
    )  # fmt: skip
    assert response.status_code == 302
    report = Report.objects.get()
    assert report.location_is_approximate
    assert abs(report.latitude - where[0]) > 1e-3  # the municipality's centre, not the photo
    assert report.photos.count() == 1


def test_the_form_script_endpoints(client, categories, register):
    found = client.get("/melden/adressen/", {"q": "Doorniks"}).json()
    assert found["state"] == "found"
    assert found["places"][0]["label"].startswith("Doorniksestraat")
    matched = client.get(
        "/melden/adressen/", {"q": "Grote Markt 1", "municipality": "KOR", "match": "1"}
    ).json()
    assert [p["label"] for p in matched["places"]] == [GROTE_MARKT.label]
    near = client.get(
        "/melden/plaats/", {"lat": GROTE_MARKT.latitude + 0.0001, "lng": GROTE_MARKT.longitude}
    ).json()
    assert near["place"]["label"] == GROTE_MARKT.label
    assert near["municipality"] == "Kortrijk"
    assert client.get("/melden/plaats/", {"lat": "nan", "lng": "1"}).json() == {"place": None}
    outside = client.get("/melden/plaats/", {"lat": "51.2194", "lng": "4.4025"}).json()
    assert outside == {"place": None, "inside": False}
    photo = client.post(
        "/melden/foto-plaats/",
        {"photo": gps_jpeg(DOORNIKSESTRAAT.latitude, DOORNIKSESTRAAT.longitude)},
    ).json()
    assert photo["position"]["label"] == DOORNIKSESTRAAT.label
    junk = io.BytesIO(b"\x00" * 100)
    junk.name = "x.jpg"
    assert client.post("/melden/foto-plaats/", {"photo": junk}).json() == {"position": None}
    assert client.post("/melden/foto-plaats/", {}).status_code == 400


def test_without_a_geocoder_the_endpoints_say_off(client, categories):
    assert client.get("/melden/adressen/", {"q": "Grote Markt"}).json()["state"] == "off"
    near = client.get("/melden/plaats/", {"lat": "50.828", "lng": "3.2649"}).json()
    assert near["place"] is None and near["municipality"] == "Kortrijk"


def test_nearby_works_from_a_typed_address(client, categories, register):
    submit_report(
        category_code="pothole",
        description="Put in de weg",
        latitude=DOORNIKSESTRAAT.latitude,
        longitude=DOORNIKSESTRAAT.longitude,
        channel="web",
    )
    listed = client.get(
        "/melden/in-de-buurt/",
        {"address": "Doorniksestraat 45", "municipality": "KOR", "category": "pothole"},
    ).json()
    assert listed["place"] == "known" and len(listed["reports"]) == 1
    unknown = client.get(
        "/melden/in-de-buurt/",
        {"address": "Nergensstraat 999", "municipality": "KOR", "category": "pothole"},
    ).json()
    assert unknown == {"reports": [], "place": "unknown"}


def test_a_report_filed_by_address_alone_is_placed_when_the_register_is_sure(categories, register):
    report = submit_report(
        category_code="pothole",
        description="Put in de weg",
        latitude=None,
        longitude=None,
        address="Doorniksestraat 45",
        municipality_code="KOR",
        channel="phone",
    ).report
    assert report.location_is_approximate
    run_tasks()
    report.refresh_from_db()
    assert not report.location_is_approximate
    assert report.location_source == "address"
    assert report.address_register_id == DOORNIKSESTRAAT.uri
    entry = HistoryEntry.objects.get(action=Action.PLACE_CHANGED)
    assert entry.after["address_register_id"] == DOORNIKSESTRAAT.uri
    # Run again: nothing changes twice.
    run_tasks()
    assert HistoryEntry.objects.filter(action=Action.PLACE_CHANGED).count() == 1


def test_an_ambiguous_or_foreign_address_is_not_placed(categories, register):
    # "Grote Markt 1" in Harelbeke does not exist; in Menen it is another municipality.
    report = submit_report(
        category_code="pothole",
        description="Put in de weg",
        latitude=None,
        longitude=None,
        address="Grote Markt 1",
        municipality_code="HAR",
        channel="email",
    ).report
    run_tasks()
    report.refresh_from_db()
    assert report.location_is_approximate
    assert not HistoryEntry.objects.filter(action=Action.PLACE_CHANGED).exists()


@pytest.mark.parametrize(
    "text",
    ["x" * 5000, "Grote Markt 1 🐛", "‮Grote Markt", "' OR 1=1 --", "%00%ff", "ΑΒΓ 1",
     "Grote\tMarkt\n1", "  ", "1" * 300, "Kerkstraat 99999999999999999999"],
)  # fmt: skip
def test_hostile_address_text_gets_an_answer_not_an_error(client, categories, register, text):
    for params in ({"q": text}, {"q": text, "municipality": "KOR", "match": "1"}):
        response = client.get("/melden/adressen/", params)
        assert response.status_code == 200
        assert response.json()["state"] in ("found", "none")
    response = client.post(URL, typed(text[:300]))
    assert response.status_code in (200, 302)
    for request in register.received:
        assert len(request.path) + sum(map(len, request.query.values())) < 2000


def test_nul_bytes_are_refused_before_the_register_is_asked(client, categories, register):
    response = client.get("/melden/adressen/", {"q": "Grote\x00Markt"})
    assert response.status_code == 400
    assert register.received == []


# --- Staff correct the place ---------------------------------------------------------


def _approximate(address: str = "Doorniksestraat 45") -> Report:
    return submit_report(
        category_code="pothole",
        description="Put in de weg",
        latitude=None,
        longitude=None,
        address=address,
        municipality_code="KOR",
        channel="phone",
    ).report


def test_an_agent_marks_the_place_of_an_address_only_report(categories, kortrijk_agent):
    from regiohub.core.testing import staff_client

    report = _approximate()
    client = staff_client(kortrijk_agent)
    page = client.get(f"/staff/reports/{report.reference}/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Place unknown: mark it" in page.content.decode()
    url = f"/staff/reports/{report.reference}/place/"
    response = client.post(url, {"latitude": "50.8259", "longitude": "3.2663", "address": "",
                                 "reason": "caller described it"})  # fmt: skip
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.place_known and report.location_source == "staff"
    assert report.address == "Doorniksestraat 45"  # kept
    entry = HistoryEntry.objects.get(action=Action.PLACE_CHANGED)
    assert entry.actor_id == kortrijk_agent.pk and entry.reason == "caller described it"
    # A point in another municipality is a hand-over, not a correction.
    response = client.post(url, {"latitude": "50.7966", "longitude": "3.1222"},
                           HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip
    assert response.status_code == 400
    assert "Hand the report over" in response.content.decode()
    report.refresh_from_db()
    assert abs(report.latitude - 50.8259) < 1e-6


def test_an_agent_places_a_report_by_an_address_the_register_knows(
    categories, kortrijk_agent, register
):
    from regiohub.core.testing import staff_client

    report = _approximate("ergens in de Doorniksestraat")
    client = staff_client(kortrijk_agent)
    url = f"/staff/reports/{report.reference}/place/"
    response = client.post(url, {"address": "Doorniksestraat 45"})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.location_source == "address"
    assert report.address_register_id == DOORNIKSESTRAAT.uri
    response = client.post(url, {"address": "Nergensstraat 12"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "could not find this address" in response.content.decode()


def test_another_municipality_cannot_correct_the_place(categories, region):
    from regiohub.core.testing import staff_client
    from regiohub.core.tests.factories import MembershipFactory

    report = _approximate()
    menen = MembershipFactory(organisation=region["MEN"], agent=True).user
    response = staff_client(menen).post(
        f"/staff/reports/{report.reference}/place/", {"latitude": "50.8259", "longitude": "3.2663"}
    )
    assert response.status_code in (403, 404)
    report.refresh_from_db()
    assert report.location_is_approximate
