"""A realistic month of reports for the demo: spread over the 13 municipalities by
population, over the subjects and channels, and through every state of the workflow.

Reports are filed and handled through the real services, on a demo clock set to the
moment each step happened, so history, SLA due dates and pauses are what they would be.
The mails these steps queue are dropped: nobody should get a month of demo mail.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from unittest import mock

from django.utils import timezone

from regiohub.core import geo
from regiohub.core.models import HistoryEntry, Organisation, User
from regiohub.core.models.organisation import OrganisationKind
from regiohub.meldpunt import services
from regiohub.meldpunt.demo import demo_answers
from regiohub.meldpunt.models import (
    ExternalBody,
    Handover,
    Message,
    MessageTemplate,
    Photo,
    Report,
    SatisfactionOption,
)
from regiohub.meldpunt.services import citizen, routing
from regiohub.meldpunt.workflow import Status

DAYS = 30
REPORTS_PER_1000_INHABITANTS = 2.0  # per month

EXTERNAL_BODIES = [
    ("awv", "Agentschap Wegen en Verkeer - District Kortrijk",
     "Agence flamande Routes et Circulation - District de Courtrai",
     "Flemish roads agency - District Kortrijk", "awv@external.demo.regiohub.localhost",
     "Gewestwegen (N-wegen) en autosnelwegen"),
    ("fluvius", "Fluvius", "Fluvius", "Fluvius (grid operator)",
     "straatverlichting@fluvius.demo.regiohub.localhost", "Straatverlichting en nutsleidingen"),
    ("de-lijn", "De Lijn", "De Lijn", "De Lijn", "haltes@delijn.demo.regiohub.localhost",
     "Bushaltes en schuilhuisjes"),
    ("de-watergroep", "De Watergroep", "De Watergroep", "De Watergroep",
     "meldingen@watergroep.demo.regiohub.localhost", "Drinkwaterleidingen en brandkranen"),
]  # fmt: skip

TEMPLATES = [
    # (language, status, title, body)
    ("nl", "acknowledged", "Ontvangen en doorgegeven",
     "Beste {name},\n\nBedankt voor uw melding {reference} ({category}). We hebben ze "
     "doorgegeven aan de bevoegde dienst van {municipality}. U hoort van ons.\n"),
    ("nl", "waiting_for_reporter", "Vraag: exacte plaats",
     "Beste {name},\n\nOm uw melding {reference} goed te kunnen opvolgen, hebben we de "
     "exacte plaats nodig. Kunt u het huisnummer of een herkenningspunt geven?\n"),
    ("nl", "resolved", "Opgelost",
     "Beste {name},\n\nUw melding {reference} over {category} aan {address} is opgelost. "
     "Bedankt om het ons te laten weten.\n"),
    ("fr", "resolved", "Résolu",
     "Madame, Monsieur,\n\nVotre signalement {reference} ({category}) est résolu. "
     "Merci de nous l'avoir signalé.\n"),
    ("en", "resolved", "Resolved",
     "Dear {name},\n\nYour report {reference} ({category}) has been resolved. "
     "Thank you for letting us know.\n"),
]  # fmt: skip

DESCRIPTIONS = {
    "pothole": ["Diepe put in het fietspad, gevaarlijk voor fietsers.",
                "Verzakking in de rijweg na de werken.", "Losliggende stoeptegels aan de school."],
    "street-light": ["Straatlamp brandt al een week niet.", "Lamp flikkert de hele nacht.",
                     "Paal scheef na aanrijding, lamp brandt niet meer."],
    "illegal-dumping": ["Zakken huisvuil achtergelaten aan de glasbol.",
                        "Oude matras en meubels langs de weg.", "Bouwafval in de gracht."],
    "noise": ["Luide muziek van een café tot 3 uur 's nachts.",
              "Bouwwerf begint elke dag om 5 uur.", "Blaffende honden de hele dag."],
    "waste-collection": ["PMD-zak niet opgehaald op dinsdag.",
                         "Wanneer komt de ophaling van snoeiafval?", "Container niet geledigd."],
    "traffic-sign": ["Verkeersbord omver gereden.", "Bord onleesbaar door graffiti.",
                     "Zone 30-bord ontbreekt sinds de werken."],
    "question": ["Hoe vraag ik een parkeerkaart voor bewoners aan?",
                 "Waar kan ik een evenement aanvragen?", "Wie onderhoudt de haag aan het park?"],
}  # fmt: skip

STREETS = [
    "Kerkstraat", "Stationsstraat", "Markt", "Schoolstraat", "Molenstraat",
    "Doorniksesteenweg", "Gentsesteenweg", "Leiekaai", "Rijselstraat", "Dorpsplein",
]  # fmt: skip
NAMES = [
    "An Peeters", "Jan Desmet", "Sofie Vandenberghe", "Ahmed El Amrani", "Lies Verhaeghe",
    "Pieter Claeys", "Marie Dubois", "Tom Decock", "Fatma Yilmaz", "Bart Vermeulen",
]  # fmt: skip

# The standard answers to "Are you satisfied?": region-wide (the same as migration 0016
# gives a new site) and Kortrijk's own list, to show that a municipality may word its own.
SATISFACTION_OPTIONS = {
    "": [
        ("Snel en goed opgelost", "Résolu rapidement et correctement",
         "Solved quickly and well", True),
        ("Opgelost, maar het kon sneller", "Résolu, mais cela aurait pu aller plus vite",
         "Solved, but it could have been faster", True),
        ("Niet echt opgelost", "Pas vraiment résolu", "Not really solved", False),
        ("Het duurde te lang", "Cela a pris trop de temps", "It took too long", False),
        ("Ik kreeg te weinig uitleg", "Je n'ai pas reçu assez d'explications",
         "I was not told enough", False),
    ],
    "KOR": [
        ("Snel en goed opgelost", "Résolu rapidement et correctement",
         "Solved quickly and well", True),
        ("Opgelost, en goed op de hoogte gehouden", "Résolu, et bien tenu au courant",
         "Solved, and kept well informed", True),
        ("Opgelost, maar het duurde lang", "Résolu, mais cela a pris du temps",
         "Solved, but it took long", True),
        ("Niet echt opgelost", "Pas vraiment résolu", "Not really solved", False),
        ("Het duurde te lang", "Cela a pris trop de temps", "It took too long", False),
    ],
}  # fmt: skip

# Target states for reports this old (days): the older, the more likely finished.
OLD = [(Status.CLOSED, 45), (Status.RESOLVED, 20), (Status.CANCELLED, 5), (Status.MERGED, 5),
       (Status.FORWARDED, 7), (Status.REOPENED, 3), (Status.IN_PROGRESS, 8), (Status.ON_HOLD, 4),
       (Status.WAITING_FOR_REPORTER, 3)]  # fmt: skip
RECENT = [
    (Status.NEW, 25), (Status.ACKNOWLEDGED, 25), (Status.IN_PROGRESS, 25),
    (Status.WAITING_FOR_REPORTER, 10), (Status.RESOLVED, 10), (Status.ON_HOLD, 5),
]  # fmt: skip


@contextmanager
def demo_clock(moment: datetime) -> Iterator[None]:
    """Make "now" ``moment`` for the services (and for fields that default to now)."""
    fields = [
        HistoryEntry._meta.get_field("at"),
        Message._meta.get_field("created_at"),
        Photo._meta.get_field("created_at"),
        Handover._meta.get_field("created_at"),
    ]
    with ExitStack() as stack:
        stack.enter_context(mock.patch("django.utils.timezone.now", return_value=moment))
        for field in fields:
            stack.enter_context(mock.patch.object(field, "_get_default", lambda: moment))
        yield


def load_reference_data() -> None:
    for code, nl, fr, en, email, description in EXTERNAL_BODIES:
        ExternalBody.objects.update_or_create(
            code=code,
            defaults={"name": nl, "name_fr": fr, "name_en": en, "email": email,
                      "description": description},
        )  # fmt: skip
    for language, status, title, body in TEMPLATES:
        MessageTemplate.objects.get_or_create(
            organisation=None, language=language, status=status, title=title,
            defaults={"body": body},
        )  # fmt: skip
    load_satisfaction_options(municipal=True)
    kortrijk = Organisation.objects.filter(code="KOR").first()
    if kortrijk:
        MessageTemplate.objects.get_or_create(
            organisation=kortrijk, language="nl", status="resolved",
            title="Opgelost (Kortrijk, met enquête)",
            defaults={"body": "Beste {name},\n\nUw melding {reference} is opgelost. Laat u op "
                      "de opvolgpagina weten hoe tevreden u bent?\n\nStad Kortrijk"},
        )  # fmt: skip


def load_satisfaction_options(*, municipal: bool) -> None:
    """The region-wide standard answers (what migration 0016 gives a new site, again:
    a test database flushed between tests loses what migrations wrote), and with
    ``municipal`` Kortrijk's own list."""
    for organisation_code, options in SATISFACTION_OPTIONS.items():
        organisation = Organisation.objects.filter(code=organisation_code).first()
        if organisation_code and (organisation is None or not municipal):
            continue
        for position, (nl, fr, en, satisfied) in enumerate(options, start=1):
            SatisfactionOption.objects.update_or_create(
                organisation=organisation, text=nl,
                defaults={"position": position, "text_fr": fr, "text_en": en,
                          "satisfied": satisfied},
            )  # fmt: skip


