"""How fast does the contact point decide who owns a report (asset-layer routing)?

Against the demo region's rules, with the road layer replaced by a synthetic one the size
of the region's Wegenregister (50,000 segments of 100 m, 10 % managed by the roads agency,
the rest by the municipality they lie in), on random points inside the region:

* ``routing.route`` per point, as filing calls it: the stamp check (two small queries
  that notice a changed rule or layer in any process) and the rules against the layers;
* the same with the stamp check taken out (what the prepared layers cost alone);
* the raw baseline, measured in the same run: for each point, the Lambert 72 transform and
  shapely's ``distance`` to every feature of the layer in turn (what one would write
  without an index).

Target (issue 19): at least 2,000 points/s per core. Run with `make bench`;
BENCH_SMOKE=1 for a tiny run.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import SMOKE, percentile, region_points, setup_django


def main() -> None:
    setup_django()
    from shapely.geometry import Point, shape

    from regiohub.core import geo
    from regiohub.core.demo.region import load_region
    from regiohub.meldpunt import routing
    from regiohub.meldpunt.demo import load_categories
    from regiohub.meldpunt.demo.reports import load_reference_data
    from regiohub.meldpunt.demo.routing import load_routing
    from regiohub.meldpunt.models import AssetFeature, AssetLayer

    load_region()
    load_categories()
    load_reference_data()
    load_routing()
    n = 300 if SMOKE else 20_000
    segments = 2_000 if SMOKE else 50_000
    _synthetic_roads(segments)
    points = region_points(n)
    codes = ["pothole", "street-light", "illegal-dumping", "waste-collection", "noise"]
    routing.route(points[0][2], "pothole", points[0][0], points[0][1])  # prepare, as a process

    samples = []
    outcomes: dict[str, int] = {}
    started = time.perf_counter()
    for i, (lat, lon, org) in enumerate(points):
        t = time.perf_counter()
        found = routing.route(org, codes[i % len(codes)], lat, lon)
        samples.append((time.perf_counter() - t) * 1000)
        key = "uncertain" if found.uncertain else found.owner_kind
        outcomes[key] = outcomes.get(key, 0) + 1
    total = time.perf_counter() - started
    rate = n / total

    stamp = routing._stamp
    routing._stamp = lambda: routing._snapshot.stamp  # type: ignore[union-attr]
    started = time.perf_counter()
    for i, (lat, lon, org) in enumerate(points):
        routing.route(org, codes[i % len(codes)], lat, lon)
    prepared_rate = n / (time.perf_counter() - started)
    routing._stamp = stamp

    layer = AssetLayer.objects.get(code="regional-roads")
    features = [
        shape(g)
        for g in AssetFeature.objects.filter(version=layer.current_version).values_list(
            "geometry", flat=True
        )
    ]
    baseline = points[: max(100, n // 10)]
    started = time.perf_counter()
    for lat, lon, _org in baseline:
        point = Point(*geo.from_wgs84(lat, lon))
        nearest = min(features, key=point.distance)
        _ = nearest.distance(point) <= 15
    raw_rate = len(baseline) / (time.perf_counter() - started)

    print(f"road layer: {len(features):,} segments")
    print(f"routing.route over {n:,} points (1 process, 1 core), SQLite:")
    print(
        f"  {rate:,.0f} points/s; p50 {percentile(samples, 50):.3f} ms, "
        f"p99 {percentile(samples, 99):.3f} ms  (target >= 2,000 points/s)"
    )
    print(f"  without the stamp check: {prepared_rate:,.0f} points/s")
    print(
        "  raw baseline (transform + distance to each road segment in turn): "
        f"{raw_rate:,.0f} points/s; ratio {rate / raw_rate:.1f}x"
    )
    print(f"  outcomes: {dict(sorted(outcomes.items()))}")


def _synthetic_roads(count: int) -> None:
    import json
    import math
    import random

    from regiohub.core import geo
    from regiohub.meldpunt import layers
    from regiohub.meldpunt.models import AssetLayer

    rng = random.Random(7)
    centres = [(lat, lon) for lat, lon, _org in region_points(count, seed=11)]
    where = geo.municipalities_at(centres)
    features = []
    for i, ((lat, lon), loc) in enumerate(zip(centres, where, strict=True)):
        x, y = geo.from_wgs84(lat, lon)
        angle = rng.uniform(0, math.pi)
        dx, dy = 50 * math.cos(angle), 50 * math.sin(angle)
        manager = "AWV312" if i % 10 == 0 else (loc.nis_code or "34022")
        features.append(
            {
                "type": "Feature",
                "properties": {"id": str(i), "name": f"Weg {i}", "manager": manager},
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[x - dx, y - dy], [x + dx, y + dy]],
                },
            }
        )
    data = json.dumps(
        {"type": "FeatureCollection", "features": features,
         "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::31370"}}}
    ).encode()  # fmt: skip
    layers.import_layer(
        AssetLayer.objects.get(code="regional-roads"), data, file_format="geojson",
        source="bench: synthetic", licence="CC0-1.0",
    )  # fmt: skip


if __name__ == "__main__":
    main()
