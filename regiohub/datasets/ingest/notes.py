"""What the reader did to a sheet, as a sentence for the steward (in their language)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict

from django.utils.translation import gettext as _

from .types import ReadNote


def describe(note: ReadNote | Mapping[str, str]) -> str:
    """The sentence for a note (a ReadNote, or one stored as a dict); "" for an unknown kind."""
    data = asdict(note) if isinstance(note, ReadNote) else dict(note)
    kind = data.get("kind", "")
    values = {"where": data.get("where", ""), "example": data.get("example", "")}
    if kind == "title_rows":
        return (
            _(
                "The header is on row %(example)s; the rows above it (%(where)s) look like a "
                "title and were skipped."
            )
            % values
        )
    if kind == "header_joined":
        return (
            _("Rows %(where)s together form the header: their names were joined (“%(example)s”).")
            % values
        )
    if kind == "merged_header":
        return _("Header cells %(where)s were merged; each column below got the name.") % values
    if kind == "merged_down":
        return _("Cells %(where)s were merged; the value was filled down.") % values
    if kind == "merged_first":
        return (
            _(
                "Cells %(where)s were merged over several rows; the number is kept in the "
                "first row only, so that it is not counted twice."
            )
            % values
        )
    if kind == "empty_columns":
        return _("Empty columns without a name were left out: %(where)s.") % values
    return ""
