"""TOPdesk has no callbacks: ask it for the status of the incidents we created."""

from __future__ import annotations

import structlog

from regiohub.core.tasks import task
from regiohub.meldpunt.contrib.connectors.base import ConnectorError
from regiohub.meldpunt.contrib.connectors.registry import connector_for
from regiohub.meldpunt.contrib.connectors.services import apply_update
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
