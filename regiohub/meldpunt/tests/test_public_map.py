"""The public map of open reports: what it shows, what it never shows, and how its JSON
refuses what it cannot answer. (In a browser: test_public_map_accessible.py.)"""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from PIL import Image

from regiohub.core import geo
from regiohub.core.tests.factories import MembershipFactory
from regiohub.meldpunt import services
from regiohub.meldpunt.models import Category, Report
from regiohub.meldpunt.photos import process_photo
from regiohub.meldpunt.public_map import MAX_CELLS, MAX_POINTS, generalise, street_of
from regiohub.meldpunt.tests.factories import KORTRIJK_CENTRE, MENEN_CENTRE, file_report
from regiohub.meldpunt.views import public_map
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db

PAGE = "/melden/kaart/"
JSON = "/melden/kaart/meldingen.json"
REGION = "2.8,50.6,3.7,51.0"


@pytest.fixture(autouse=True)
def fresh_answers():
    """Answers are kept per process: each test starts without any."""
    public_map.forget()
    yield
    public_map.forget()


def region_json(client, **params) -> dict:
    response = client.get(JSON, {"bbox": REGION, "zoom": "11", **params})
    assert response.status_code == 200, response.content
    return response.json()


def references(data: dict) -> set[str]:
    return {
        f["properties"]["reference"] for f in data["features"] if "reference" in f["properties"]
    }


# --- What is shown ------------------------------------------------------------------------


def test_open_reports_of_every_municipality_are_listed_and_mapped(client, categories):
    kortrijk = file_report(address="Doorniksestraat 45, 8500 Kortrijk")
    menen = file_report(where=MENEN_CENTRE, code="street-light", address="Rijselstraat 3")
    page = client.get(PAGE).content.decode()
    data = region_json(client)
    for report in (kortrijk, menen):
        assert report.reference in page
    assert references(data) == {kortrijk.reference, menen.reference}
    shown = {f["properties"]["reference"]: f for f in data["features"]}
    first = shown[kortrijk.reference]
    assert first["geometry"]["coordinates"] == [KORTRIJK_CENTRE[1], KORTRIJK_CENTRE[0]]
    assert first["properties"]["street"] == "Doorniksestraat"
    assert first["properties"]["municipality"] == "Kortrijk"
    assert first["properties"]["status"] == "new"
    assert first["properties"]["me_too"] == f"/melden/?same_as={kortrijk.reference}"
    assert "Doorniksestraat" in page and "Rijselstraat" in page
    assert data["clustered"] is False and data["count"] == 2


def test_finished_reports_hidden_subjects_and_unknown_places_are_absent(client, categories):
    shown = file_report()
    finished = file_report(code="street-light")
    services.change_status(finished, Status.RESOLVED, actor=None)
    merged = file_report(code="traffic-sign")
    services.change_status(merged, Status.CANCELLED, actor=None, reason="Dubbel.")
    question = file_report(code="question")  # not on the map (demo setting)
    Category.objects.filter(code="illegal-dumping").update(is_public_on_map=False)
    switched_off = file_report(code="illegal-dumping")
    by_address = services.submit_report(
        category_code="pothole", description="Put.", latitude=None, longitude=None,
        address="Doorniksestraat 45", municipality_code="KOR", channel="phone",
    ).report  # fmt: skip
    page = client.get(PAGE).content.decode()
    data = region_json(client)
    assert references(data) == {shown.reference}
    for absent in (finished, merged, question, switched_off, by_address):
        assert absent.reference not in page
    assert shown.reference in page
    # A subject that is not on the map is not offered as a filter either.
    assert 'value="question"' not in page
    assert client.get(PAGE, {"category": "question"}).status_code == 400


def test_the_list_filters_by_municipality_and_subject_without_javascript(client, categories):
    kortrijk = file_report()
    menen = file_report(where=MENEN_CENTRE)
    light = file_report(code="street-light")
    page = client.get(PAGE, {"municipality": "MEN"}).content.decode()
    assert menen.reference in page and kortrijk.reference not in page
    page = client.get(PAGE, {"category": "street-light"}).content.decode()
    assert light.reference in page and kortrijk.reference not in page
    assert references(region_json(client, municipality="MEN")) == {menen.reference}
    assert references(region_json(client, category="street-light")) == {light.reference}


