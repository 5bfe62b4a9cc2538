"""Background work of the harvest: the check for sources that are due (the scheduler runs
it, ``opendata/schedule.py``) and the run of one source. Both take primary keys and are
safe to run twice: a run holds its source's lease, and a second run finds nothing changed.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from regiohub.core.tasks import enqueue, task
from regiohub.opendata.harvest import run
from regiohub.opendata.harvest.errors import HarvestBusy
from regiohub.opendata.models import HarvestSource


@task(queue_name="data")
def harvest_source(source_id: int, trigger: str = "schedule") -> str:
    """Harvest one source. A failure that may pass (5xx, a timeout) raises, so the task is
    tried again with back-off; any other failure waits for a person (``last_error``)."""
    try:
        done = run.harvest(source_id, trigger=trigger, raise_temporary=True)
    except HarvestBusy:
        return "busy: another run holds the source"
    except HarvestSource.DoesNotExist:
        return "gone"
    if done.error:
        return f"failed: {done.error}"
    return (
        f"{done.created} created, {done.updated} updated, {done.withdrawn} withdrawn, "
        f"{done.unchanged} unchanged"
    )


@task(queue_name="data")
def run_due_harvests() -> int:
    """Start every enabled source whose interval has passed."""
    now = timezone.now()
    started = 0
    for source_id in run.due_sources(now):
        with transaction.atomic():
            # Marked at once, so the next check does not start it again while it waits.
            HarvestSource.objects.filter(pk=source_id).update(last_run_at=now)
            enqueue(harvest_source, source_id, "schedule")
        started += 1
    return started
