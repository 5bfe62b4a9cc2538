"""What the contact point tells the rest of the platform, and the names of its history.

Events (see ``core.events``) are published by the services in their transaction and
delivered after commit; ``docs/events.md`` says who listens. Payloads carry ids and codes,
never the reporter's personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from regiohub.core import events, history

#: The door other modules may use (tests/test_module_walls.py checks it).
__all__ = [
    "Action",
    "ReportAnonymised",
    "ReportAssigned",
    "ReportFiled",
    "ReportHandedOver",
    "ReportMerged",
    "ReportStatusChanged",
]


class Action(history.Actions):
    """The ``action`` of every history entry the contact point writes."""

    REPORT_CREATED = "report.created"
    REPORT_FILED_THROUGH_API = "report.filed_through_api"
    REPORT_UPDATED_THROUGH_API = "report.updated_through_api"
    STATUS_CHANGED = "report.status_changed"
    ASSIGNED = "report.assigned"
    NOTE_ADDED = "report.note_added"
    MESSAGE_SENT = "report.message_sent"
    HANDED_OVER = "report.handed_over"
    HANDOVER_ACKNOWLEDGED = "report.handover_acknowledged"
    HANDOVER_REJECTED = "report.handover_rejected"
    HANDOVER_RESOLVED = "report.handover_resolved"
    HANDOVER_ENDED = "report.handover_ended"
    MERGE_RECEIVED = "report.merge_received"
    SPLIT = "report.split"
    REPORTER_ANSWERED = "report.reporter_answered"
    PHOTO_ADDED = "report.photo_added"
    RATED = "report.rated"
    SATISFACTION_ASKED = "report.satisfaction_asked"
    SATISFACTION_ANSWERED = "report.satisfaction_answered"
    REOPEN_REQUESTED = "report.reopen_requested"
    REOPEN_DECLINED = "report.reopen_declined"
    ANONYMISED = "report.anonymised"
    PLACE_CHANGED = "report.place_changed"
    ROUTED = "report.routed"
    CATEGORY_CHANGED = "report.category_changed"
    LAYER_IMPORTED = "layer.imported"


@events.declare
@dataclass(frozen=True)
class ReportFiled(events.Event):
    """A new report exists: filed on any channel, or split off another report."""

    name: ClassVar[str] = "meldpunt.report_filed"
    report_id: int
    reference: str
    organisation_id: int
    category_code: str
    channel: str
    split_from_id: int | None = None


@events.declare
@dataclass(frozen=True)
class ReportStatusChanged(events.Event):
    name: ClassVar[str] = "meldpunt.report_status_changed"
    report_id: int
    organisation_id: int
    status_before: str
    status_after: str
    history_entry_id: int


@events.declare
@dataclass(frozen=True)
class ReportAssigned(events.Event):
    """Another department and/or person of the same municipality handles the report."""

    name: ClassVar[str] = "meldpunt.report_assigned"
    report_id: int
    organisation_id: int
    department_id: int
    assignee_id: int | None


@events.declare
@dataclass(frozen=True)
class ReportHandedOver(events.Event):
    """The report went to another municipality (``to_organisation_id``) or to an external
    body that owns the asset (``external_body_id``)."""

    name: ClassVar[str] = "meldpunt.report_handed_over"
    report_id: int
    from_organisation_id: int
    to_organisation_id: int | None
    external_body_id: int | None
    handover_id: int


@events.declare
@dataclass(frozen=True)
class ReportRouted(events.Event):
    """Routing decided who owns the report (the rules at filing or after a correction, or
    an agent): ``decision_id`` is the trace. ``hand_over``: the owner is an external body
    the report still has to be handed to; the meldpunt does that itself, after commit."""

    name: ClassVar[str] = "meldpunt.report_routed"
    report_id: int
    organisation_id: int
    decision_id: int
    state: str
    owner_kind: str
    external_body_id: int | None
    hand_over: bool


@events.declare
@dataclass(frozen=True)
class ReportMerged(events.Event):
    """``report_id`` was a duplicate of ``into_id`` and now follows it."""

    name: ClassVar[str] = "meldpunt.report_merged"
    report_id: int
    into_id: int
    organisation_id: int


@events.declare
@dataclass(frozen=True)
class ReportAnonymised(events.Event):
    """The reporter's contact details were erased from the report (retention or a
    person's request)."""

    name: ClassVar[str] = "meldpunt.report_anonymised"
    report_id: int
    organisation_id: int