def test_the_list_pages_newest_first(client, categories):
    rows = bulk_reports(30, "pothole", KORTRIJK_CENTRE)
    first = client.get(PAGE).content.decode()
    second = client.get(PAGE, {"page": 2}).content.decode()
    newest, oldest = rows[-1].reference, rows[0].reference
    assert newest in first and oldest not in first
    assert oldest in second and newest not in second
    assert "?page=2" in first
    assert re.search(r'class="result-count">30 ', first)
    # Beyond the last page: the last page.
    assert oldest in client.get(PAGE, {"page": 50}).content.decode()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"municipality": "XXX"}, "Unknown municipality"),
        ({"municipality": "K" * 5000}, "Unknown municipality"),
        ({"category": "<script>alert(1)</script>"}, "Unknown subject"),
        ({"page": "abc"}, "whole number"),
        ({"page": "0"}, "1 or more"),
        ({"page": "101"}, "Only the first 100 pages"),
        ({"page": "9" * 400}, "Only the first 100 pages"),
        ({"page": "1.5"}, "whole number"),
        ({"page": "½"}, "whole number"),
    ],
)
def test_bad_filters_are_refused_on_the_page(client, categories, params, message):
    file_report()
    response = client.get(PAGE, params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert "<script>alert" not in page


def test_digits_of_another_script_are_still_a_page_number(client, categories):
    report = file_report()
    response = client.get(PAGE, {"page": "١"})  # Arabic-Indic 1
    assert response.status_code == 200
    assert report.reference in response.content.decode()


def test_a_nul_in_a_filter_is_refused(client, categories):
    response = client.get(PAGE, {"municipality": "KOR\x00"}, HTTP_ACCEPT="text/html")
    assert response.status_code == 400


# --- What is never shown -----------------------------------------------------------------

SECRET = "Zwaluwnest"  # distinctive: appears nowhere in the site's own words


def _with_photo() -> dict:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "blue").save(buffer, "JPEG")
    buffer.seek(0)
    return {"photos": [process_photo(buffer, name=f"{SECRET}-foto.jpg")]}


def _leaks(report: Report) -> list[str]:
    """Values that must not appear anywhere public: per field of the report."""
    values = [
        report.description, report.reporter_name, report.reporter_email, report.reporter_phone,
    ]  # fmt: skip
    for photo in report.photos.all():
        values += [photo.file.name, photo.file.name.rsplit("/", 1)[-1], photo.sha256]
    values += [m.body for m in report.messages.all()]
    if report.assignee:
        values += [report.assignee.email, report.assignee.full_name]
    return [v for v in values if v]


@pytest.mark.parametrize(
    "field",
    ["description", "reporter_name", "reporter_email", "reporter_phone", "photo", "note",
     "message", "assignee", "token"],
)  # fmt: skip
def test_nothing_private_is_shown(client, categories, field):
    extra: dict = {}
    if field == "description":
        extra["description"] = f"De buurman {SECRET} laat zijn afval staan."
    elif field == "reporter_name":
        extra["reporter_name"] = f"Jan {SECRET}"
    elif field == "reporter_email":
        extra["reporter_email"] = f"{SECRET.lower()}@example.org"
    elif field == "reporter_phone":
        extra["reporter_phone"] = "0471 98 76 54"
    elif field == "photo":
        extra.update(_with_photo())
    submitted = services.submit_report(
        category_code="pothole", latitude=KORTRIJK_CENTRE[0], longitude=KORTRIJK_CENTRE[1],
        channel="web", consent=True, address="Kerkstraat 12",
        **{"description": "Put in de weg.", "reporter_email": "b@example.org", **extra},
    )  # fmt: skip
    report = submitted.report
    agent = MembershipFactory(organisation=categories["ZWVL"], agent=True).user
    if field == "note":
        services.add_note(report, f"Intern: {SECRET} belde.", actor=agent)
    elif field == "message":
        services.send_message(report, f"Beste {SECRET}, we komen kijken.", actor=agent)
    elif field == "assignee":
        agent.full_name = f"Agent {SECRET}"
        agent.save()
        services.assign(report, actor=agent, assignee=agent)
    report.refresh_from_db()
    values = _leaks(report) + ([submitted.token] if field == "token" else [])
    if field in ("description", "reporter_name", "reporter_email", "note", "message", "assignee"):
        assert any(SECRET.lower() in v.lower() for v in values)
    public = [
        client.get(PAGE).content.decode(),
        client.get(JSON, {"bbox": REGION}).content.decode(),
        client.get(JSON, {"bbox": "3.26,50.82,3.27,50.83", "zoom": "18"}).content.decode(),
        client.get("/melden/", {"same_as": report.reference}).content.decode(),
    ]
    assert all(report.reference in text for text in public)  # the report is there ...
    for text in public:  # ... and nothing of this field
        assert SECRET.lower() not in text.lower()
        for value in values:
            assert value not in text, (field, value)
            assert json.dumps(value)[1:-1] not in text


