"""Full-text search over the catalogue: SQLite FTS5 on the embedded default, PostgreSQL's
full-text search at scale, with the same words and the same answers (decision 0027).

Both engines index the same text: the words of a publication's title, description,
keywords, column names and publisher, folded (lower case, accents off) and stemmed with the
Dutch Snowball stemmer, so "fietsers", "fietser" and "Fiets" meet. A question is turned
into the same stems and every one of them must match (a word as typed, or the start of a
longer one). Neither engine ever sees the visitor's text as query syntax: only stems made
of letters and digits reach it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import snowballstemmer
from django.db import connection

#: At most this many words of a question are used.
MAX_TERMS = 12
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    return snowballstemmer.stemmer("dutch")


def fold(text: str) -> str:
    """Lower case, accents off (``Élise`` → ``elise``)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def stems(text: str) -> list[str]:
    """The stems of the words in ``text``, in order (repeats kept)."""
    words = [w[:60] for w in _WORD.findall(fold(text.replace("\x00", " ")))]
    return list(_stemmer().stemWords(words)) if words else []


def index_text(parts: Iterable[str]) -> str:
    """What the engines index for a publication: the stems of all its parts."""
    return " ".join(s for part in parts if part for s in stems(str(part)))


def terms(question: str) -> list[str]:
    """The stems a question asks for, each once, in order."""
    seen: dict[str, None] = {}
    for stem in stems(question):
        seen.setdefault(stem, None)
    return list(seen)[:MAX_TERMS]


# --- The engines ------------------------------------------------------------------------

FTS_TABLE = "opendata_search"


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def create_index(schema_editor: Any) -> None:
    """The engine's index (a migration runs it). On PostgreSQL the words are kept as a
    ``tsvector`` column the database computes when the text changes (``search_vector``),
    with a GIN index: a question never converts text row by row."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS opendata_search")
        schema_editor.execute(
            "ALTER TABLE opendata_publication ADD COLUMN IF NOT EXISTS search_vector tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED"
        )
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS opendata_search_vector ON opendata_publication "
            "USING gin (search_vector)"
        )
    else:
        schema_editor.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(body, tokenize='unicode61')"
        )


def drop_index(schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS opendata_search_vector")
        schema_editor.execute(
            "ALTER TABLE opendata_publication DROP COLUMN IF EXISTS search_vector"
        )
    else:
        schema_editor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")


def store(publication_id: int, text: str) -> None:
    """Index ``text`` for a publication (PostgreSQL indexes the column itself)."""
    if is_postgres():
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid = %s", [publication_id])  # noqa: S608
        cursor.execute(
            f"INSERT INTO {FTS_TABLE} (rowid, body) VALUES (%s, %s)",  # noqa: S608
            [publication_id, text],
        )


def forget(publication_id: int) -> None:
    if is_postgres():
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid = %s", [publication_id])  # noqa: S608


def _expression(found: list[str]) -> str:
    # Stems hold letters and digits only (``_WORD``): quoting is all the syntax there is.
    if is_postgres():
        return " & ".join(f"{t}:*" for t in found)
    return " AND ".join(f'"{t}"*' for t in found)


def matching_sql(found: list[str]) -> tuple[str, list[Any]]:
    """A subquery selecting the ids of the publications matching every term."""
    if is_postgres():
        return (
            "SELECT id FROM opendata_publication WHERE search_vector @@ to_tsquery('simple', %s)",
            [_expression(found)],
        )
    return f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [_expression(found)]  # noqa: S608


def ranks(found: list[str]) -> dict[int, float]:
    """How well each matching publication matches (higher is better)."""
    if is_postgres():
        sql = (
            "SELECT id, ts_rank(search_vector, q) FROM "
            "opendata_publication, to_tsquery('simple', %s) AS q "
            "WHERE search_vector @@ q"
        )
    else:  # bm25: lower is better
        sql = f"SELECT rowid, -bm25({FTS_TABLE}) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [_expression(found)])
        return {int(pk): float(rank) for pk, rank in cursor.fetchall()}
