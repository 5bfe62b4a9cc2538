"""Demo exports for the service-delivery and IT-workload dashboards: desk appointments,
e-loket requests and IT tickets of the 13 demo municipalities.

No real appointment, e-loket or ticket-system export is public, so these are generated
in the shape of one (Dutch headers as the systems export them, ``;``, decimal commas,
an Excel report with a title row above the header) and loaded through the same upload,
review and load steps a data steward takes with the municipality's own export. The
columns are documented in ``docs/dashboards-data.md``.

Everything is drawn from ``random.Random(seed)``: the same seed, day and municipalities
give the same files. Volumes follow the population, the e-loket's share of the products
that can be asked for online rises month by month, July and August dip, and the share
of IT hours spent on projects differs per municipality.

A sample of the three files, for someone who wants to see or try one::

    regiohub shell -c "from datetime import date; from pathlib import Path; \\
    from regiohub.datasets.demo.municipal import write_samples; \\
    print(write_samples(Path('samples'), date.today()))"
"""

from __future__ import annotations

import csv
import json
import math
import random
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from regiohub.core.demo.region import BOUNDARIES, MUNICIPALITY_CODES

SEED = 20
MONTHS = 24
DESCRIPTION = (
    "Demodata in de vorm van een echte export: gegenereerd voor de demoregio, geen echte "
    "cijfers. Een gemeente laadt haar eigen export op met dezelfde kolommen "
    "(zie docs/dashboards-data.md)."
)
ATTRIBUTION = "Demodata (gegenereerd)"

#: Slug, title and file name of each export; its primary key as the ingest's column keys.
APPOINTMENTS = ("afspraken-balie", "Afspraken aan de balie", "afspraken-balie.csv")
ELOKET = ("e-loket-aanvragen", "Aanvragen via het e-loket", "e-loket-aanvragen.csv")
TICKETS = ("ict-tickets", "ICT-meldingen (TOPdesk)", "ict-tickets.xlsx")
PRIMARY_KEYS = {
    APPOINTMENTS[0]: ["nis_code", "afspraaknummer"],
    ELOKET[0]: ["nis_code", "aanvraagnummer"],
    TICKETS[0]: ["meldingnummer"],
}

APPOINTMENT_HEADER = [
    "Afspraaknummer",
    "NIS-code",
    "Gemeente",
    "Locatie",
    "Balie",
    "Product",
    "Datum",
    "Uur",
    "Geboekt via",
    "Status",
    "Wachttijd (min)",
    "Behandeltijd (min)",
]
ELOKET_HEADER = [
    "Aanvraagnummer",
    "NIS-code",
    "Gemeente",
    "Product",
    "Ingediend op",
    "Aangemeld met",
    "Status",
    "Afgerond op",
    "Doorlooptijd (dagen)",
]
TICKET_HEADER = [
    "Meldingnummer",
    "NIS-code",
    "Vestiging",
    "Soort melding",
    "Categorie",
    "Operatorgroep",
    "Prioriteit",
    "Status",
    "Datum aanmelding",
    "Datum afgemeld",
    "Bestede tijd (uren)",
]


@dataclass(frozen=True)
class Product:
    """A civil-affairs product: monthly demand per 1,000 inhabitants, minutes at the desk,
    and whether the e-loket offers it (then the digital share takes part of the demand)."""

    name: str
    per_thousand: float
    service_minutes: float
    digital: bool
    #: Days the back office takes for an online request (0: delivered at once).
    lead_days: float = 0.0


PRODUCTS = (
    Product("Identiteitskaart (eID)", 1.00, 12, digital=False),
    Product("Kids-ID", 0.25, 10, digital=False),
    Product("Reispas", 0.30, 12, digital=False),
    Product("Rijbewijs", 0.35, 10, digital=False),
    Product("Huwelijksaangifte", 0.04, 30, digital=False),
    Product("Uittreksel bevolkingsregister", 0.50, 5, digital=True),
    Product("Attest gezinssamenstelling", 0.30, 5, digital=True),
    Product("Uittreksel strafregister", 0.40, 5, digital=True, lead_days=0.5),
    Product("Adreswijziging", 0.50, 15, digital=True, lead_days=9),
    Product("Afschrift geboorteakte", 0.15, 6, digital=True, lead_days=2),
)
DIGITAL_PRODUCTS = tuple(p.name for p in PRODUCTS if p.digital)