@pytest.mark.parametrize(
    "address", ["Zwaluwstraat 4321", "Zwaluwstraat 4321A", "Zwaluwstraat 4321 bus 77",
                "Zwaluwstraat 4321/77, 8500 Kortrijk", "Zwaluwstraat nr. 4321"],
)  # fmt: skip
def test_the_street_is_shown_without_its_house_number(client, categories, address):
    file_report(address=address)
    for text in (client.get(PAGE).content.decode(), json.dumps(region_json(client))):
        assert "Zwaluwstraat" in text
        assert "4321" not in text and " 77" not in text and "bus" not in text


@pytest.mark.parametrize(
    ("address", "street"),
    [
        ("Kerkstraat 12", "Kerkstraat"),
        ("Kerkstraat 12A", "Kerkstraat"),
        ("Kerkstraat 12 bus 3", "Kerkstraat"),
        ("Kerkstraat12", "Kerkstraat"),
        ("Grote Markt 1, 8500 Kortrijk", "Grote Markt"),
        ("8500 Kortrijk, Doorniksesteenweg 7", "Doorniksesteenweg"),
        ("Burgemeester Vandenbogaerdelaan 3", "Burgemeester Vandenbogaerdelaan"),
        ("Sint-Jansplein", "Sint-Jansplein"),
        ("Rue de la Gare 4", "Rue de la Gare"),
        ("Kerkstraat nr 12", "Kerkstraat"),
        ("in front of the school on Kerkstraat", ""),
        ("bij Jan Peeters thuis", ""),
        ("Jan Peeters", ""),
        ("Jan Peeters, Kerkstraat 5", "Kerkstraat"),
        ("", ""),
        ("12", ""),
        ("Rue du 11 Novembre", ""),
        ("Kerk\x00straat", ""),
        ("x" * 300, ""),
    ],
)
def test_street_of_keeps_only_what_looks_like_a_street(address, street):
    assert street_of(address) == street


def test_a_sensitive_subject_shows_the_centre_of_its_square_and_no_street(client, categories):
    exact = (50.829123, 3.262987)
    noise = file_report(code="noise", where=exact, address="Zwaluwstraat 8")
    lat, lon = (v.item() for v in generalise([exact[0]], [exact[1]], 100))
    feature = next(f for f in region_json(client)["features"])
    assert feature["properties"]["reference"] == noise.reference
    assert feature["properties"]["blurred"] is True
    assert feature["properties"]["street"] == ""
    assert feature["geometry"]["coordinates"] == [lon, lat]
    assert (lat, lon) != exact
    # The centre of a 100 m square: within 71 m of the place, and on the Lambert 72 grid.
    assert geo.distance_m(lat, lon, *exact) < 71
    x, y = geo.from_wgs84(lat, lon)
    assert abs(x % 100 - 50) < 0.05 and abs(y % 100 - 50) < 0.05
    page = client.get(PAGE).content.decode()
    answers = page + json.dumps(region_json(client))
    assert "Zwaluwstraat" not in answers
    assert "829123" not in answers and "262987" not in answers
    # The me-too form for it does not give the place away either.
    form = client.get("/melden/", {"same_as": noise.reference}).content.decode()
    assert "829123" not in form and "262987" not in form and "Zwaluwstraat" not in form


def test_clusters_of_a_sensitive_subject_are_counted_from_the_squares(client, categories):
    exact = (50.829123, 3.262987)
    bulk_reports(MAX_POINTS + 20, "noise", exact)
    data = region_json(client)
    assert data["clustered"] is True
    assert data["count"] == MAX_POINTS + 20
    text = json.dumps(data)
    assert "829123" not in text and "262987" not in text
    lat, lon = (v.item() for v in generalise([exact[0]], [exact[1]], 100))
    (cluster,) = data["features"]
    assert cluster["geometry"]["coordinates"] == [lon, lat]


# --- The JSON: page cap, clusters, cache ---------------------------------------------------


