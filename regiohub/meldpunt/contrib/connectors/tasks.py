"""Pushing a report to its back office, retried with back-off until it becomes dead."""

from __future__ import annotations

import structlog

from regiohub.core.tasks import task
from regiohub.meldpunt.contrib.connectors.base import ConnectorError, Refused
from regiohub.meldpunt.contrib.connectors.registry import connector_for
from regiohub.meldpunt.contrib.connectors.services import record_refusal
from regiohub.meldpunt.models import Delivery
from regiohub.meldpunt.models.connector import DeliveryState

log = structlog.get_logger(__name__)

#: Tries before a delivery is given up ("dead") and waits for a replay in the admin.
PUSH_MAX_ATTEMPTS = 5


def event_id(delivery: Delivery) -> str:
    """The same on every retry, so the back office can drop a push it already has."""
    return f"regiohub-delivery-{delivery.pk}"


@task(queue_name="connectors", max_attempts=PUSH_MAX_ATTEMPTS)
def push_report(delivery_id: int) -> str:
    delivery = Delivery.objects.select_related(
        "config", "report__category", "report__organisation"
    ).get(pk=delivery_id)
    if delivery.state in (DeliveryState.SENT, DeliveryState.DEAD):
        return delivery.state  # sent already, or waiting for a replay
    if delivery.attempts >= PUSH_MAX_ATTEMPTS:
        # Tries that never came back (their worker was killed each time) count too.
        delivery.state = DeliveryState.DEAD
        delivery.last_error = delivery.last_error or "gave up: no try finished"
        delivery.save()
        log.error("delivery dead", delivery=delivery.pk, attempts=delivery.attempts)
        return delivery.state
    delivery.attempts += 1
    # Counted before the call: a push that kills its worker every time still reaches
    # PUSH_MAX_ATTEMPTS and ends as dead instead of being tried for ever.
    Delivery.objects.filter(pk=delivery.pk).update(attempts=delivery.attempts)
    try:
        delivery.external_id = connector_for(delivery.config).push(
            delivery.report, event_id=event_id(delivery)
        )
    except Refused as refusal:
        # Trying again would be refused again: it waits, dead, for a fix and a replay.
        record_refusal(delivery, refusal)
        return DeliveryState.DEAD
    except Exception as exc:
        error = str(exc) if isinstance(exc, ConnectorError) else type(exc).__name__
        delivery.last_error = error[:500]
        last = delivery.attempts >= PUSH_MAX_ATTEMPTS
        delivery.state = DeliveryState.DEAD if last else DeliveryState.FAILED
        delivery.save()
        if last:
            log.error("delivery dead", delivery=delivery.pk, attempts=delivery.attempts)
            return delivery.state
        raise  # core.tasks schedules the next try with back-off
    delivery.state = DeliveryState.SENT
    delivery.last_error = ""
    delivery.save()
    return delivery.state
