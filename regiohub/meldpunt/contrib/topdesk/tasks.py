"""TOPdesk has no callbacks: ask it for the status of the incidents we created. And tell it
what regiohub did (:mod:`.updates`)."""

from __future__ import annotations

from typing import cast

import structlog

from regiohub.core.tasks import once, task
from regiohub.meldpunt.contrib.connectors.base import ConnectorError, Refused
from regiohub.meldpunt.contrib.connectors.registry import connector_for
from regiohub.meldpunt.contrib.connectors.services import apply_update, record_refusal
from regiohub.meldpunt.contrib.connectors.tasks import PUSH_MAX_ATTEMPTS
from regiohub.meldpunt.contrib.topdesk.connector import TopdeskConnector
from regiohub.meldpunt.models import Delivery
from regiohub.meldpunt.models.connector import DeliveryState
from regiohub.meldpunt.workflow import FINISHED

log = structlog.get_logger(__name__)


@task(queue_name="connectors", max_attempts=1)
def poll_topdesk() -> int:
    """Apply TOPdesk status changes to our open reports; returns how many changed."""
    deliveries = (
        Delivery.objects.filter(
            config__connector="topdesk", config__is_active=True, state=DeliveryState.SENT
        )
        .exclude(report__status__in=FINISHED)
        .select_related("config", "report")
    )
    changed = 0
    for delivery in deliveries:
        try:
            update = connector_for(delivery.config).fetch_status(delivery.external_id)
        except ConnectorError as exc:
            log.warning("topdesk poll failed", delivery=delivery.pk, error=str(exc))
            continue
        if update is None or update.status == delivery.report.status:
            continue
        changed += apply_update(delivery.config, update).value == "applied"
    return changed


@task(queue_name="connectors", max_attempts=PUSH_MAX_ATTEMPTS)
def push_topdesk_update(delivery_id: int, kind: str, object_id: int) -> str:
    """Add one status change (``kind`` "status", a history entry id), one message to the
    reporter ("message", a message id) or a photo added later ("photo", its id) to the
    delivery's incident, once.

    Once twice over: the idempotency key skips a task that already ran to the end, and the
    marker in the action's text (:meth:`TopdeskConnector.add_update`) a task whose PATCH
    went through but whose worker died before the key was stored.
    """
    from regiohub.meldpunt.contrib.topdesk.updates import build

    delivery = Delivery.objects.select_related("config", "report").filter(pk=delivery_id).first()
    if delivery is None or delivery.state == DeliveryState.DEAD:
        return "no incident"
    if delivery.state != DeliveryState.SENT or not delivery.external_id:
        raise ConnectorError("the incident is not made yet")  # retried with back-off
    connector = cast("TopdeskConnector", connector_for(delivery.config))
    if kind == "photo":  # attached by file name: repeating it adds nothing
        photos = list(delivery.report.photos.filter(pk=object_id))
        try:
            added = connector.attach_photos(delivery.report, delivery.external_id, photos)
        except Refused as refusal:
            record_refusal(delivery, refusal, what="update")
            return "refused"
        return "added" if added else "was there"
    update = build(connector, delivery.report, kind, object_id)
    if update is None:
        return "nothing to add"
    with once(f"topdesk-update:{delivery.pk}:{kind}:{object_id}") as first:
        if not first:
            return "added before"
        try:
            added = connector.add_update(delivery.external_id, update)
        except Refused as refusal:
            record_refusal(delivery, refusal, what="update")
            return "refused"
    return "added" if added else "was there"
