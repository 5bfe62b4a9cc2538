"""What /health/ and `regiohub check` report: the database and the task queue."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone


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
    }


def _cache() -> dict[str, Any]:
    cache.set("regiohub:health", "ok", 10)
    if cache.get("regiohub:health") != "ok":
        raise RuntimeError("cache does not keep values")
    return {"status": "ok"}


def check() -> dict[str, Any]:
    """Each component's status; the whole is "ok" only when every component is."""
    report: dict[str, Any] = {"status": "ok", "checks": {}}
    for name, probe in (
        ("database", _database),
        ("task_queue", _task_queue),
        ("cache", _cache),
    ):
        try:
            report["checks"][name] = probe()
        except Exception as exc:  # any failure is the answer, not a crash
            report["checks"][name] = {"status": "error", "error": exc.__class__.__name__}
            report["status"] = "error"
    return report