def _working_time(rng: random.Random, day: datetime) -> datetime:
    return day.replace(hour=rng.randint(7, 21), minute=rng.randint(0, 59), second=0)


def _step(moment: datetime, rng: random.Random, hours: tuple[int, int]) -> datetime:
    """A later moment within office hours (staff act between 8 and 18, local time)."""
    later = timezone.localtime(moment + timedelta(hours=rng.randint(*hours)))
    if later.hour < 8:
        later = later.replace(hour=8)
    elif later.hour >= 18:
        later = (later + timedelta(days=1)).replace(hour=8)
    return later.replace(minute=rng.randint(0, 59))


def _points_in(organisation: Organisation, rng: random.Random) -> tuple[float, float]:
    lat0, lon0 = geo.representative_point(organisation.pk)
    for _ in range(50):
        lat = lat0 + rng.uniform(-0.02, 0.02)
        lon = lon0 + rng.uniform(-0.03, 0.03)
        if geo.municipality_at(lat, lon).organisation_id == organisation.pk:
            return round(lat, 6), round(lon, 6)
    return lat0, lon0


def fill_districts() -> int:
    """Give reports without a district theirs (a demo database whose reports were filed
    before the districts were loaded); returns how many got one."""
    rows = list(
        Report.objects.filter(district_code="", location_is_approximate=False).values_list(
            "pk", "latitude", "longitude"
        )
    )
    codes = geo.districts_at([(lat, lon) for _pk, lat, lon in rows])
    located = [
        Report(pk=pk, district_code=code)
        for (pk, _lat, _lon), code in zip(rows, codes, strict=True)
        if code
    ]
    Report.objects.bulk_update(located, ["district_code"], batch_size=500)
    return len(located)


