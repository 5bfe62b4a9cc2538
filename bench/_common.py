"""Shared helpers of the benchmarks: Django set-up on a throwaway database, timing."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable

SMOKE = bool(os.environ.get("BENCH_SMOKE"))  # noqa: TID251 - the bench's own switch


def setup_django() -> None:
    """Django on a fresh SQLite file (or DATABASE_URL when set), migrated."""
    os.environ.setdefault("REGIOHUB_DATA_DIR", tempfile.mkdtemp(prefix="regiohub-bench-"))
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-0123456789")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "regiohub.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def latencies_ms(func: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(samples: list[float]) -> str:
    return (
        f"p50 {percentile(samples, 50):.3f} ms, p99 {percentile(samples, 99):.3f} ms, "
        f"mean {statistics.fmean(samples):.3f} ms"
    )
