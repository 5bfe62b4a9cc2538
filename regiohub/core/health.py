"""What /health/ and `regiohub check` report: the database, the task queue, the workers.

The fields and the thresholds that turn the status to "error" are in docs/operations.md.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from regiohub.core import heartbeat


def _database() -> dict[str, Any]:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {
        "status": "ok",
        "vendor": connection.vendor,
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
    }


def _task_queue() -> dict[str, Any]:
    from django_tasks_db.models import DBTaskResult

    ready = DBTaskResult.objects.ready()
    oldest = ready.order_by("enqueued_at").values_list("enqueued_at", flat=True).first()
    return {
        "status": "ok",
        "ready": ready.count(),
        "oldest_ready_age_s": round((timezone.now() - oldest).total_seconds()) if oldest else 0,
        # Attempts, not tasks: a retried task counts once per failed attempt.
        "failed_attempts_last_24h": DBTaskResult.objects.failed()
        .filter(finished_at__gte=timezone.now() - timedelta(hours=24))
        .count(),
        "stuck": DBTaskResult.objects.running()
        .filter(started_at__lt=timezone.now() - timedelta(minutes=settings.TASK_STUCK_MINUTES))
        .count(),
        **_leases(),
    }


def _leases() -> dict[str, Any]:
    """Running tasks, and those whose worker's lease expired (docs/operations.md).

    ``status`` turns to "error" when an orphan waited longer than
    ``REGIOHUB_HEALTH_ORPHANED_SECONDS`` after its lease expired: no live worker requeues.
    """
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    orphans = heartbeat.orphaned(now)
    # Seconds since the lease of the oldest orphan expired.
    oldest = round((now - orphans[0].lease_expired_at).total_seconds()) if orphans else 0
    report: dict[str, Any] = {
        "running": DBTaskResult.objects.running().count(),
        "orphaned": len(orphans),
        "oldest_orphaned_s": oldest,
    }
    limit = settings.HEALTH_ORPHANED_SECONDS
    if limit and oldest > limit:
        report["status"] = "error"
        report["error"] = f"orphaned tasks not requeued for over {limit} s"
    return report


def _workers() -> dict[str, Any]:
    """Live workers, in all and per queue; "error" when a queue has had a task ready for
    longer than ``REGIOHUB_HEALTH_UNSERVED_MINUTES`` and no live worker serves it."""
    from django_tasks_db.models import DBTaskResult, get_date_max

    now = timezone.now()
    live = list(heartbeat.live(now).values_list("queues", flat=True))
    per_queue = {
        queue: sum(heartbeat.serves(queues, queue) for queues in live)
        for queue in settings.TASKS["default"].get("QUEUES", ["default"])
    }
    report: dict[str, Any] = {"status": "ok", "live": len(live), "per_queue": per_queue}
    minutes = settings.HEALTH_UNSERVED_MINUTES
    if minutes:
        since = now - timedelta(minutes=minutes)
        # Ready since it was enqueued, or since its run_after (a retry) passed.
        waiting = DBTaskResult.objects.ready().filter(
            Q(run_after=get_date_max(), enqueued_at__lt=since) | Q(run_after__lt=since)
        )
        unserved = sorted(
            queue
            for queue in waiting.order_by().values_list("queue_name", flat=True).distinct()
            if not any(heartbeat.serves(queues, queue) for queues in live)
        )
        if unserved:
            report.update(
                status="error",
                error=f"tasks ready for over {minutes} min and no live worker",
                unserved_queues=unserved,
            )
    return report


def _cache() -> dict[str, Any]:
    """Every configured cache keeps a value: the default one, and the API's rate counters
    (``REGIOHUB_API_RATE_STORE``), without which every API request fails."""
    report: dict[str, Any] = {"status": "ok"}
    for alias in settings.CACHES:
        try:
            store = cache if alias == "default" else caches[alias]
            store.set("regiohub:health", "ok", 10)
            kept = store.get("regiohub:health") == "ok"
        except Exception as exc:  # an unreachable store is the answer, not a crash
            report.update(status="error", error=f"{alias}: {exc.__class__.__name__}")
            continue
        if not kept:
            report.update(status="error", error=f"{alias}: does not keep values")
    return report


#: What this web process needs to answer requests: a load balancer asks only this
#: (``/health/live/``), so a dead background worker does not take every replica out.
WEB_PROBES = ("database", "cache")


def check(only: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Each component's status; the whole is "ok" only when every component is.

    ``only`` limits the report to some components (``WEB_PROBES`` for a load balancer).
    """
    report: dict[str, Any] = {"status": "ok", "checks": {}}
    probes = (
        ("database", _database),
        ("task_queue", _task_queue),
        ("workers", _workers),
        ("cache", _cache),
    )
    for name, probe in probes:
        if only is not None and name not in only:
            continue
        try:
            report["checks"][name] = probe()
        except Exception as exc:  # any failure is the answer, not a crash
            report["checks"][name] = {"status": "error", "error": exc.__class__.__name__}
        if report["checks"][name]["status"] != "ok":
            report["status"] = "error"
    return report