def load_reports(seed: int = 2026) -> int:
    """File and handle a month of reports, ending now. Does nothing when reports exist."""
    if Report.objects.exists():
        return 0
    from django_tasks_db.models import DBTaskResult

    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    load_reference_data()
    before = set(DBTaskResult.objects.values_list("id", flat=True))
    staff = {}
    for user in User.objects.filter(memberships__role__in=["agent", "handler"]).distinct():
        for org_id in user.memberships.values_list("organisation_id", flat=True):
            staff.setdefault(org_id, []).append(user)
    bodies = {b.code: b for b in ExternalBody.objects.all()}
    now = timezone.now()
    start = (now - timedelta(days=DAYS)).replace(hour=0, minute=0, second=0, microsecond=0)
    municipalities = list(Organisation.objects.filter(kind=OrganisationKind.MUNICIPALITY))
    codes = list(DESCRIPTIONS)
    filed: list[tuple[Report, datetime]] = []
    count = 0
    for organisation in municipalities:
        monthly = (organisation.population or 10000) / 1000 * REPORTS_PER_1000_INHABITANTS
        for _ in range(max(3, int(monthly))):
            day = start + timedelta(days=rng.randrange(DAYS))
            moment = _working_time(rng, day)
            if moment >= now:
                moment = now - timedelta(hours=rng.randint(1, 6))
            code = rng.choice(codes)
            channel = rng.choices(["web", "phone", "desk", "email", "chat"], [60, 20, 8, 8, 4])[0]
            anonymous = rng.random() < 0.15 and code not in (
                "noise",
                "waste-collection",
                "question",
            )
            language = rng.choices(["nl", "fr", "en"], [88, 9, 3])[0]
            name = rng.choice(NAMES)
            email = "" if anonymous else f"{name.split()[0].lower()}.{count}@example.org"
            lat, lon = _points_in(organisation, rng)
            agent = rng.choice(staff.get(organisation.pk, [None]))
            with demo_clock(moment):
                report = services.submit_report(
                    category_code=code,
                    description=rng.choice(DESCRIPTIONS[code]),
                    latitude=lat,
                    longitude=lon,
                    address=f"{rng.choice(STREETS)} {rng.randint(1, 180)}",
                    channel=channel,
                    reporter_name="" if anonymous else name,
                    reporter_email=email,
                    reporter_phone="" if anonymous or rng.random() < 0.5 else "056 12 34 56",
                    language=language,
                    consent=not anonymous,
                    actor=agent if channel != "web" else None,
                    attributes=demo_answers(code, count),
                ).report
            # What the worker does right after filing (the demo's own tasks are dropped).
            with demo_clock(moment + timedelta(seconds=rng.randint(2, 20))):
                routing.hand_over_pending(report.pk)
            filed.append((report, moment))
            count += 1
    filed.sort(key=lambda pair: pair[1])
    for report, moment in filed:
        age = (now - moment).days
        target = rng.choices(*zip(*(OLD if age > 7 else RECENT), strict=True))[0]
        _handle(report, target, moment, now, rng, staff.get(report.organisation_id, []), bodies,
                filed)  # fmt: skip
    DBTaskResult.objects.exclude(id__in=before).filter(status="READY").delete()
    return count


