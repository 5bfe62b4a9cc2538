"""Routing reports to back offices and applying the status updates they send back."""

from __future__ import annotations

import enum
from collections.abc import Iterable

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from regiohub.core import history
from regiohub.core.snapshot import Snapshot
from regiohub.core.tasks import enqueue, once
from regiohub.meldpunt.contrib.connectors.base import ConnectorAction, Refused, StatusUpdate
from regiohub.meldpunt.events import ReportAssigned, ReportFiled, ReportHandedOver
from regiohub.meldpunt.models import ConnectorConfig, Delivery, Report
from regiohub.meldpunt.models.connector import DeliveryState
from regiohub.meldpunt.workflow import TransitionNotAllowed

log = structlog.get_logger(__name__)


def config_for(report: Report) -> ConnectorConfig | None:
    """The active connector of the report's municipality for its category; one set for
    the category wins over one for all categories."""
    candidates = ConnectorConfig.objects.filter(
        Q(category_code=report.category.code) | Q(category_code=""),
        organisation=report.organisation_id,
        is_active=True,
    )
    return min(candidates, key=lambda c: (c.category_code == "", c.pk), default=None)


def _connected() -> frozenset[int]:
    return frozenset(
        ConnectorConfig.objects.filter(is_active=True).values_list("organisation_id", flat=True)
    )


#: The municipalities with an active connector, per process (a change elsewhere holds
#: within the routing check interval, like the routing rules).
_connected_snapshot: Snapshot[frozenset[int]] = Snapshot(
    "meldpunt.connectors.connected",
    _connected,
    [ConnectorConfig],
    check_seconds=lambda: settings.MELDPUNT_ROUTING_CHECK_SECONDS,
)


def has_connector(organisation_id: int) -> bool:
    """Whether the municipality has any active back-office connector (asked when an event
    is published, so municipalities without one cost no task per report, and no query)."""
    return organisation_id in _connected_snapshot.get()


def deliver_if_connected(report_id: int) -> Delivery | None:
    """Enqueue a push when the report's connector has not had it yet (one transaction with
    the delivery row: a push is queued exactly once per report and connector)."""
    report = Report.objects.select_related("category").filter(pk=report_id).first()
    if report is None:
        return None
    config = config_for(report)
    if config is None:
        return None
    delivery, created = Delivery.objects.get_or_create(report=report, config=config)
    if created:
        from regiohub.meldpunt.contrib.connectors.tasks import push_report

        enqueue(push_report, delivery.pk)
    return delivery


def on_routing_event(event: ReportFiled | ReportAssigned | ReportHandedOver) -> None:
    """Subscriber: filing, a new department or a hand-over may put the report in the hands
    of a (new) back office."""
    deliver_if_connected(event.report_id)


def routing_event_concerns_connectors(
    event: ReportFiled | ReportAssigned | ReportHandedOver,
) -> bool:
    if isinstance(event, ReportHandedOver):
        return event.to_organisation_id is not None and has_connector(event.to_organisation_id)
    return has_connector(event.organisation_id)


def subscribe() -> None:
    """Connected in ``MeldpuntConfig.ready()``."""
    from regiohub.core import events
    from regiohub.meldpunt.contrib.connectors.registry import connectors

    for event in (ReportFiled, ReportAssigned, ReportHandedOver):
        events.subscribe(
            event,
            f"meldpunt.connectors.{event.name.split('.')[1]}",
            on_routing_event,
            queue="connectors",
            when=routing_event_concerns_connectors,
        )
    for connector in connectors.all():
        connector.subscribe()


#: Longest refusal reason kept in the history (the delivery keeps its first 500 characters).
MAX_REASON = 2000


def clean_reason(reason: str, report: Report) -> str:
    """The back office's words, safe to keep: no NUL or control characters (no text column
    holds them), the reporter's contact details blanked (the history is append-only and
    outlives an erasure), at most :data:`MAX_REASON` characters."""
    text = "".join(c if c.isprintable() or c in "\n\t" else " " for c in reason).strip()
    for detail in (report.reporter_email, report.reporter_phone, report.reporter_name):
        if len(detail) >= 3:
            text = text.replace(detail, "…")
    return text[:MAX_REASON] or "-"


def record_refusal(delivery: Delivery, refusal: Refused, *, what: str = "report") -> str:
    """Keep a back office's refusal on the delivery and in its history; returns the text
    stored as ``last_error``. A refused report waits for a replay (``dead``); a refused
    update leaves the delivery as it was (the incident exists)."""
    reason = clean_reason(refusal.reason, delivery.report)
    error = (f"HTTP {refusal.status}: {reason}" if refusal.status else reason)[:500]
    changes: dict[str, object] = {"last_error": error}
    if what == "report":
        changes["state"] = DeliveryState.DEAD
    Delivery.objects.filter(pk=delivery.pk).update(**changes, updated_at=timezone.now())
    history.record(
        delivery,
        ConnectorAction.DELIVERY_REFUSED,
        actor_label=delivery.config.name,
        organisation=delivery.config.organisation_id,
        after={"refused": what, "http_status": refusal.status, "report": delivery.report_id},
        reason=reason,
    )
    log.warning("back office refused", delivery=delivery.pk, what=what, status=refusal.status)
    return error


@transaction.atomic
def replay(deliveries: Iterable[Delivery]) -> int:
    """Try failed or dead deliveries again, from a fresh count of attempts."""
    from regiohub.meldpunt.contrib.connectors.tasks import push_report

    count = 0
    for delivery in deliveries:
        if delivery.state == DeliveryState.SENT:
            continue
        Delivery.objects.filter(pk=delivery.pk).update(
            state=DeliveryState.PENDING, attempts=0, replayed_at=timezone.now()
        )
        enqueue(push_report, delivery.pk)
        count += 1
    return count


class Outcome(enum.Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    NOT_FOUND = "not_found"
    REFUSED = "refused"


def apply_update(config: ConnectorConfig, update: StatusUpdate) -> Outcome:
    """Apply a back office's status update through the workflow, once per event id.

    Only reports this connector received, of its own municipality, can be touched.
    """
    delivery = (
        Delivery.objects.filter(
            config=config,
            external_id=update.external_id,
            report__organisation=config.organisation_id,
        )
        .exclude(external_id="")
        .select_related("report")
        .first()
    )
    if delivery is None:
        return Outcome.NOT_FOUND
    from regiohub.meldpunt.services import change_status

    with once(f"connector:{config.pk}:{update.event_id}") as first:
        if not first or delivery.report.status == update.status:
            return Outcome.DUPLICATE
        try:
            change_status(
                delivery.report,
                update.status,
                actor=None,
                actor_label=config.name,
                reason=update.note or _("Status from %(name)s") % {"name": config.name},
            )
        except TransitionNotAllowed as exc:
            error = f"{timezone.now():%Y-%m-%d %H:%M} status {exc.current} -> {exc.target} refused"
            Delivery.objects.filter(pk=delivery.pk).update(last_error=error)
            log.warning("connector status refused", config=config.pk, delivery=delivery.pk)
            return Outcome.REFUSED
    return Outcome.APPLIED
