"""What filing a report reads every time, kept per process: the organisations, the active
subjects of each municipality (with their department and extra questions) and each
organisation's SLA calendar.

Intake reads these for every report; they change a few times a year, in the admin. A
:class:`~regiohub.core.snapshot.Snapshot` keeps them: a change in this process holds at
once, other processes see it within ``REGIOHUB_MELDPUNT_ROUTING_CHECK_SECONDS`` (the same
delay as the routing rules they go with). Callers get copies: a report may change the
instance it was given without touching the shared one.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Prefetch

from regiohub.core.models import Department, Organisation
from regiohub.core.snapshot import Snapshot
from regiohub.meldpunt.models import Category, CategoryAttribute
from regiohub.meldpunt.models.category import ClosingDay, SlaCalendar
from regiohub.meldpunt.sla import Calendar


@dataclass(frozen=True)
class _Catalogue:
    organisations: dict[int, Organisation]
    municipalities: dict[str, int]  # code -> id
    categories: dict[tuple[int, str], Category]  # (organisation id, code) -> active category
    calendars: dict[int, Calendar]


def _calendars() -> dict[int, Calendar]:
    flemish = dict(SlaCalendar.objects.values_list("organisation_id", "flemish_community_holiday"))
    once: dict[int, set] = defaultdict(set)
    yearly: dict[int, set] = defaultdict(set)
    for organisation_id, day, repeats in ClosingDay.objects.values_list(
        "organisation_id", "date", "repeats_yearly"
    ):
        (yearly if repeats else once)[organisation_id].add(day)
    return {
        pk: Calendar(
            closing_days=frozenset(once[pk]),
            yearly_closing_days=frozenset(yearly[pk]),
            flemish_community_holiday=flemish.get(pk) is not False,
        )
        for pk in Organisation.objects.values_list("pk", flat=True)
    }


def _build() -> _Catalogue:
    # The boundary is large and filing never reads it (``core.geo`` keeps its own copy).
    organisations = {o.pk: o for o in Organisation.objects.defer("boundary")}
    categories = {
        (c.organisation_id, c.code): c
        for c in Category.objects.filter(is_active=True)
        .select_related("department")
        .prefetch_related(Prefetch("attributes", CategoryAttribute.objects.order_by("order", "pk")))
    }
    return _Catalogue(
        organisations=organisations,
        municipalities={o.code: o.pk for o in organisations.values() if o.kind == "municipality"},
        categories=categories,
        calendars=_calendars(),
    )


_snapshot: Snapshot[_Catalogue] = Snapshot(
    "meldpunt.catalogue",
    _build,
    [Organisation, Department, Category, CategoryAttribute, SlaCalendar, ClosingDay],
    check_seconds=lambda: settings.MELDPUNT_ROUTING_CHECK_SECONDS,
)


def organisation(pk: int) -> Organisation | None:
    found = _snapshot.get().organisations.get(pk)
    return copy.copy(found) if found is not None else None


def municipality(code: str) -> Organisation | None:
    """The municipality of the region with this code (``kortrijk``), or None."""
    catalogue = _snapshot.get()
    pk = catalogue.municipalities.get(code)
    return copy.copy(catalogue.organisations[pk]) if pk is not None else None


def category(organisation_id: int, code: str) -> Category | None:
    """The municipality's active subject ``code`` with its department and questions."""
    found = _snapshot.get().categories.get((organisation_id, code))
    return copy.copy(found) if found is not None else None


def calendar(organisation_id: int) -> Calendar:
    """The organisation's SLA calendar (see ``services.filing.calendar_for``)."""
    found = _snapshot.get().calendars.get(organisation_id)
    if found is None:  # an organisation added since: no closing days, 11 July closed
        found = Calendar(flemish_community_holiday=True)
    return found