#: Fewer visits and tickets in the summer holidays and around Christmas.
SEASON = {7: 0.72, 8: 0.62, 12: 0.88}
#: Fixed-date Belgian public holidays (month, day): no desk opening.
HOLIDAYS = {(1, 1), (5, 1), (7, 21), (8, 15), (11, 1), (11, 11), (12, 25)}
CITIES = {"Harelbeke", "Kortrijk", "Menen", "Waregem", "Wervik"}
TICKET_CATEGORIES = (
    ("Werkplek", 0.30),
    ("Applicaties", 0.25),
    ("Accounts en toegang", 0.15),
    ("Printen", 0.10),
    ("Netwerk", 0.08),
    ("Telefonie", 0.07),
    ("Informatieveiligheid", 0.05),
)
TICKET_GROUPS = {
    "Werkplek": "1e lijn servicedesk",
    "Printen": "1e lijn servicedesk",
    "Accounts en toegang": "1e lijn servicedesk",
    "Telefonie": "2e lijn systeembeheer",
    "Netwerk": "Netwerkbeheer",
    "Applicaties": "Applicatiebeheer",
    "Informatieveiligheid": "2e lijn systeembeheer",
}


@dataclass(frozen=True)
class Municipality:
    nis_code: str
    name: str
    population: int


def demo_municipalities() -> list[Municipality]:
    """The 13 demo municipalities with the populations the demo region loads into
    ``Organisation.population`` (read from the same boundary file, so no database is
    needed to write sample files)."""
    features = json.loads(Path(BOUNDARIES).read_text())["features"]
    found = [
        Municipality(
            str(f["properties"]["nis"]),
            f["properties"]["name_nl"],
            int(f["properties"]["population"]),
        )
        for f in features
        if str(f["properties"]["nis"]) in MUNICIPALITY_CODES
    ]
    return sorted(found, key=lambda m: m.nis_code)


def month_starts(today: date, count: int = MONTHS) -> list[date]:
    """The first day of each of the ``count`` months ending with today's month."""
    year, month = today.year, today.month
    months = []
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def _month_days(start: date, today: date) -> list[date]:
    """The days of a month up to and including today (an export runs to the day it was made)."""
    days, day = [], start
    while day.month == start.month and day <= today:
        days.append(day)
        day += timedelta(days=1)
    return days


def _opening_days(start: date, today: date) -> list[date]:
    return [
        d for d in _month_days(start, today) if d.weekday() < 5 and (d.month, d.day) not in HOLIDAYS
    ]


def _rng(seed: int, part: str) -> random.Random:
    """A generator of its own per part, so that changing one export leaves the others."""
    return random.Random(f"{seed}-{part}")  # noqa: S311 - demo data, not secrets


def _count(rng: random.Random, expected: float) -> int:
    """A whole number of events around ``expected`` (a rounded normal draw: a Poisson draw
    without its cost at these sizes)."""
    if expected <= 0:
        return 0
    return max(0, round(rng.gauss(expected, math.sqrt(expected))))


def _decimal(value: float, places: int = 1) -> str:
    """A number as a Belgian export writes it: a decimal comma."""
    return f"{value:.{places}f}".replace(".", ",")


def _elapsed(start: date, today: date) -> float:
    """How much of a month the export covers: all of a past month, part of today's."""
    if (start.year, start.month) != (today.year, today.month):
        return 1.0
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return today.day / (following - start).days


@dataclass(frozen=True)
class _Profile:
    """What makes one municipality's figures its own."""

    take_up: float  # e-loket share of digital products in the first month
    take_up_rise: float  # added per month
    online_booking: float  # share of desk appointments booked online, first month
    waiting: float  # mean waiting minutes at the desk
    project_share: float  # how much project work IT does (0.3 little .. 2.0 much)
    incident_hours: float  # mean hours on an incident


