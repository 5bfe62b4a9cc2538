"""The part of Solr's query syntax CKAN clients send in ``q``, ``fq`` and ``sort``,
parsed into a tree that ``catalogue`` turns into a query of the listed publications.

What is read (Lucene's standard syntax, as CKAN passes it to Solr): ``field:value``,
``field:"a phrase"``, ``field:(a OR b)``, ranges ``field:[from TO to]`` (``{}``
exclusive) with Solr's date maths (``NOW``, ``NOW-1DAY``, ``NOW/DAY``,
``2025-01-01T00:00:00Z``), ``AND``/``&&``, ``OR``/``||``, ``NOT``/``-``/``!`` and
``+``, parentheses, ``*`` and a trailing ``*`` on a value. Clauses side by side must all
match (CKAN sets ``q.op=AND``); ``OR`` joins its neighbours. Words without a field are
searched in the catalogue's full text. Nothing here becomes SQL text: values are bound
parameters of the ORM, words pass through ``opendata.search`` (stems only).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from regiohub.opendata.ckan.errors import SearchQueryError

#: At most this many clauses and this deep: a harvester's filter has a few.
MAX_NODES = 300
MAX_DEPTH = 20


@dataclass(frozen=True)
class Term:
    """``field:value`` (``field`` ``None``: words of the full text)."""

    field: str | None
    value: str
    #: "word" (may end in ``*``), "phrase" or "range".
    kind: str = "word"
    low: str | None = None
    high: str | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True


@dataclass(frozen=True)
class Not:
    node: Node


@dataclass(frozen=True)
class AllOf:
    nodes: list[Node] = field(default_factory=list)


@dataclass(frozen=True)
class AnyOf:
    nodes: list[Node] = field(default_factory=list)


Node = Term | Not | AllOf | AnyOf

_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_SPECIAL = set('()[]{}"')


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.nodes = 0

    def fail(self, message: str) -> SearchQueryError:
        return SearchQueryError(message)

    def peek(self) -> str:
        return self.text[self.i] if self.i < len(self.text) else ""

    def skip_space(self) -> None:
        while self.i < len(self.text) and self.text[self.i].isspace():
            self.i += 1

    def keyword(self) -> str | None:
        """``AND``, ``OR``, ``NOT``, ``&&`` or ``||`` at this point, as a word of its own."""
        for word in ("AND", "OR", "NOT", "&&", "||"):
            end = self.i + len(word)
            if self.text.startswith(word, self.i) and (
                end >= len(self.text) or self.text[end].isspace() or self.text[end] in "()"
            ):
                return word
        return None

    def count(self) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(_("The query has too many clauses (at most %(n)d).") % {"n": MAX_NODES})

    def sequence(self, closing: str | None, depth: int, default_field: str | None) -> Node:
        if depth > MAX_DEPTH:
            raise self.fail(_("The query is nested too deeply."))
        groups: list[list[Node]] = []
        pending_or = False
        while True:
            self.skip_space()
            if self.i >= len(self.text) or (closing and self.peek() == closing):
                break
            word = self.keyword()
            if word in ("AND", "&&"):
                self.i += len(word)
                pending_or = False
                continue
            if word in ("OR", "||"):
                self.i += len(word)
                pending_or = True
                continue
            node = self.unary(depth, default_field)
            if pending_or and groups:
                groups[-1].append(node)
            else:
                groups.append([node])
            pending_or = False
        conjuncts: list[Node] = [g[0] if len(g) == 1 else AnyOf(g) for g in groups]
        return conjuncts[0] if len(conjuncts) == 1 else AllOf(conjuncts)  # AllOf([]): all

    def unary(self, depth: int, default_field: str | None) -> Node:
        char = self.peek()
        if char == "+":
            self.i += 1
            return self.primary(depth, default_field)
        if char in "-!":
            self.i += 1
            return Not(self.primary(depth, default_field))
        if self.keyword() == "NOT":
            self.i += 3
            self.skip_space()
            return Not(self.unary(depth, default_field))
        return self.primary(depth, default_field)

    def primary(self, depth: int, default_field: str | None) -> Node:
        self.count()
        char = self.peek()
        if char == "(":
            self.i += 1
            node = self.sequence(")", depth + 1, default_field)
            self.expect(")")
            return node
        if char == '"':
            return Term(default_field, self.quoted(), "phrase")
        if char in "[{":
            return self.range(default_field)
        token = self.bare(stop_at_colon=True)
        if self.peek() == ":" and _FIELD.match(token):
            self.i += 1
            return self.value_of(token, depth)
        if not token:
            raise self.fail(_("Unexpected “%(char)s” in the query.") % {"char": self.peek()})
        return Term(default_field, token, "word")

    def value_of(self, name: str, depth: int) -> Node:
        char = self.peek()
        if char == "(":
            self.i += 1
            node = self.sequence(")", depth + 1, name)
            self.expect(")")
            return node
        if char == '"':
            return Term(name, self.quoted(), "phrase")
        if char in "[{":
            return self.range(name)
        token = self.bare(stop_at_colon=False)
        if not token:
            raise self.fail(_("“%(field)s:” needs a value.") % {"field": name})
        return Term(name, token, "word")

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise self.fail(_("“%(char)s” is missing in the query.") % {"char": char})
        self.i += 1

    def quoted(self) -> str:
        self.i += 1
        out = []
        while self.i < len(self.text):
            char = self.text[self.i]
            if char == "\\" and self.i + 1 < len(self.text):
                out.append(self.text[self.i + 1])
                self.i += 2
                continue
            if char == '"':
                self.i += 1
                return "".join(out)
            out.append(char)
            self.i += 1
        raise self.fail(_("A quote is not closed in the query."))

    def bare(self, *, stop_at_colon: bool) -> str:
        out = []
        while self.i < len(self.text):
            char = self.text[self.i]
            if char == "\\" and self.i + 1 < len(self.text):
                out.append(self.text[self.i + 1])
                self.i += 2
                continue
            if char.isspace() or char in _SPECIAL or (stop_at_colon and char == ":"):
                break
            out.append(char)
            self.i += 1
        return "".join(out)

    def range(self, name: str | None) -> Term:
        low_inclusive = self.peek() == "["
        self.i += 1
        end = min(
            (p for p in (self.text.find("]", self.i), self.text.find("}", self.i)) if p >= 0),
            default=-1,
        )
        if end < 0:
            raise self.fail(_("A range is not closed in the query."))
        inside = self.text[self.i : end].strip()
        high_inclusive = self.text[end] == "]"
        self.i = end + 1
        parts = re.split(r"\s+TO\s+", inside)
        if len(parts) != 2 or not all(p.strip() for p in parts):
            raise self.fail(_("A range is written [from TO to]."))
        low, high = (p.strip().strip('"') for p in parts)
        if name is None:
            raise self.fail(_("A range needs a field, e.g. metadata_modified:[… TO …]."))
        return Term(name, inside, "range", low, high, low_inclusive, high_inclusive)


def parse(text: str) -> Node | None:
    """The tree of a ``q`` or ``fq`` (``None``: everything, e.g. ``*:*``)."""
    text = (text or "").strip()
    if not text or text in ("*:*", "*", '""', "''"):
        return None
    parser = _Parser(text)
    node = parser.sequence(None, 0, None)
    parser.skip_space()
    if parser.i < len(text):
        raise SearchQueryError(_("Unexpected “%(char)s” in the query.") % {"char": parser.peek()})
    return node


# --- Dates -------------------------------------------------------------------------------

_UNITS = ("YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND", "MILLI")
_MATH = re.compile(
    r"([+-])(\d{1,9})(YEAR|MONTH|DAY|HOUR|MINUTE|SECOND|MILLI)S?|/(YEAR|MONTH|DAY|HOUR|MINUTE|SECOND)S?"
)


_STAMP = re.compile(
    r"^(\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?)"  # date, time
    r"(Z|[+-]\d{2}:?\d{2})?"  # zone
)


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise OverflowError
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _round(moment: datetime, unit: str) -> datetime:
    if unit == "YEAR":
        return moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "MONTH":
        return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "DAY":
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "HOUR":
        return moment.replace(minute=0, second=0, microsecond=0)
    if unit == "MINUTE":
        return moment.replace(second=0, microsecond=0)
    return moment.replace(microsecond=0)


def moment(value: str) -> datetime | None:
    """A bound of a date range as Solr reads it (UTC); ``None`` for ``*``."""
    value = value.strip()
    if value == "*":
        return None
    if value.startswith("NOW"):
        found, rest = timezone.now().astimezone(UTC), value[3:]
    else:
        match = _STAMP.match(value)
        if match is None:
            raise SearchQueryError(_("“%(value)s” is not a date.") % {"value": value[:60]})
        stamp, zone = match.group(1), match.group(2) or ""
        stamp = re.sub(r"(\.\d{6})\d+", r"\1", stamp)
        try:
            found = datetime.fromisoformat(stamp + ("+00:00" if zone in ("", "Z") else zone))
        except ValueError:
            raise SearchQueryError(
                _("“%(value)s” is not a date.") % {"value": value[:60]}
            ) from None
        found, rest = found.astimezone(UTC), value[match.end() :]
    position = 0
    try:
        while position < len(rest):
            step = _MATH.match(rest, position)
            if step is None:
                raise SearchQueryError(_("“%(value)s” is not a date.") % {"value": value[:60]})
            sign, amount, unit, rounding = step.groups()
            if rounding:
                found = _round(found, rounding)
            else:
                n = int(amount) * (1 if sign == "+" else -1)
                if unit == "YEAR":
                    found = _add_months(found, 12 * n)
                elif unit == "MONTH":
                    found = _add_months(found, n)
                else:
                    seconds = {"DAY": 86_400, "HOUR": 3_600, "MINUTE": 60, "SECOND": 1}
                    found = found + (
                        timedelta(milliseconds=n)
                        if unit == "MILLI"
                        else timedelta(seconds=n * seconds[unit])
                    )
            position = step.end()
    except (OverflowError, ValueError):
        raise SearchQueryError(_("“%(value)s” is not a date.") % {"value": value[:60]}) from None
    return found


# --- Sort --------------------------------------------------------------------------------

#: Sort fields a client may name, as CKAN's Solr schema has them.
SORT_FIELDS = (
    "score",
    "metadata_modified",
    "metadata_created",
    "title_string",
    "title",
    "name",
    "id",
    "views_recent",
    "views_total",
)
DEFAULT_SORT = "score desc, metadata_modified desc"


def sort_keys(text: str) -> list[tuple[str, bool]]:
    """``[(field, descending), ...]`` of a ``sort`` (``title_string asc, name desc``)."""
    keys = []
    for clause in text.split(","):
        parts = clause.split()
        if not parts:
            continue
        if (
            len(parts) != 2
            or parts[0] not in SORT_FIELDS
            or parts[1].lower() not in ("asc", "desc")
        ):
            raise SearchQueryError(_('Invalid "sort" parameter'))
        keys.append((parts[0], parts[1].lower() == "desc"))
    if not keys or len(keys) > 6:
        raise SearchQueryError(_('Invalid "sort" parameter'))
    return keys
