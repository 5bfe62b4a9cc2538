"""The demo exports for the service-delivery and IT-workload dashboards: generated the
same way for a seed, shaped like real exports, and loaded through the steward's upload
path with the columns the dashboards query; the demo loader adds nothing the second time."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time
from io import StringIO

import pytest

from regiohub.core.roles import Role
from regiohub.datasets import storage
from regiohub.datasets.demo import municipal
from regiohub.datasets.ingest import describe_note
from regiohub.datasets.models import Dataset, DatasetVersion, Load, LoadState
from regiohub.datasets.tests.conftest import member

TODAY = date(2026, 3, 18)
#: A big, a middle and the smallest municipality: enough to load quickly in a test.
SOME = [
    municipal.Municipality("34022", "Kortrijk", 77109),
    municipal.Municipality("34042", "Zwevegem", 24814),
    municipal.Municipality("34043", "Spiere-Helkijn", 2071),
]

#: Column keys and types the loaded datasets have: the dashboards' queries rely on them.
APPOINTMENT_COLUMNS = {
    "afspraaknummer": "integer",
    "nis_code": "text",
    "gemeente": "text",
    "locatie": "text",
    "balie": "text",
    "product": "text",
    "datum": "date",
    "uur": "text",
    "geboekt_via": "text",
    "status": "text",
    "wachttijd_min": "decimal",
    "behandeltijd_min": "decimal",
}
ELOKET_COLUMNS = {
    "aanvraagnummer": "text",
    "nis_code": "text",
    "gemeente": "text",
    "product": "text",
    "ingediend_op": "timestamp",
    "aangemeld_met": "text",
    "status": "text",
    "afgerond_op": "timestamp",
    "doorlooptijd_dagen": "decimal",
}
TICKET_COLUMNS = {
    "meldingnummer": "text",
    "nis_code": "text",
    "vestiging": "text",
    "soort_melding": "text",
    "categorie": "text",
    "operatorgroep": "text",
    "prioriteit": "text",
    "status": "text",
    "datum_aanmelding": "timestamp",
    "datum_afgemeld": "timestamp",
    "bestede_tijd_uren": "decimal",
}


@pytest.fixture
def leiedal_steward(region):
    return member(region["LEI"], Role.DATA_STEWARD)


def loaded(tmp_path, region, steward, spec, header_rows):
    """Write the demo files for SOME municipalities and upload the one of ``spec``."""
    slug, title, filename = spec
    paths = {p.name: p for p in municipal.write_samples(tmp_path / "files", TODAY, SOME)}
    out = StringIO()
    load = municipal.upload_export(out, steward, region["LEI"], slug, title, paths[filename])
    assert load.state == LoadState.DONE, (load.message, load.errors[:3])
    dataset = Dataset.objects.get(slug=slug)
    version = dataset.current_version
    table = storage.open_table(dataset.storage_key, version.delta_version).to_pyarrow_table()
    assert table.num_rows == load.rows_done == len(header_rows)
    assert f"{slug}: {len(header_rows)} rows" in out.getvalue()
    assert (dataset.access, dataset.licence) == ("region", "internal")
    assert dataset.description.startswith("Demodata in de vorm van een echte export")
    return load, version, table


def types(version) -> dict[str, str]:
    return {column["key"]: column["type"] for column in version.schema}


def test_the_same_seed_gives_the_same_exports_and_another_seed_others(tmp_path):
    first = municipal.write_samples(tmp_path / "a", TODAY, SOME)
    again = municipal.write_samples(tmp_path / "b", TODAY, SOME)
    for one, other in zip(first[:2], again[:2], strict=True):  # the two CSV files
        assert one.read_bytes() == other.read_bytes()
    assert municipal.it_tickets(TODAY, SOME) == municipal.it_tickets(TODAY, SOME)
    assert municipal.appointments(TODAY, SOME, seed=1) != municipal.appointments(TODAY, SOME)
    assert municipal.it_tickets(TODAY, SOME, seed=1) != municipal.it_tickets(TODAY, SOME)


def test_the_csv_exports_are_belgian_and_end_on_the_day_they_are_made(tmp_path):
    paths = municipal.write_samples(tmp_path, TODAY, SOME)
    appointments = paths[0].read_bytes()
    assert appointments.startswith(b"\xef\xbb\xbfAfspraaknummer;NIS-code;Gemeente;")
    assert b"\r\n" in appointments
    rows = municipal.appointments(TODAY, SOME)
    assert any("," in row[10] for row in rows)  # waiting minutes with a decimal comma
    assert max(datetime.strptime(row[6], "%d/%m/%Y").date() for row in rows) <= TODAY
    assert min(datetime.strptime(row[6], "%d/%m/%Y").date() for row in rows) == date(2024, 4, 1)
    requests = municipal.eloket_requests(TODAY, SOME)
    assert max(datetime.strptime(row[4], "%d/%m/%Y %H:%M").date() for row in requests) <= TODAY
    assert {row[6] for row in requests} == {"Afgehandeld", "In behandeling", "Geweigerd"}


def test_volumes_follow_population_and_dip_in_the_summer():
    rows = municipal.appointments(TODAY, SOME)
    per_town = defaultdict(int)
    per_month = defaultdict(int)
    for row in rows:
        per_town[row[2]] += 1
        if row[1] == "34022":
            per_month[row[6][3:]] += 1
    # Kortrijk has 3.1 times Zwevegem's population and 37 times Spiere-Helkijn's.
    assert 2.6 < per_town["Kortrijk"] / per_town["Zwevegem"] < 3.7
    assert 25 < per_town["Kortrijk"] / per_town["Spiere-Helkijn"] < 50
    assert per_month["08/2025"] < 0.8 * per_month["06/2025"]
    assert per_month["07/2025"] < 0.85 * per_month["09/2025"]


def test_the_digital_take_up_rises():
    months = [m.strftime("%m/%Y") for m in municipal.month_starts(TODAY)]
    desk = defaultdict(int)
    online = defaultdict(int)
    for row in municipal.appointments(TODAY, SOME):
        if row[5] in municipal.DIGITAL_PRODUCTS:
            desk[row[6][3:]] += 1
    for row in municipal.eloket_requests(TODAY, SOME):
        online[row[4][3:10]] += 1

    def take_up(period: list[str]) -> float:
        digital = sum(online[m] for m in period)
        return digital / (digital + sum(desk[m] for m in period))

    first, last = take_up(months[:3]), take_up(months[-3:])
    assert last > first + 0.15, (first, last)


def test_it_hours_on_projects_differ_per_municipality():
    hours = defaultdict(lambda: defaultdict(float))
    rows = municipal.it_tickets(TODAY)
    for row in rows:
        hours[row[1]][row[3] == "Project-taak"] += row[10]
    # Closed by people in office hours: never in the hour skipped when clocks go forward.
    closed = [row[9] for row in rows if row[9] is not None]
    assert all(time(7, 30) <= moment.time() < time(18) for moment in closed)
    shares = [town[True] / (town[True] + town[False]) for town in hours.values()]
    assert len(shares) == 13
    assert max(shares) - min(shares) > 0.2


@pytest.mark.django_db
def test_the_appointments_csv_loads_through_the_upload(tmp_path, region, leiedal_steward):
    rows = municipal.appointments(TODAY, SOME)
    load, version, table = loaded(tmp_path, region, leiedal_steward, municipal.APPOINTMENTS, rows)
    assert (load.detected["delimiter"], load.detected["encoding"]) == (";", "utf-8-sig")
    assert types(version) == APPOINTMENT_COLUMNS
    assert version.primary_key == ["nis_code", "afspraaknummer"]
    assert set(table.column("nis_code").to_pylist()) == {"34022", "34042", "34043"}
    assert min(table.column("datum").to_pylist()) == date(2024, 4, 1)
    assert max(table.column("datum").to_pylist()) <= TODAY


@pytest.mark.django_db
def test_the_eloket_csv_loads_through_the_upload(tmp_path, region, leiedal_steward):
    rows = municipal.eloket_requests(TODAY, SOME)
    _load, version, table = loaded(tmp_path, region, leiedal_steward, municipal.ELOKET, rows)
    assert types(version) == ELOKET_COLUMNS
    assert version.primary_key == ["nis_code", "aanvraagnummer"]
    leads = [v for v in table.column("doorlooptijd_dagen").to_pylist() if v is not None]
    assert leads and all(v >= 0 for v in leads) and any(v != int(v) for v in leads)


@pytest.mark.django_db
def test_the_ticket_report_loads_below_its_merged_title(tmp_path, region, leiedal_steward):
    rows = municipal.it_tickets(TODAY, SOME)
    load, version, table = loaded(tmp_path, region, leiedal_steward, municipal.TICKETS, rows)
    assert load.detected["header_row"] == 4
    assert [column["name"] for column in version.schema] == municipal.TICKET_HEADER
    assert types(version) == TICKET_COLUMNS
    assert version.primary_key == ["meldingnummer"]
    notes = [describe_note(_note(n)) for n in load.detected["notes"]]
    assert notes[0].startswith("The header is on row 4; the rows above it (1–2) look like a title")
    kinds = set(table.column("soort_melding").to_pylist())
    assert kinds == {"Incident", "Verzoek", "Project-taak"}
    assert sum(table.column("bestede_tijd_uren").to_pylist()) == pytest.approx(
        sum(row[10] for row in rows)
    )


def _note(data):
    from regiohub.datasets.ingest import ReadNote

    return ReadNote(**data)


@pytest.mark.django_db
def test_the_demo_loader_adds_nothing_the_second_time(region, leiedal_steward):
    steward = leiedal_steward
    out = StringIO()
    municipal.load_exports(out, steward, region["LEI"], today=TODAY)
    for slug, _title, _file in (municipal.APPOINTMENTS, municipal.ELOKET, municipal.TICKETS):
        dataset = Dataset.objects.get(slug=slug)
        assert dataset.current_version is not None, out.getvalue()
    counts = (Dataset.objects.count(), Load.objects.count(), DatasetVersion.objects.count())
    municipal.load_exports(out, steward, region["LEI"], today=TODAY)
    assert (Dataset.objects.count(), Load.objects.count(), DatasetVersion.objects.count()) == counts