def _handle(
    report: Report,
    target: Status,
    moment: datetime,
    now: datetime,
    rng: random.Random,
    people: list[User],
    bodies: dict[str, ExternalBody],
    filed: list[tuple[Report, datetime]],
) -> None:
    """Walk ``report`` from new to ``target`` along the workflow, each step a little later."""
    report.refresh_from_db(fields=["status"])
    if report.status != Status.NEW:
        return  # the routing rules handed it to its owner (or a "me too" merged it)
    actor = rng.choice(people) if people else None

    def at(hours: tuple[int, int]) -> datetime:
        nonlocal moment
        moment = min(_step(moment, rng, hours), now - timedelta(minutes=5))
        return moment

    def status(to: Status, reason: str = "") -> None:
        with demo_clock(at((1, 30))):
            services.change_status(report, to, actor=actor, reason=reason)

    if target == Status.NEW:
        return
    status(Status.ACKNOWLEDGED)
    if actor and rng.random() < 0.6:
        with demo_clock(at((0, 2))):
            services.assign(report, actor=actor, assignee=actor)
    if target == Status.ACKNOWLEDGED:
        return
    if target == Status.CANCELLED:
        status(Status.CANCELLED, "Dubbele melding via telefoon en website.")
        return
    if target == Status.FORWARDED:
        body = bodies["fluvius" if report.category.code == "street-light" else "awv"]
        with demo_clock(at((2, 24))):
            services.forward_to_external_body(
                report, body, reason="Gewestweg / net van de beheerder.", actor=actor
            )
        return
    if target == Status.MERGED:
        earlier = [
            r for r, _m in filed
            if r.pk < report.pk and r.organisation_id == report.organisation_id
            and r.category_id == report.category_id
        ]  # fmt: skip
        into = next((r for r in reversed(earlier) if Report.objects.get(pk=r.pk).is_open), None)
        if into is not None:
            with demo_clock(at((1, 8))):
                services.merge(report, Report.objects.get(pk=into.pk), actor=actor)
            return
        target = Status.RESOLVED
    status(Status.IN_PROGRESS)
    with demo_clock(at((1, 8))):
        services.add_note(report, "Ploeg ingepland voor deze week.", actor=actor)
    if target == Status.IN_PROGRESS:
        return
    if target == Status.ON_HOLD:
        status(Status.ON_HOLD, "Wacht op levering van materiaal.")
        return
    if target == Status.WAITING_FOR_REPORTER:
        with demo_clock(at((1, 8))):
            services.send_message(
                report, "Kunt u het huisnummer of een herkenningspunt geven?",
                actor=actor, question=True,
            )  # fmt: skip
        return
    status(Status.RESOLVED)
    if target == Status.RESOLVED:
        if report.reporter_email and rng.random() < 0.4:
            with demo_clock(at((2, 48))):
                _answer_satisfaction(report, rng, satisfied=rng.random() < 0.7)
        return
    if target == Status.REOPENED:
        # The reporter asks, an agent agrees (ADR 0039: never a reopen by itself).
        with demo_clock(at((4, 48))):
            _answer_satisfaction(report, rng, satisfied=False, reopen=True)
        status(Status.REOPENED, "We bekijken het opnieuw.")
        return
    if report.reporter_email and rng.random() < 0.5:
        with demo_clock(at((2, 48))):
            _answer_satisfaction(report, rng, satisfied=rng.random() < 0.85)
    status(Status.CLOSED)


def _answer_satisfaction(
    report: Report, rng: random.Random, *, satisfied: bool, reopen: bool = False
) -> None:
    """The reporter answers the question asked after resolution; some who are not
    satisfied ask to look at the report again (a request left for an agent)."""
    fresh = Report.objects.get(pk=report.pk)
    options = [o for o in citizen.satisfaction_options(fresh) if o.satisfied == satisfied]
    if not options:
        return
    reopen = reopen or (not satisfied and rng.random() < 0.3)
    comment = "De put is nog altijd niet hersteld." if reopen else ""
    citizen.answer_satisfaction(fresh, rng.choice(options).pk, comment, reopen=reopen)
