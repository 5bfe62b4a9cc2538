"""The worker's side of document delivery: each letter's way out, the daily paper
batches and the status polls. Tasks take ids and are safe to run twice."""

from __future__ import annotations

import structlog
from django.conf import settings
from django.db.models import F

from regiohub.core.tasks import task
from regiohub.documents import delivery
from regiohub.documents.models import Letter

log = structlog.get_logger(__name__)

#: Higher than any sensible REGIOHUB_DOCUMENTS_MAX_ATTEMPTS: the letter counts its own
#: tries (a try whose worker was killed counts too) and stops at the setting.
_TASK_LIMIT = 100


@task(queue_name="documents", max_attempts=_TASK_LIMIT)
def deliver_letter(letter_id: int) -> str:
    """Seal, route and publish one letter, from where an earlier try stopped."""
    limit = settings.DOCUMENTS_MAX_ATTEMPTS
    counted = Letter.objects.filter(pk=letter_id, failed_at__isnull=True).update(
        attempts=F("attempts") + 1
    )
    if not counted:
        return "failed"
    attempts = Letter.objects.values_list("attempts", flat=True).get(pk=letter_id)
    if attempts > limit:
        # Tries that never came back (their worker was killed each time) count too.
        delivery.record_failure(letter_id, delivery.CannotDeliver("no try finished"), final=True)
        return "failed"
    try:
        return delivery.advance(letter_id)
    except delivery.CannotDeliver as error:
        delivery.record_failure(letter_id, error, final=True)
        return "failed"
    except Exception as error:
        final = attempts >= limit
        delivery.record_failure(letter_id, error, final=final)
        if final:
            return "failed"
        raise  # core.tasks schedules the next try with back-off


@task(queue_name="documents", max_attempts=3)
def batch_paper(organisation_id: int | None = None) -> str:
    """Hand each municipality's paper letters of the day to its print partner."""
    ids = [organisation_id] if organisation_id else delivery.senders()
    handed = []
    for pk in ids:
        handed += delivery.batch_paper(pk)
    return f"{len(handed)} batches"


@task(queue_name="documents", max_attempts=2)
def poll_status(organisation_id: int | None = None) -> str:
    """Read statuses from the eBox and the print partner."""
    ids = [organisation_id] if organisation_id else delivery.senders()
    totals: dict[str, int] = {}
    for pk in ids:
        for key, value in delivery.poll(pk).items():
            totals[key] = totals.get(key, 0) + value
    return ", ".join(f"{k} {v}" for k, v in sorted(totals.items()))
