"""Column statistics of a dataset version: counts, empties, distinct values, range, mean
and quartiles for numbers and times, the most frequent values for text. Computed once per
version with DuckDB and kept on the version (versions never change)."""

from __future__ import annotations

from typing import Any

import duckdb

from regiohub.datasets import storage
from regiohub.datasets.formats import json_value
from regiohub.datasets.models import DatasetVersion
from regiohub.datasets.query import _Deadline, _interrupted, connection, files_literal, quote

TOP_VALUES = 5
#: Statistics are computed in the background, once per version, within this limit.
STATS_SECONDS = 120.0


def column_stats(version: DatasetVersion) -> dict[str, dict[str, Any]]:
    """Per column key: count, nulls, distinct (approximate), min, max, avg, q25/q50/q75
    (numbers), top values (text); cached on the version."""
    if version.stats:
        return version.stats
    files = storage.files(version.dataset.storage_key, version.delta_version)
    result: dict[str, dict[str, Any]] = {}
    if not files:
        return result
    con = connection().cursor()
    deadline = _Deadline(con, STATS_SECONDS)
    deadline.__enter__()
    try:
        con.execute(
            "CREATE OR REPLACE TEMP VIEW v AS SELECT * FROM "  # noqa: S608 - see files_literal
            f"read_parquet({files_literal(files)})"
        )
        summary = con.execute("SUMMARIZE v").fetchall()
        names = [d[0] for d in con.description]
        for row in summary:
            item = dict(zip(names, row, strict=True))
            key = item["column_name"]
            column = version.column(key) or {"type": "text"}
            stats: dict[str, Any] = {
                "count": int(item["count"]),
                "nulls": round(float(item["null_percentage"] or 0) * int(item["count"]) / 100),
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
    except (duckdb.Error, OSError) as exc:
        if _interrupted(exc, deadline):
            return {}  # too big to summarise within the limit: the page shows none
        raise
    finally:
        deadline.__exit__()
        con.close()
    DatasetVersion.objects.filter(pk=version.pk).update(stats=result)
    version.stats = result
    return result
