"""The column review's part about the sheet itself: what the reader did (title rows
skipped, header rows joined, merged cells filled), the row the header is on, the total
rows and other rows to leave out; and loading a refused file again without uploading it."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from regiohub.core.auth.decorators import staff_required
from regiohub.datasets import services
from regiohub.datasets.ingest import describe_note
from regiohub.datasets.models import Load, LoadState

#: Rows a steward may list to leave out, at most (ranges counted row by row).
MAX_LEFT_OUT = 10_000
_RANGE = re.compile(r"^(\d{1,9})(?:-(\d{1,9}))?$")


def sheet_context(load: Load) -> dict[str, Any]:
    """What the load page shows about the sheet, for a load in review or refused."""
    detected = load.detected or {}
    totals = detected.get("totals", [])
    excluded = set(load.options.get("exclude_rows", [t["row"] for t in totals]))
    total_rows = {t["row"] for t in totals}
    return {
        "sheet_notes": [
            text for note in detected.get("notes", []) if (text := describe_note(note))
        ],
        "header_row": detected.get("header_row") or 1,
        # JSON has no header row to choose; a file refused before it was read may have one.
        "header_choice": detected.get("format", "csv") in ("csv", "xlsx")
        and not load.filename.lower().endswith((".json", ".ndjson", ".jsonl")),
        "totals": [
            {**t, "kept": t["row"] not in excluded, "shown": _shown_values(t.get("values", []))}
            for t in totals
        ],
        "left_out": _ranges(sorted(excluded - total_rows)),
        "can_reopen": load.state == LoadState.FAILED
        and bool(load.file)
        and (services.uploads_dir() / load.file).is_file(),
    }


def _shown_values(values: list[Any]) -> str:
    return " · ".join(str(value) for value in values if value not in (None, ""))[:200]


def _ranges(rows: list[int]) -> str:
    parts, start = [], None
    for position, row in enumerate(rows):
        if start is None:
            start = row
        if position + 1 == len(rows) or rows[position + 1] != row + 1:
            parts.append(str(start) if start == row else f"{start}-{row}")
            start = None
    return ", ".join(parts)


def excluded_rows(request: HttpRequest, load: Load) -> tuple[list[int], list[str]]:
    """The rows to leave out, from the review form: the total rows whose "load this row"
    box is not ticked, and the rows typed in "Leave out rows". Also the problems."""
    totals = (load.detected or {}).get("totals", [])
    rows = {t["row"] for t in totals if not request.POST.get(f"keep_total_{t['row']}")}
    text = re.sub(r"\s*[-–]\s*", "-", request.POST.get("left_out", "")[:2000])
    problems = []
    for part in filter(None, re.split(r"[,;\s]+", text)):
        match = _RANGE.match(part)
        first, last = (int(match[1]), int(match[2] or match[1])) if match else (0, 0)
        if not match or first < 1 or last < first or len(rows) + last - first >= MAX_LEFT_OUT:
            problems.append(
                _("“%(part)s” is not a row number or a range of rows (such as 12 or 15-17).")
                % {"part": part[:40]}
            )
            continue
        rows.update(range(first, last + 1))
    return sorted(rows), problems


@staff_required
@require_POST
def load_reopen(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Read the file again with the header on another row, or go back to the column
    review of a refused load, without uploading the file again."""
    from regiohub.datasets.views.steward import _load, _managed

    dataset = _managed(request, slug)
    load = _load(dataset, pk)
    header_row = None
    if "header_row" in request.POST:
        try:
            header_row = int(request.POST["header_row"])
        except ValueError:
            header_row = -1
        if not 0 <= header_row <= 1_048_576:
            messages.error(request, _("Give the number of the row the header is on."))
            return redirect("datasets:load", slug=dataset.slug, pk=load.pk)
    try:
        again = services.reopen(load, request.user, header_row=header_row)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("datasets:load", slug=dataset.slug, pk=load.pk)
    if again.state == LoadState.INSPECTING:
        messages.success(request, _("The file is being read again."))
    else:
        messages.success(
            request, _("Back at the column review: correct the columns or rows and load again.")
        )
    return redirect("datasets:load", slug=dataset.slug, pk=again.pk)
