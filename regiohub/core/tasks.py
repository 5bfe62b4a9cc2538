"""Background tasks: the rule that side effects start in the same transaction.

Use :func:`task` instead of ``django_tasks.task`` to declare a task (it adds retries with
exponential back-off) and :func:`enqueue` to start one from a service:

* with the database backend the task row is written inside the caller's transaction, so a
  rolled-back change never runs its task and a committed change always has it (an outbox);
* with any other backend the enqueue waits for ``transaction.on_commit``.

Tasks take primary keys, not objects, and must be idempotent: use :func:`once` around an
effect that must not happen twice.
"""

from __future__ import annotations

import functools
import operator
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, ParamSpec, TypeVar

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks import task as django_task
from django_tasks import task_backends
from django_tasks.base import Task
from django_tasks_db import DatabaseBackend

from regiohub.core.models import IdempotencyKey

P = ParamSpec("P")
T = TypeVar("T")

log = structlog.get_logger(__name__)

ATTEMPT_KWARG = "_attempt"
#: The queue a task was sent to when it is not the one it was declared with
#: (:func:`enqueue_on`); its retries go to the same queue.
QUEUE_KWARG = "_queue"


class PermanentError(Exception):
    """A failure that trying again cannot fix (a file that cannot be parsed, a request the
    other side refuses for good): the task is given up at once instead of retried.

    Raise it (or a subclass) for deterministic failures; everything else is taken to be
    transient (I/O, network, lock time-outs) and retried with back-off.
    """


def retry_delay(attempt: int) -> timedelta:
    """Delay before try ``attempt + 1``: base, 2x base, 4x base ... with 10% jitter."""
    base = settings.TASK_RETRY_BASE_SECONDS * 2 ** (attempt - 1)
    return timedelta(seconds=base * (1 + random.random() / 10))  # noqa: S311


def task(
    *, queue_name: str = "default", priority: int = 0, max_attempts: int | None = None
) -> Callable[[Callable[P, T]], Task]:
    """Declare a background task that is retried with back-off when it raises."""

    def decorator(func: Callable[P, T]) -> Task:
        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            attempt = int(kwargs.pop(ATTEMPT_KWARG, 1))
            queue = kwargs.pop(QUEUE_KWARG, None)
            try:
                return func(*args, **kwargs)
            except Exception as exc:
                limit = max_attempts or settings.TASK_MAX_ATTEMPTS
                if attempt < limit and not isinstance(exc, PermanentError):
                    delay = retry_delay(attempt)
                    again = wrapped.using(run_after=timezone.now() + delay)
                    if queue:
                        again = again.using(queue_name=queue)
                        kwargs[QUEUE_KWARG] = queue
                    again.enqueue(*args, **kwargs, **{ATTEMPT_KWARG: attempt + 1})
                    log.warning(
                        "task failed, retry scheduled",
                        task=func.__qualname__,
                        attempt=attempt,
                        retry_in_s=round(delay.total_seconds()),
                        error=type(exc).__name__,  # the message may hold an address
                    )
                else:
                    log.error(
                        "task failed, giving up",
                        permanent=isinstance(exc, PermanentError),
                        task=func.__qualname__,
                        attempt=attempt,
                        error=type(exc).__name__,  # the message may hold an address
                    )
                raise

        wrapped = django_task(queue_name=queue_name, priority=priority)(run)
        _declared[wrapped.module_path] = wrapped
        return wrapped

    return decorator


#: Every task declared with :func:`task`, by dotted path (see :func:`declared`).
_declared: dict[str, Task] = {}


def declared() -> list[Task]:
    """The tasks declared with :func:`task` in the modules imported so far, by path."""
    return [_declared[path] for path in sorted(_declared)]


def enqueue(task_: Task, *args: Any, **kwargs: Any) -> None:
    """Start ``task_`` as part of the current transaction (see the module docstring)."""
    backend = task_backends[task_.backend]
    if isinstance(backend, DatabaseBackend):
        task_.enqueue(*args, **kwargs)
    else:
        transaction.on_commit(lambda: task_.enqueue(*args, **kwargs), robust=True)