def test_more_than_the_cap_comes_as_clusters_and_a_closer_view_as_points(client, categories):
    bulk_reports(MAX_POINTS + 1, "pothole", KORTRIJK_CENTRE, spread=0.01)
    file_report(where=MENEN_CENTRE)
    data = region_json(client)
    assert data["clustered"] is True
    assert data["count"] == MAX_POINTS + 2
    assert 1 < len(data["features"]) <= MAX_CELLS * MAX_CELLS
    assert all(f["properties"]["cluster"] for f in data["features"])
    assert "reference" not in json.dumps(data)
    biggest = max(data["features"], key=lambda f: f["properties"]["count"])
    west, south, east, north = biggest["properties"]["bounds"]
    lon, lat = biggest["geometry"]["coordinates"]
    assert west <= lon <= east and south <= lat <= north
    # A street-sized view of the same place: each report.
    close = client.get(JSON, {"bbox": "3.2645,50.8271,3.2653,50.8279", "zoom": "19"}).json()
    assert close["clustered"] is False
    assert 0 < len(close["features"]) <= MAX_POINTS
    # The whole world at the highest zoom: still a bounded answer.
    world = client.get(JSON, {"bbox": "-180,-90,180,90", "zoom": "22"}).json()
    assert world["count"] == MAX_POINTS + 2
    assert len(world["features"]) <= MAX_CELLS * MAX_CELLS


def test_a_repeated_view_is_answered_from_memory(client, categories, django_assert_num_queries):
    first = file_report()
    region_json(client)
    second = file_report(code="street-light")
    with django_assert_num_queries(0):
        kept = client.get(JSON, {"bbox": REGION, "zoom": "11"})
    assert references(kept.json()) == {first.reference}
    assert kept["Cache-Control"] == "max-age=60"
    with override_settings(MELDPUNT_MAP_CACHE_SECONDS=0):
        fresh = client.get(JSON, {"bbox": REGION, "zoom": "11"})
    assert references(fresh.json()) == {first.reference, second.reference}
    assert fresh["Cache-Control"] == "max-age=0"


BBOX_REFUSED = [
    ({}, "bbox is required"),
    ({"bbox": ""}, "bbox is required"),
    ({"bbox": "3.2,50.8,3.3"}, "four numbers"),
    ({"bbox": "3.2,50.8,3.3,50.9,1"}, "four numbers"),
    ({"bbox": "a,b,c,d"}, "is not a number"),
    ({"bbox": "nan,50.8,3.3,50.9"}, "is not a number"),
    ({"bbox": "NaN,NaN,NaN,NaN"}, "is not a number"),
    ({"bbox": "-inf,50.8,inf,50.9"}, "is not a number"),
    ({"bbox": "3.2e0,50.8,3.3,50.9"}, "is not a number"),
    ({"bbox": "３.2,50.8,3.3,50.9"}, "is not a number"),  # full-width digit
    ({"bbox": "3,2;50,8;3,3;50,9"}, "four numbers"),
    ({"bbox": "3.2;50.8;3.3;50.9"}, "four numbers"),
    ({"bbox": "1000,50.8,3.3,50.9"}, "is not a number"),
    ({"bbox": "3.3,50.8,3.2,50.9"}, "west must be less than east"),
    ({"bbox": "3.2,50.8,3.2,50.9"}, "west must be less than east"),
    ({"bbox": "3.2,95,3.3,96"}, "latitudes between -90 and 90"),
    ({"bbox": "-181,50,3,51"}, "longitudes lie between"),
    ({"bbox": "3.2," * 5000}, "too long"),
    ({"bbox": "3.2,50.8,3.3,50.9", "zoom": "abc"}, "zoom must be a whole number"),
    ({"bbox": "3.2,50.8,3.3,50.9", "zoom": "23"}, "zoom must be a whole number"),
    ({"bbox": "3.2,50.8,3.3,50.9", "zoom": "-1"}, "zoom must be a whole number"),
    ({"bbox": "3.2,50.8,3.3,50.9", "municipality": "XXX"}, "Unknown municipality"),
    ({"bbox": "3.2,50.8,3.3,50.9", "category": "question"}, "Unknown subject"),
    ({"bbox": "3.2,50.8,3.3,50.9\x00"}, "NUL"),
    ({"bbox": "3.2,50.8,3.3,50.9", "zoom": "\x00"}, "NUL"),
]