def _profiles(municipalities: list[Municipality], seed: int) -> dict[str, _Profile]:
    rng = _rng(seed, "profiles")
    profiles = {}
    for m in municipalities:
        profiles[m.nis_code] = _Profile(
            take_up=rng.uniform(0.24, 0.40),
            take_up_rise=rng.uniform(0.008, 0.014),
            online_booking=rng.uniform(0.40, 0.55),
            waiting=rng.uniform(4.0, 8.0) + m.population / 20_000,
            project_share=rng.uniform(0.3, 2.0),
            incident_hours=rng.uniform(0.5, 1.3),
        )
    return profiles


def _digital_share(profile: _Profile, index: int, rng: random.Random) -> float:
    share = profile.take_up + profile.take_up_rise * index + rng.uniform(-0.02, 0.02)
    return min(0.95, max(0.05, share))


@dataclass(frozen=True)
class _Demand:
    municipality: Municipality
    month: date
    product: Product
    desk: int
    online: int


def _demand(today: date, municipalities: list[Municipality], seed: int) -> Iterator[_Demand]:
    """Per municipality, month and product: how many people came to the desk and how
    many asked online. One draw for both, so the two exports tell one story."""
    rng = _rng(seed, "demand")
    profiles = _profiles(municipalities, seed)
    months = month_starts(today)
    for m in municipalities:
        for index, start in enumerate(months):
            elapsed = _elapsed(start, today)
            season = SEASON.get(start.month, 1.0)
            for product in PRODUCTS:
                expected = m.population / 1000 * product.per_thousand * season * elapsed
                total = _count(rng, expected * rng.uniform(0.92, 1.08))
                online = 0
                if product.digital:
                    share = _digital_share(profiles[m.nis_code], index, rng)
                    online = sum(rng.random() < share for _ in range(total))
                yield _Demand(m, start, product, total - online, online)


# --- Desk appointments -------------------------------------------------------------


def _location(m: Municipality) -> str:
    return f"{'Stadhuis' if m.name in CITIES else 'Gemeentehuis'} {m.name}"


_MORNING = tuple(f"{h:02d}:{mi:02d}" for h in range(8, 12) for mi in range(0, 60, 10))[3:]
_EVENING = tuple(f"{h:02d}:{mi:02d}" for h in range(14, 19) for mi in range(0, 60, 15))


def _slots(day: date) -> tuple[str, ...]:
    """Appointment times: mornings, and a late opening on Tuesday and Thursday."""
    return _MORNING + _EVENING if day.weekday() in (1, 3) else _MORNING


def _when(booking: tuple[date, str, Product]) -> tuple[date, str]:
    return booking[0], booking[1]


def appointments(
    today: date, municipalities: list[Municipality] | None = None, seed: int = SEED
) -> list[list[str]]:
    """One row per desk appointment (``APPOINTMENT_HEADER``), as text cells of a Belgian
    CSV export, sorted per municipality by date and time."""
    municipalities = municipalities or demo_municipalities()
    profiles = _profiles(municipalities, seed)
    rng = _rng(seed, "appointments")
    by_municipality: dict[str, list[tuple[date, str, Product]]] = {}
    for demand in _demand(today, municipalities, seed):
        days = _opening_days(demand.month, today)
        if not days:
            continue
        booked = by_municipality.setdefault(demand.municipality.nis_code, [])
        for _ in range(demand.desk):
            day = rng.choice(days)
            booked.append((day, rng.choice(_slots(day)), demand.product))
    rows: list[list[str]] = []
    months = {start: index for index, start in enumerate(month_starts(today))}
    for m in municipalities:
        profile = profiles[m.nis_code]
        desks = 1 + m.population // 15_000
        number = 100_000 + rng.randrange(0, 50_000)
        for day, slot, product in sorted(by_municipality.get(m.nis_code, []), key=_when):
            number += 1
            index = months[day.replace(day=1)]
            online = min(0.9, profile.online_booking + 0.008 * index)
            channel = rng.choices(
                ["Online", "Telefonisch", "Aan de balie"],
                [online, (1 - online) * 0.7, (1 - online) * 0.3],
            )[0]
            no_show = 0.06 if channel == "Online" else 0.03
            status = rng.choices(
                ["Afgehandeld", "Niet verschenen", "Geannuleerd"],
                [1 - no_show - 0.07, no_show, 0.07],
            )[0]
            waiting = service = ""
            if status == "Afgehandeld":
                waiting = _decimal(rng.expovariate(1 / profile.waiting))
                service = _decimal(
                    max(2.0, rng.gauss(product.service_minutes, product.service_minutes / 4))
                )
            rows.append(
                [
                    str(number),
                    m.nis_code,
                    m.name,
                    _location(m),
                    f"Balie {rng.randint(1, desks)}",
                    product.name,
                    day.strftime("%d/%m/%Y"),
                    slot,
                    channel,
                    status,
                    waiting,
                    service,
                ]
            )
    return rows


