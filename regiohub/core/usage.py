"""Counting use without writing to the database on every request.

``count()`` adds to a counter in this process's memory; the counts are written in one
batch every ``REGIOHUB_USAGE_FLUSH_SECONDS`` by a background thread (one per process,
started at the first count), and when the process ends normally. A reader of open data
therefore still costs the database nothing (decision 0026), and a busy API adds one small
write transaction every few seconds per process. What a process counted since its last
batch is lost when it is killed (``kill -9``, a crash): usage figures are statistics,
not records; decision 0032 says why that trade is right.

Modules name what they count (``subject``: ``dataset:12``) and read the figures back
with :func:`figures`. Core knows no module.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

_lock = threading.Lock()
_pending: Counter[tuple[str, str, str, date]] = Counter()
_thread: threading.Thread | None = None
_stop = threading.Event()


def count(subject: str, kind: str, detail: str = "", n: int = 1) -> None:
    """Count ``n`` uses of ``subject`` today (Belgian days)."""
    key = (subject[:80], kind[:20], detail[:40], timezone.localdate())
    with _lock:
        _pending[key] += n
    _ensure_flusher()


def pending() -> dict[tuple[str, str, str, date], int]:
    """What this process counted and has not written yet."""
    with _lock:
        return dict(_pending)


def flush() -> int:
    """Write what this process counted; returns how many counters were written. A batch
    that cannot be written is kept for the next try."""
    with _lock:
        batch = dict(_pending)
        _pending.clear()
    if not batch:
        return 0
    from regiohub.core.models import UsageCount

    try:
        with transaction.atomic():
            for (subject, kind, detail, day), n in sorted(batch.items()):
                found = UsageCount.objects.filter(
                    subject=subject, kind=kind, detail=detail, day=day
                )
                if found.update(count=F("count") + n):
                    continue
                try:
                    with transaction.atomic():
                        UsageCount.objects.create(
                            subject=subject, kind=kind, detail=detail, day=day, count=n
                        )
                except IntegrityError:  # another process created it meanwhile
                    found.update(count=F("count") + n)
    except Exception:
        with _lock:
            for key, n in batch.items():
                _pending[key] += n
        raise
    return len(batch)


def _flusher() -> None:
    seconds = float(settings.USAGE_FLUSH_SECONDS)
    while not _stop.wait(seconds):
        try:
            flush()
        except Exception:  # kept for the next round
            logging.getLogger(__name__).warning("usage counts not written yet", exc_info=True)
        finally:
            connection.close()


def _ensure_flusher() -> None:
    global _thread
    if _thread is not None or float(settings.USAGE_FLUSH_SECONDS) <= 0:
        return
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_flusher, name="usage-flush", daemon=True)
            _thread.start()
            atexit.register(_flush_at_exit)


def _flush_at_exit() -> None:
    _stop.set()
    with contextlib.suppress(Exception):  # the process is ending; nothing else to do
        flush()


@dataclass(frozen=True)
class Figure:
    subject: str
    kind: str
    detail: str
    day: date
    count: int


def figures(
    subjects: Iterable[str], *, since: date | None = None, kinds: Iterable[str] = ()
) -> list[Figure]:
    """The written counts of ``subjects`` (per day), oldest first."""
    from regiohub.core.models import UsageCount

    rows = UsageCount.objects.filter(subject__in=list(subjects))
    if since is not None:
        rows = rows.filter(day__gte=since)
    kinds = list(kinds)
    if kinds:
        rows = rows.filter(kind__in=kinds)
    return [
        Figure(r.subject, r.kind, r.detail, r.day, r.count)
        for r in rows.order_by("day", "subject", "kind", "detail")
    ]


def totals(subjects: Iterable[str], kind: str) -> dict[str, int]:
    """All-time totals of one kind per subject."""
    from regiohub.core.models import UsageCount

    rows = (
        UsageCount.objects.filter(subject__in=list(subjects), kind=kind)
        .values("subject")
        .annotate(total=Sum("count"))
    )
    return {r["subject"]: int(r["total"] or 0) for r in rows}


def forget_pending_for_tests() -> None:
    with _lock:
        _pending.clear()
