"""How fast does core.geo say which municipality a point is in?

Compared in the same run with the raw baseline a newcomer would write: shapely's
``contains`` on every (unprepared) boundary in turn. Also: the scoping query that every
staff list runs. Run with `make bench`; BENCH_SMOKE=1 for a tiny run.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import SMOKE, latencies_ms, setup_django, summary


def main() -> None:
    setup_django()
    from shapely.geometry import Point, shape

    from regiohub.core import access, geo
    from regiohub.core.demo.region import load_region
    from regiohub.core.models import Department, Organisation
    from regiohub.core.tests.factories import MembershipFactory

    load_region()
    rng = random.Random(42)
    n = 2_000 if SMOKE else 200_000
    # Points over the region's bounding box: most inside, some in France and beyond.
    points = [(rng.uniform(50.70, 50.95), rng.uniform(3.00, 3.50)) for _ in range(n)]

    geo.municipality_at(50.8275, 3.2649)  # build the index once, as a process does
    started = time.perf_counter()
    ours = [geo.municipality_at(lat, lon).nis_code for lat, lon in points]
    ours_s = time.perf_counter() - started

    boundaries = [
        (o.nis_code, shape(o.boundary)) for o in Organisation.objects.filter(boundary__isnull=False)
    ]
    baseline_points = points[: max(200, n // 20)]
    started = time.perf_counter()
    raw = []
    for lat, lon in baseline_points:
        point = Point(lon, lat)
        raw.append(next((nis for nis, g in boundaries if g.contains(point)), None))
    raw_s = time.perf_counter() - started

    started = time.perf_counter()
    batch = [loc.nis_code for loc in geo.municipalities_at(points)]
    batch_s = time.perf_counter() - started
    assert batch == ours, "batch and single lookups disagree"

    mismatches = sum(1 for a, b in zip(ours, raw, strict=False) if a != b)
    ours_rate = n / ours_s
    raw_rate = len(baseline_points) / raw_s
    inside = sum(1 for nis in ours if nis)
    print(
        f"core.geo.municipality_at: {ours_rate:,.0f} points/s over {n:,} points "
        f"({inside / n:.0%} inside the region)"
    )
    print(f"core.geo.municipalities_at (vectorised batch): {n / batch_s:,.0f} points/s")
    print(
        f"raw shapely contains() loop: {raw_rate:,.0f} points/s over "
        f"{len(baseline_points):,} points"
    )
    print(
        f"ratio: single {ours_rate / raw_rate:.1f}x, batch {n / batch_s / raw_rate:.1f}x "
        "the raw loop; "
        f"{mismatches} disagreements (points on shared borders)"
    )

    user = MembershipFactory(organisation=Organisation.objects.get(code="KOR")).user
    repeat = 50 if SMOKE else 2_000

    def scoped_list() -> None:
        access.forget(user)
        list(access.scope(Department.objects.all(), user).values_list("pk", flat=True))

    print(
        f"scoped department list (cold access cache): {summary(latencies_ms(scoped_list, repeat))}"
    )
    to_lambert = latencies_ms(lambda: geo.from_wgs84(50.8275, 3.2649), repeat)
    print(f"WGS84 -> Lambert 72, one point: {summary(to_lambert)}")


if __name__ == "__main__":
    main()