# --- E-loket requests ---------------------------------------------------------------


def eloket_requests(
    today: date, municipalities: list[Municipality] | None = None, seed: int = SEED
) -> list[list[str]]:
    """One row per e-loket request (``ELOKET_HEADER``), as text cells of a Belgian CSV
    export. Requests not finished by ``today`` are still in progress."""
    municipalities = municipalities or demo_municipalities()
    rng = _rng(seed, "eloket")
    end_of_today = datetime.combine(today, datetime.max.time())
    submitted: dict[str, list[tuple[datetime, Product]]] = {}
    for demand in _demand(today, municipalities, seed):
        days = _month_days(demand.month, today)
        for _ in range(demand.online):
            day = rng.choice(days)
            at = datetime.combine(day, datetime.min.time()) + timedelta(
                minutes=rng.randrange(6 * 60, 23 * 60)
            )
            submitted.setdefault(demand.municipality.nis_code, []).append((at, demand.product))
    rows: list[list[str]] = []
    for m in municipalities:
        sequence: dict[int, int] = {}
        for at, product in sorted(submitted.get(m.nis_code, []), key=lambda item: item[0]):
            sequence[at.year] = sequence.get(at.year, 0) + 1
            number = f"EL{at:%y}-{sequence[at.year]:06d}"
            status, done_text, lead_text = "In behandeling", "", ""
            done = _handled(rng, at, product)
            if done <= end_of_today:
                status = "Afgehandeld"
                if product.lead_days and rng.random() < 0.05:
                    status = "Geweigerd"  # a person decided: the request was refused
                done_text = done.strftime("%d/%m/%Y %H:%M")
                lead_text = _decimal((done - at).total_seconds() / 86_400, places=2)
            rows.append(
                [
                    number,
                    m.nis_code,
                    m.name,
                    product.name,
                    at.strftime("%d/%m/%Y %H:%M"),
                    rng.choices(["itsme", "eID-kaartlezer"], [0.85, 0.15])[0],
                    status,
                    done_text,
                    lead_text,
                ]
            )
    return rows


def _handled(rng: random.Random, at: datetime, product: Product) -> datetime:
    """When a request is finished: within minutes when the system delivers it (an
    extract from a register), else by the back office, on a working day in office hours."""
    if not product.lead_days:
        return at + timedelta(minutes=rng.randint(1, 20))
    day = (at + timedelta(days=rng.expovariate(1 / product.lead_days))).date()
    day = max(day, at.date())
    while day.weekday() >= 5 or (day.month, day.day) in HOLIDAYS:
        day += timedelta(days=1)
    done = datetime.combine(day, datetime.min.time()) + timedelta(
        minutes=rng.randrange(8 * 60 + 30, 16 * 60 + 30)
    )
    return max(done, at + timedelta(hours=1))


# --- IT tickets ---------------------------------------------------------------------


