"""Merged reports and their reporters: whose news reaches whom, and who may see what.

A duplicate is merged into the report that is handled for it (``Report.merged_into``);
that report may be merged in turn (B into A, then A into C), so a report heads a tree of
the reports merged into it, directly or through a chain. The rules (docs/meldpunt.md,
"Merged reports"; ADR 0037):

* **Everyone hears it.** A status change, message or question on a report reaches its own
  reporter and the reporter of every report in its tree, each in their own language, with
  their own follow-up link: one mail task per recipient.
* **Everyone sees what they were sent.** A merged report's follow-up page shows the status
  changes and staff messages of the reports it was merged into, from the moment it joined
  each (:func:`chain`), besides its own.
* **Nobody sees another reporter.** What a reporter wrote or sent (description, messages,
  photos) may hold their name, phone number, house or car: it stays on their own report's
  follow-up page. Staff see everything of the tree on the surviving report's page.

The moment a report joined the one it was merged into is its ``closed_at``: the merge
sets it, and a merged report never changes state again (``workflow.TRANSITIONS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from regiohub.meldpunt.models import Report


def merged_ids(report_id: int) -> list[int]:
    """Every report merged into ``report_id``, directly or through a chain, nearest first."""
    found: list[int] = []
    seen = {report_id}
    level = [report_id]
    while level:
        level = [
            pk
            for pk in Report.objects.filter(merged_into__in=level)
            .order_by("pk")
            .values_list("pk", flat=True)
            if pk not in seen
        ]
        seen.update(level)
        found.extend(level)
    return found


def reachable_ids(report_id: int) -> list[int]:
    """The reports merged into ``report_id`` (see :func:`merged_ids`) whose reporter we can
    still mail: an address left, not erased."""
    ids = merged_ids(report_id)
    if not ids:
        return []
    return list(
        Report.objects.filter(pk__in=ids, reporter_email__gt="", anonymised_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@dataclass(frozen=True)
class Link:
    """A report that ``report`` was merged into (directly or further along the chain),
    and since when its news reaches ``report``'s reporter."""

    report: Report
    since: datetime


def chain(report: Report) -> list[Link]:
    """The reports ``report`` was merged into, nearest first; the last one is the report
    handled for it now. Empty when ``report`` was not merged."""
    links: list[Link] = []
    seen = {report.pk}
    current = report
    while current.merged_into_id is not None and current.merged_into_id not in seen:
        since = current.closed_at or current.updated_at
        current = Report.objects.select_related("organisation", "category").get(
            pk=current.merged_into_id
        )
        links.append(Link(report=current, since=since))
        seen.add(current.pk)
    return links


def surviving(report: Report) -> Report:
    """The report handled for ``report``: the end of its chain, or itself."""
    links = chain(report)
    return links[-1].report if links else report
