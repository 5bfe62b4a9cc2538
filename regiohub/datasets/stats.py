"""Column statistics of a dataset version: counts, empties, distinct values, range, mean
and quartiles for numbers and times, the most frequent values for text. Computed once per
version with DuckDB and kept on the version (versions never change)."""

from __future__ import annotations

from typing import Any

import duckdb

from regiohub.datasets import storage
from regiohub.datasets.formats import json_value
from regiohub.datasets.models import DatasetVersion
from regiohub.datasets.query import Deadline, connection, files_literal, interrupted, quote

TOP_VALUES = 5
#: Statistics are computed in the background, once per version, within this limit.
STATS_SECONDS = 120.0


def column_stats(version: DatasetVersion) -> dict[str, dict[str, Any]]:
    """Per column key: count, nulls, distinct (approximate), min, max, avg, q25/q50/q75
    (numbers), top values (text); cached on the version."""
    if version.stats:
        return version.stats
    files = storage.files(version.dataset.storage_key, version.delta_version)
    if not files:
        return {}
    con = connection().cursor()
    try:
        with Deadline(con, STATS_SECONDS) as deadline:
            try:
                result = _summarise(con, version, files)
            except (duckdb.Error, OSError) as exc:
                if interrupted(exc, deadline):
                    return {}  # too big to summarise within the limit: the page shows none
                raise
    finally:
        con.close()
    DatasetVersion.objects.filter(pk=version.pk).update(stats=result)
    version.stats = result
    return result


def _summarise(con: Any, version: DatasetVersion, files: list[str]) -> dict[str, dict[str, Any]]:
    con.execute(
        "CREATE OR REPLACE TEMP VIEW v AS SELECT * FROM "  # noqa: S608 - see files_literal
        f"read_parquet({files_literal(files)})"
    )
    summary = con.execute("SUMMARIZE v").fetchall()
    names = [d[0] for d in con.description]
    result: dict[str, dict[str, Any]] = {}
    for row in summary:
        item = dict(zip(names, row, strict=True))
        key = item["column_name"]
        column = version.column(key) or {"type": "text"}
        count = int(item["count"])
        stats: dict[str, Any] = {
            "count": count,
            "nulls": round(float(item["null_percentage"] or 0) * count / 100),
            "distinct": int(item["approx_unique"] or 0),
            "min": json_value(item["min"]),
            "max": json_value(item["max"]),
        }
        if column["type"] in ("integer", "decimal"):
            for name in ("avg", "q25", "q50", "q75"):
                value = item.get(name)
                stats[name] = float(value) if value not in (None, "") else None
        if column["type"] in ("text", "boolean"):
            top = con.execute(
                f"SELECT {quote(key)} AS value, count(*) AS n FROM v "  # noqa: S608 - a schema key, quoted
                f"WHERE {quote(key)} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?",
                [TOP_VALUES],
            ).fetchall()
            stats["top"] = [[json_value(value), int(n)] for value, n in top]
        result[key] = stats
    return result