def _office_hours(rng: random.Random, moment: datetime) -> datetime:
    """The moment, or when an operator next works after it (a working day, 07:30 to
    18:00): tickets are closed by people, never at night, so never in the hour that does
    not exist when the clocks go forward."""
    day = moment.date()
    start, end = datetime.combine(day, time(7, 30)), datetime.combine(day, time(18))
    if start <= moment < end and day.weekday() < 5 and (day.month, day.day) not in HOLIDAYS:
        return moment
    if moment >= end:
        day += timedelta(days=1)
    while day.weekday() >= 5 or (day.month, day.day) in HOLIDAYS:
        day += timedelta(days=1)
    return datetime.combine(day, time(7, 30)) + timedelta(minutes=rng.randrange(0, 120))


def it_tickets(
    today: date, municipalities: list[Municipality] | None = None, seed: int = SEED
) -> list[list[Any]]:
    """One row per ticket (``TICKET_HEADER``) of the region's shared TOPdesk, with real
    dates and numbers as its Excel export holds them (the hours a decimal number, the
    dates ``datetime``). Tickets not closed by ``today`` have no closing date."""
    municipalities = municipalities or demo_municipalities()
    profiles = _profiles(municipalities, seed)
    rng = _rng(seed, "tickets")
    end_of_today = datetime.combine(today, datetime.max.time())
    categories = [name for name, _ in TICKET_CATEGORIES]
    weights = [weight for _, weight in TICKET_CATEGORIES]
    rows: list[list[Any]] = []
    for start in month_starts(today):
        days = _opening_days(start, today)
        if not days:
            continue
        elapsed = _elapsed(start, today)
        season = SEASON.get(start.month, 1.0)
        month_rows: list[list[Any]] = []
        for m in municipalities:
            profile = profiles[m.nis_code]
            calls = _count(rng, (4 + m.population * 0.0005) * season * elapsed)
            tasks = _count(rng, (0.5 + m.population / 40_000) * profile.project_share * elapsed)
            kinds = ["Project-taak"] * tasks + [
                rng.choices(["Incident", "Verzoek"], [0.6, 0.4])[0] for _ in range(calls)
            ]
            for kind in kinds:
                opened = datetime.combine(rng.choice(days), datetime.min.time()) + timedelta(
                    minutes=rng.randrange(7 * 60 + 30, 17 * 60)
                )
                if kind == "Project-taak":
                    category, group, priority = rng.choice(categories), "Projecten", ""
                    hours = rng.uniform(3, 24)
                    duration = timedelta(days=rng.uniform(5, 60))
                else:
                    category = rng.choices(categories, weights)[0]
                    group = TICKET_GROUPS[category]
                    priority = rng.choices(["P1", "P2", "P3", "P4"], [0.03, 0.17, 0.55, 0.25])[0]
                    mean = profile.incident_hours * (0.6 if kind == "Verzoek" else 1.0)
                    hours = max(0.1, rng.expovariate(1 / mean))
                    duration = timedelta(hours=rng.expovariate(1 / 20))
                closed = _office_hours(rng, opened + duration)
                open_now = closed > end_of_today
                month_rows.append(
                    [
                        None,  # numbered below, in order of reporting
                        m.nis_code,
                        f"ICT {m.name}",
                        kind,
                        category,
                        group,
                        priority or None,
                        "In behandeling" if open_now else "Afgemeld",
                        opened,
                        None if open_now else closed.replace(second=0, microsecond=0),
                        round(hours * 4) / 4,  # time is written in quarters of an hour
                    ]
                )
        month_rows.sort(key=lambda row: (row[8], row[1]))
        for number, row in enumerate(month_rows, start=1):
            row[0] = f"I {start:%y%m} {number:04d}"
        rows += month_rows
    return rows


