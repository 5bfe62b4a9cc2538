"""Worker heartbeats: the lease a running ``regiohub worker`` holds on the tasks it runs.

A worker registers itself (:func:`register`) before it claims any task, renews its
heartbeat every :func:`beat_interval` seconds from a background thread (:func:`beat`) and
deletes its row when it stops cleanly (:func:`forget`). django-tasks-db appends the id of
the worker that claims a task to the task row's ``worker_ids``; the last id is the worker
running it now.

A RUNNING task is *orphaned* when that worker has not renewed its heartbeat for
``REGIOHUB_TASK_LEASE_SECONDS`` (or has no heartbeat row at all) and the task started more
than a lease ago (a worker registers before it claims, so a younger task cannot be orphaned
by a missing row). Every live worker looks for orphans every :func:`sweep_interval` seconds
and puts them back in the queue (:func:`regiohub.core.tasks.requeue_orphaned`); ``/health/``
counts them (:mod:`regiohub.core.health`).

Times are the application servers' clocks (as django-tasks-db's ``started_at``): keep the
machines in sync (NTP); a skew of a few seconds against a lease of a minute is harmless.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.crypto import get_random_string

from regiohub.core.models import WorkerHeartbeat

#: Rows of workers not heard of for this long are deleted by the sweep (a worker that
#: comes back after that long registers again).
FORGET_AFTER = timedelta(days=1)


def lease() -> timedelta:
    return timedelta(seconds=settings.TASK_LEASE_SECONDS)


def beat_interval() -> float:
    """Seconds between two heartbeats: six per lease, at most 10 s, at least 0.5 s."""
    return min(10.0, max(0.5, settings.TASK_LEASE_SECONDS / 6))


def sweep_interval() -> float:
    """Seconds between two looks for orphaned tasks: half a lease, at most 30 s."""
    return min(30.0, max(1.0, settings.TASK_LEASE_SECONDS / 2))


def new_worker_id() -> str:
    """A worker id that names its machine and process (at most 64 characters, the limit
    of django-tasks-db), with a random tail so a reused pid never resumes a dead lease."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{get_random_string(8)}"[:64]


def register(worker_id: str, queues: Iterable[str]) -> None:
    """Record a starting worker (call before it claims any task)."""
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "hostname": socket.gethostname()[:255],
            "pid": os.getpid(),
            "queues": sorted(set(queues)) or ["*"],
            "started_at": now,
            "beat_at": now,
        },
    )


def beat(worker_id: str) -> bool:
    """Renew the worker's lease; False when its row is gone (then :func:`register` again)."""
    return bool(WorkerHeartbeat.objects.filter(worker_id=worker_id).update(beat_at=timezone.now()))


def forget(worker_id: str) -> None:
    """Delete the row of a worker that stops cleanly (it runs no task any more)."""
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


def forget_long_dead(now: datetime | None = None) -> int:
    """Delete rows of workers not heard of for :data:`FORGET_AFTER`."""
    now = now or timezone.now()
    deleted, _ = WorkerHeartbeat.objects.filter(beat_at__lt=now - FORGET_AFTER).delete()
    return deleted


def live(now: datetime | None = None) -> QuerySet[WorkerHeartbeat]:
    """Workers whose lease has not expired."""
    now = now or timezone.now()
    return WorkerHeartbeat.objects.filter(beat_at__gte=now - lease())


def serves(queues: list[str], queue: str) -> bool:
    return "*" in queues or queue in queues


@dataclass(frozen=True)
class Orphan:
    """A RUNNING task whose worker's lease expired."""

    id: str
    task_path: str
    #: The row's ``worker_ids`` as read: the requeue only matches this exact value.
    worker_ids: list[str]
    started_at: datetime
    #: When the lease expired: the worker's last heartbeat (or, without a row, the start
    #: of the task) plus the lease.
    lease_expired_at: datetime

    @property
    def worker_id(self) -> str:
        return self.worker_ids[-1] if self.worker_ids else ""


def orphaned(now: datetime | None = None) -> list[Orphan]:
    """The RUNNING tasks whose worker's lease expired, oldest expiry first."""
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    candidates = list(
        DBTaskResult.objects.running()
        .filter(started_at__lt=now - lease())
        .order_by()
        .values_list("id", "task_path", "worker_ids", "started_at")
    )
    if not candidates:
        return []
    last_ids = {ids[-1] for _, _, ids, _ in candidates if ids}
    beats = dict(
        WorkerHeartbeat.objects.filter(worker_id__in=last_ids).values_list("worker_id", "beat_at")
    )
    orphans = []
    for pk, path, ids, started_at in candidates:
        assert started_at is not None  # filtered above
        beat_at = beats.get(ids[-1]) if ids else None
        expires = (beat_at or started_at) + lease()
        if expires < now:
            orphans.append(Orphan(str(pk), path, list(ids), started_at, expires))
    orphans.sort(key=lambda orphan: orphan.lease_expired_at)
    return orphans
