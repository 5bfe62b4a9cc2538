"""What dashboards tell the rest of the platform, and the history actions they write."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from regiohub.core import events, history

__all__ = ["Action", "DashboardSaved"]


class Action(history.Actions):
    DASHBOARD_CREATED = "dashboard.created"
    DASHBOARD_CHANGED = "dashboard.changed"
    DASHBOARD_DELETED = "dashboard.deleted"


@events.declare
@dataclass(frozen=True)
class DashboardSaved(events.Event):
    """A dashboard was created or changed: its public figures are drawn again ahead."""

    name: ClassVar[str] = "dashboards.dashboard_saved"
    dashboard_id: int
    slug: str
    audience: str
    revision: int
