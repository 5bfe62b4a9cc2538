"""The dashboards' read door: which dashboards a person may open, and one of them read.

Public dashboards are for everyone. An internal one is for the staff of the organisations
it names and of those below them (a dashboard for the region is for every municipality's
staff; one for Kortrijk is for Kortrijk's and the region's). What its charts show is then
narrowed again to what each viewer may read through the other modules' doors.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from regiohub.core import access
from regiohub.dashboards import definitions
from regiohub.dashboards.models import Audience, Dashboard
from regiohub.dashboards.permissions import VIEW_DASHBOARDS

__all__ = ["Viewable", "dashboard_for", "dashboards_for", "read", "reset"]


@dataclass(frozen=True)
class Viewable:
    """A saved dashboard with its definition read."""

    id: int
    slug: str
    revision: int
    audience: str
    definition: definitions.Dashboard
    #: Of the definition's text: a dashboard deleted and made again under the same id
    #: (SQLite reuses the highest id) is never taken for the one before.
    digest: str = ""

    @property
    def public(self) -> bool:
        return self.audience == Audience.PUBLIC


def dashboards_for(user: Any) -> QuerySet[Dashboard]:
    """Every dashboard ``user`` may open (anonymous: the public ones), in list order."""
    public = Dashboard.objects.filter(audience=Audience.PUBLIC)
    mine = access.organisation_ids(user, VIEW_DASHBOARDS)
    if not mine:
        return public
    reach = access.below_each(_internal_organisations())
    allowed = [dashboard_id for dashboard_id, orgs in reach.items() if orgs & mine]
    return Dashboard.objects.filter(audience=Audience.PUBLIC) | Dashboard.objects.filter(
        pk__in=allowed
    )


def _internal_organisations() -> dict[int, set[int]]:
    through = Dashboard.organisations.through
    found: dict[int, set[int]] = {}
    for dashboard_id, organisation_id in through.objects.filter(
        dashboard__audience=Audience.INTERNAL
    ).values_list("dashboard_id", "organisation_id"):
        found.setdefault(dashboard_id, set()).add(organisation_id)
    return found


class _Read:
    """Definitions read once per process per revision (a page reads its dashboard's YAML
    on every view otherwise)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.found: OrderedDict[tuple[int, int, str], definitions.Dashboard] = OrderedDict()

    def get(self, dashboard: Dashboard) -> definitions.Dashboard:
        key = (dashboard.pk, dashboard.revision, _digest(dashboard.definition))
        with self.lock:
            if key in self.found:
                return self.found[key]
        parsed = definitions.parse(dashboard.definition)
        with self.lock:
            self.found[key] = parsed
            while len(self.found) > 256:
                self.found.popitem(last=False)
        return parsed

    def clear(self) -> None:
        with self.lock:
            self.found.clear()


_read = _Read()


def reset() -> None:
    """Forget the definitions this process read (tests)."""
    _read.clear()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def read(dashboard: Dashboard) -> Viewable:
    return Viewable(
        id=dashboard.pk,
        slug=dashboard.slug,
        revision=dashboard.revision,
        audience=dashboard.audience,
        definition=_read.get(dashboard),
        digest=_digest(dashboard.definition),
    )


def dashboard_for(user: Any, slug: str, *, public_only: bool = False) -> Viewable | None:
    """The dashboard ``slug`` if ``user`` may open it, else ``None`` (also when it does not
    exist: a page never tells an internal dashboard exists). ``public_only``: the embed
    view, which shows public dashboards alone whoever asks."""
    found = (
        Dashboard.objects.filter(slug=slug)
        .only("pk", "slug", "revision", "audience", "definition")
        .first()
    )
    if found is None:
        return None
    if found.audience != Audience.PUBLIC and (
        public_only or not dashboards_for(user).filter(pk=found.pk).exists()
    ):
        return None
    return read(found)