# --- Files --------------------------------------------------------------------------


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    """A CSV as Belgian Excel and most Flemish back-office systems write it: UTF-8 with
    a byte-order mark, ``;`` between cells, CRLF line ends."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_ticket_report(path: Path, rows: list[list[Any]], today: date) -> Path:
    """The tickets as a TOPdesk report in Excel: a merged title row and a period line
    above the header, dates as Excel dates, as a report export has them."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Meldingen"
    first = month_starts(today)[0]
    sheet.append(["Overzicht meldingen ICT-samenwerking Zuid-West-Vlaanderen"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(TICKET_HEADER))
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([f"Periode: {first:%d-%m-%Y} t/m {today:%d-%m-%Y}"])
    sheet.append([])
    sheet.append(TICKET_HEADER)
    for cell in sheet[4]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    for column in ("I", "J"):
        for cell in sheet[column][4:]:
            cell.number_format = "dd-mm-yyyy hh:mm"
    book.save(path)
    return path


def write_samples(
    folder: Path,
    today: date,
    municipalities: list[Municipality] | None = None,
    seed: int = SEED,
) -> list[Path]:
    """Write the three demo exports into ``folder`` (made when missing): appointments and
    e-loket requests as CSV, IT tickets as an Excel report. Returns their paths."""
    municipalities = municipalities or demo_municipalities()
    folder.mkdir(parents=True, exist_ok=True)
    return [
        write_csv(
            folder / APPOINTMENTS[2], APPOINTMENT_HEADER, appointments(today, municipalities, seed)
        ),
        write_csv(folder / ELOKET[2], ELOKET_HEADER, eloket_requests(today, municipalities, seed)),
        write_ticket_report(folder / TICKETS[2], it_tickets(today, municipalities, seed), today),
    ]


# --- Loading ------------------------------------------------------------------------


def load_exports(out: Any, steward: Any, owner: Any, today: date | None = None) -> None:
    """Create the three datasets (shared with the region, not open: internal management
    data) and load each file through the steward's upload, review and load steps. A
    dataset that is there already is left alone, so the demo can run again."""
    from django.utils import timezone

    from regiohub.core.models import Organisation
    from regiohub.datasets.models import Dataset

    todo = [
        spec
        for spec in (APPOINTMENTS, ELOKET, TICKETS)
        if not Dataset.objects.filter(slug=spec[0]).exists()
    ]
    if not todo:
        return
    today = today or timezone.localdate()
    municipalities = [
        Municipality(o.nis_code, o.name, o.population or 0)
        for o in Organisation.objects.filter(nis_code__in=MUNICIPALITY_CODES).order_by("nis_code")
    ]
    with tempfile.TemporaryDirectory() as folder:
        paths = {path.name: path for path in write_samples(Path(folder), today, municipalities)}
        for slug, title, filename in todo:
            upload_export(out, steward, owner, slug, title, paths[filename])


def upload_export(out: Any, steward: Any, owner: Any, slug: str, title: str, path: Path) -> Any:
    """One export as a new dataset, through start_upload, inspect, confirm and execute
    with the columns as the ingest reads them and the export's primary key. Returns the
    load (``LoadState.DONE`` when it was loaded)."""
    from django.core.files import File

    from regiohub.datasets import services
    from regiohub.datasets.models import LoadState

    dataset = services.create_dataset(
        steward,
        slug=slug,
        title=title,
        description=DESCRIPTION,
        owner=owner,
        theme="GOVE",
        licence="internal",
        attribution=ATTRIBUTION,
        access="region",
    )
    with path.open("rb") as handle:
        load = services.start_upload(dataset, steward, File(handle, name=path.name))
    services.inspect(load)
    load.refresh_from_db()
    if load.state != LoadState.REVIEW:
        out.write(f"Demo dataset {slug}: not read ({load.message}).\n")
        return load
    services.confirm(
        load, steward, columns=load.schema, primary_key=PRIMARY_KEYS[slug], mode="upsert"
    )
    load.refresh_from_db()
    services.execute(load)
    load.refresh_from_db()
    if load.state != LoadState.DONE:
        out.write(f"Demo dataset {slug}: not loaded ({load.message}).\n")
        return load
    out.write(f"Demo dataset {slug}: {load.rows_done} rows (demo data).\n")
    return load
