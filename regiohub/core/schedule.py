"""Periodic jobs: a task that the worker enqueues once per period (django-tasks has no
scheduler of its own).

Apps register their jobs in ``AppConfig.ready()``::

    from regiohub.core import schedule

    schedule.every_day("meldpunt.daily-digest", send_daily_digests, hour="MELDPUNT_DIGEST_HOUR")

Every ``regiohub worker`` calls :func:`tick` about once a minute. A job that is due is
enqueued under the key ``schedule:<name>:<period>`` with :func:`regiohub.core.tasks.once`,
in the same transaction as the task row, so however many workers tick, each job is
enqueued once per period. A daily job is due from its hour (Europe/Brussels, the
``TIME_ZONE``) until the end of that local day: a worker that was down at the hour
enqueues the job at its first tick later that day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from django.conf import settings
from django.utils import timezone
from django_tasks.base import Task

from regiohub.core.tasks import enqueue, once

log = structlog.get_logger(__name__)

#: ``when(now)`` returns the period the job is due for at ``now`` (for example the local
#: date), or ``None`` when it is not due.
When = Callable[[datetime], str | None]


@dataclass(frozen=True)
class Job:
    name: str
    task: Task
    when: When


_jobs: dict[str, Job] = {}


class Daily:
    """Due every day from ``hour`` o'clock local time; the period is the local date.

    ``hour`` is an int or the name of a setting that holds one (read at every tick, so a
    changed setting needs no new registration).
    """

    def __init__(self, hour: int | str) -> None:
        self.hour = hour

    def resolved_hour(self) -> int:
        hour = getattr(settings, self.hour) if isinstance(self.hour, str) else self.hour
        hour = int(hour)
        if not 0 <= hour <= 23:
            raise ValueError(f"hour of a daily job must be 0-23, not {hour}")
        return hour

    def __call__(self, now: datetime) -> str | None:
        local = timezone.localtime(now)
        # The wall-clock hour: on the day clocks go forward an hour that does not exist
        # (02:00) is due from the first time after it (03:00).
        if local.hour < self.resolved_hour():
            return None
        return local.date().isoformat()

    def __repr__(self) -> str:
        return f"Daily(hour={self.hour!r})"


class Every:
    """Due once in every block of ``minutes`` minutes (counted from the Unix epoch, so all
    workers agree on the blocks); the period is the block's start time in UTC."""

    def __init__(self, minutes: int) -> None:
        if minutes < 1:
            raise ValueError("an interval job needs at least one minute")
        self.minutes = minutes

    def __call__(self, now: datetime) -> str | None:
        block = int(now.timestamp()) // (self.minutes * 60) * self.minutes * 60
        return datetime.fromtimestamp(block, tz=UTC).strftime("%Y-%m-%dT%H%M")

    def __repr__(self) -> str:
        return f"Every(minutes={self.minutes})"


def register(name: str, task: Task, when: When) -> Job:
    """Add (or replace) the periodic job ``name``."""
    if ":" in name:
        raise ValueError("a job name may not contain ':'")
    job = Job(name=name, task=task, when=when)
    _jobs[name] = job
    return job


def every_day(name: str, task: Task, *, hour: int | str) -> Job:
    """Register ``task`` to run daily from ``hour`` o'clock (an int or a setting's name)."""
    return register(name, task, Daily(hour))


def every_minutes(name: str, task: Task, *, minutes: int) -> Job:
    """Register ``task`` to run once in every block of ``minutes`` minutes."""
    return register(name, task, Every(minutes))


def unregister(name: str) -> None:
    _jobs.pop(name, None)


def jobs() -> list[Job]:
    return list(_jobs.values())


def tick(now: datetime | None = None) -> list[str]:
    """Enqueue every job that is due at ``now`` and was not enqueued for this period yet.

    Returns the names of the jobs enqueued by this call. A job whose enqueue fails is
    logged and tried again at the next tick.
    """
    now = now or timezone.now()
    enqueued: list[str] = []
    for job in jobs():
        try:
            period = job.when(now)
            if period is None:
                continue
            with once(f"schedule:{job.name}:{period}") as first:
                if first:
                    enqueue(job.task)
                    enqueued.append(job.name)
        except Exception:
            log.exception("periodic job could not be enqueued", job=job.name)
    if enqueued:
        log.info("periodic jobs enqueued", jobs=enqueued)
    return enqueued