@pytest.mark.parametrize(("params", "message"), BBOX_REFUSED)
def test_the_json_refuses_what_it_cannot_answer_with_a_reason(client, categories, params, message):
    response = client.get(JSON, params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert message in body["error"]
    expected = next(iter(k for k in ("zoom", "municipality", "category") if k in params), "bbox")
    if message != "NUL":
        assert body["parameter"] == expected


def test_the_json_answers_get_only(client, categories):
    assert client.post(JSON, {"bbox": REGION}).status_code == 405


# --- "Me too" from the map ----------------------------------------------------------------


def test_me_too_from_the_list_joins_the_report(client, categories):
    existing = file_report(address="Doorniksestraat 45")
    page = client.get(PAGE).content.decode()
    link = re.search(r'href="(/melden/\?same_as=[^"]+)"', page).group(1)
    form = client.get(link.replace("&amp;", "&")).content.decode()
    assert f'name="same_as" value="{existing.reference}"' in form
    assert 'id="subject-pothole" value="pothole" checked' in form
    assert 'name="latitude" value="50.8275"' in form
    assert "Doorniksestraat" in form  # what they join, as the map shows it
    response = client.post(
        "/melden/",
        {
            "category": "pothole", "description": "Ik zie het ook.",
            "latitude": "50.8275", "longitude": "3.2649", "address": "",
            "municipality": "", "same_as": existing.reference,
            "reporter_email": "ook@example.org", "consent": "on", "client_key": "",
        },
    )  # fmt: skip
    assert response.status_code == 302
    mine = Report.objects.exclude(pk=existing.pk).get()
    assert mine.merged_into_id == existing.pk


def test_a_blurred_report_is_joined_without_giving_its_place(client, categories):
    noise = file_report(code="noise", where=(50.829123, 3.262987))
    form = client.get("/melden/", {"same_as": noise.reference}).content.decode()
    assert f'name="same_as" value="{noise.reference}"' in form
    assert 'id="subject-noise" value="noise" checked' in form
    assert 'name="latitude" value="50.' not in form


@pytest.mark.parametrize("case", ["not on the map", "finished", "too old", "unknown", "junk"])
def test_me_too_for_what_the_map_does_not_show_reveals_nothing(client, categories, case):
    code = "question" if case == "not on the map" else "pothole"
    hidden = file_report(code=code, address="Zwaluwstraat 3")
    if case == "finished":
        services.change_status(hidden, Status.RESOLVED, actor=None)
    if case == "too old":
        Report.objects.filter(pk=hidden.pk).update(created_at=timezone.now() - timedelta(days=40))
    reference = {"unknown": "KOR-2026-999999", "junk": "<b>x</b>\u202e"}.get(case, hidden.reference)
    form = client.get("/melden/", {"same_as": reference}).content.decode()
    assert 'name="same_as" value=""' in form or 'name="same_as" id' in form
    assert "Zwaluwstraat" not in form
    assert 'id="me-too"' in form  # says it cannot be joined
    assert "<b>x</b>" not in form
    page = client.get(PAGE).content.decode()
    if case == "too old":
        assert hidden.reference in page  # still open and shown, but not to be joined
        assert f"same_as={hidden.reference}" not in page


def test_the_map_is_linked_from_the_form_and_the_home_page(client, categories):
    assert 'href="/melden/kaart/"' in client.get("/melden/").content.decode()
    assert 'href="/melden/kaart/"' in client.get("/").content.decode()


# --- helpers ------------------------------------------------------------------------------


def bulk_reports(
    n: int, code: str, where: tuple[float, float], spread: float = 0.0
) -> list[Report]:
    """``n`` open reports straight into the table (the service would take minutes), oldest
    first, around ``where`` (within ``spread`` degrees)."""
    location = geo.municipality_at(*where)
    category = Category.objects.get(organisation_id=location.organisation_id, code=code)
    now = timezone.now()
    rows = []
    for i in range(n):
        step = (i % 37) / 37 * spread
        rows.append(
            Report(
                reference=f"BLK-2026-{i:06d}",
                organisation_id=location.organisation_id,
                category=category,
                department_id=category.department_id,
                channel="web",
                description=f"Bulk {i}.",
                latitude=where[0] + step,
                longitude=where[1] + ((i * 7) % 41) / 41 * spread,
                address=f"Kerkstraat {i + 1}",
                status=Status.NEW,
                created_at=now - timedelta(minutes=n - i),
            )
        )
    return Report.objects.bulk_create(rows)


def test_the_map_reads_only_what_changed_since_its_last_read(client, categories):
    from regiohub.meldpunt import public_map as engine

    closing = file_report()
    with override_settings(MELDPUNT_MAP_CACHE_SECONDS=0):
        assert references(region_json(client)) == {closing.reference}
        full_at = engine._points.full_at
        services.change_status(closing, Status.CANCELLED, actor=None, reason="Dubbel")
        added = file_report(code="street-light")
        moved = file_report(code="pothole", where=MENEN_CENTRE)
        Report.objects.filter(pk=moved.pk).update(latitude=KORTRIJK_CENTRE[0] + 0.001)
        Report.objects.filter(pk=moved.pk).update(updated_at=timezone.now())
        data = region_json(client)
        assert references(data) == {added.reference, moved.reference}
        assert engine._points.full_at == full_at  # no second full read
        assert len(engine._points.ids) == 2