def enqueue_on(queue: str, task_: Task, *args: Any, **kwargs: Any) -> None:
    """Like :func:`enqueue`, on ``queue`` instead of the task's own (retries stay there)."""
    enqueue(task_.using(queue_name=queue), *args, **kwargs, **{QUEUE_KWARG: queue})


@contextmanager
def once(key: str) -> Iterator[bool]:
    """Run the body only if ``key`` was never completed before.

    Yields ``True`` when the body should act. The key is stored in the same transaction as
    the body's database writes, so a body that fails leaves no key and is tried again.

        with once(f"ack-mail:{report.pk}") as first:
            if first:
                send_mail(...)
    """
    with transaction.atomic():
        if IdempotencyKey.objects.filter(key=key).exists():
            yield False
            return
        try:
            with transaction.atomic():
                IdempotencyKey.objects.create(key=key)
        except IntegrityError:  # a concurrent run claimed it first
            yield False
            return
        yield True


def requeue_stuck(older_than: timedelta | None = None) -> int:
    """Put tasks back in the queue whose worker died while running them.

    A task still RUNNING after ``REGIOHUB_TASK_STUCK_MINUTES`` is taken to be orphaned (a
    killed worker never records the end). Tasks are idempotent, so running one again is safe.
    """
    from django_tasks_db.models import DBTaskResult

    limit = older_than if older_than is not None else timedelta(minutes=settings.TASK_STUCK_MINUTES)
    count = (
        DBTaskResult.objects.running()
        .filter(started_at__lt=timezone.now() - limit)
        .update(status="READY", started_at=None)
    )
    if count:
        log.warning("requeued orphaned tasks", count=count)
    return count


def requeue_orphaned() -> int:
    """Put back in the queue the RUNNING tasks whose worker's lease expired (it was killed,
    or its machine died); see :mod:`regiohub.core.heartbeat`. Every live worker calls this
    every few seconds; tasks are idempotent, so running one again is safe.

    Each row is requeued with one conditional UPDATE that matches the status, the
    ``worker_ids`` and the ``started_at`` read a moment before: two workers that requeue at
    once requeue a task once, and a task another worker has claimed again meanwhile (a new
    id in ``worker_ids``, a new ``started_at``) is left alone.
    """
    from django_tasks_db.models import DBTaskResult

    from regiohub.core.heartbeat import orphaned

    orphans = orphaned()
    count = 0
    for start in range(0, len(orphans), 100):
        match = functools.reduce(
            operator.or_,
            (
                Q(pk=orphan.id, worker_ids=orphan.worker_ids, started_at=orphan.started_at)
                for orphan in orphans[start : start + 100]
            ),
        )
        count += (
            DBTaskResult.objects.running().filter(match).update(status="READY", started_at=None)
        )
    if count:
        log.warning(
            "requeued tasks of a dead worker",
            count=count,
            tasks=sorted({orphan.task_path.rsplit(".", 1)[-1] for orphan in orphans}),
            workers=sorted({orphan.worker_id for orphan in orphans}),
        )
    return count


@task(queue_name="default")
def prune_task_results() -> str:
    """Delete finished task rows older than ``REGIOHUB_TASK_RESULT_DAYS``: their arguments
    and tracebacks may mention people, and nobody reads them after a few weeks."""
    from django.core.management import call_command

    call_command(
        "prune_db_task_results",
        "--queue-name",
        "*",
        "--min-age-days",
        str(settings.TASK_RESULT_DAYS),
        verbosity=0,
    )
    # Idempotency keys only need to outlive the retries of their task (hours); keep them a
    # generous while longer than the task rows.
    keep_days = max(90, settings.TASK_RESULT_DAYS)
    IdempotencyKey.objects.filter(
        created_at__lt=timezone.now() - timedelta(days=keep_days)
    ).delete()
    return "pruned"
