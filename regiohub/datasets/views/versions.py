"""Versions side by side and back again: compare two versions (a page and a CSV download,
for whoever may read the dataset's rows) and restore an older version (for the dataset's
data stewards, with a reason)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from regiohub.core import access, errors, throttling
from regiohub.core.auth.decorators import staff_required, token_or_session
from regiohub.datasets import compare, query, services
from regiohub.datasets.forms import RestoreForm
from regiohub.datasets.models import Dataset, DatasetVersion
from regiohub.datasets.permissions import MANAGE_DATA
from regiohub.datasets.views.browse import DownloadThrottle, _plain, visible_dataset
from regiohub.datasets.views.steward import _managed

#: Changed rows on one page of the comparison.
PAGE_ROWS = 50


def _names(version: DatasetVersion) -> dict[str, str]:
    """Column key -> the name people know it by."""
    return {c["key"]: c.get("name") or c["key"] for c in version.schema}


def _row_text(row: dict[str, Any], names: dict[str, str]) -> str:
    return " · ".join(f"{names.get(k, k)}: {_plain(v)}" for k, v in row.items())


def _lines(
    found: list[compare.RowChange], old: DatasetVersion, new: DatasetVersion
) -> list[dict[str, Any]]:
    """The page's table: one line per changed column, one per added or removed row."""
    old_names, new_names = _names(old), _names(new)
    names = {**old_names, **new_names}
    lines = []
    for change in found:
        base = {
            "kind": change.change,
            "label": compare.change_label(change.change),
            "key": [_plain(v) for v in change.key.values()],
        }
        if change.change == compare.CHANGED:
            for item in change.columns:
                lines.append(
                    {
                        **base,
                        "column": names.get(item.column, item.column),
                        "before": _plain(item.before),
                        "after": _plain(item.after),
                    }
                )
        elif change.change == compare.ADDED:
            lines.append(
                {**base, "column": "", "before": "", "after": _row_text(change.row, names)}
            )
        else:
            lines.append(
                {**base, "column": "", "before": _row_text(change.row, names), "after": ""}
            )
    return lines


@require_GET
def compare_page(request: HttpRequest, slug: str) -> HttpResponse:
    """Choose two versions; see how many rows were added, removed and changed, and the
    changes page by page."""
    dataset = visible_dataset(request, slug)
    versions = list(dataset.versions.order_by("-number"))
    context: dict[str, Any] = {
        "dataset": dataset,
        "versions": versions,
        "can_manage": dataset.owner_id in access.organisation_ids(request.user, MANAGE_DATA),
        "chosen": {"from": request.GET.get("from", "")[:20], "to": request.GET.get("to", "")[:20]},
    }
    if len(versions) < 2:
        context["error"] = _(
            "This dataset has fewer than two versions: there is nothing to compare."
        )
        return render(request, "datasets/compare.html", context)
    status = 200
    try:
        old, new = compare.versions_to_compare(
            dataset, request.GET.get("from"), request.GET.get("to")
        )
        context.update({"old": old, "new": new, "chosen": {"from": old.number, "to": new.number}})
        old_side, new_side = compare.side_of(old), compare.side_of(new)
        summary = compare.summarize(old_side, new_side)
        page = compare.page_number(request.GET.get("page"), summary, PAGE_ROWS)
        found = compare.changes(
            old_side, new_side, summary, offset=(page - 1) * PAGE_ROWS, limit=PAGE_ROWS
        )
    except compare.CompareError as exc:
        context["error"] = exc.message
        status = 400
    except query.QueryTimeout:
        context["error"] = _("Comparing these versions took too long; try again later.")
        status = 503
    else:
        pages = compare.page_count(summary, PAGE_ROWS)
        names = {**_names(old), **_names(new)}

        def link(number: int) -> str:
            following = request.GET.copy()
            following["from"], following["to"] = str(old.number), str(new.number)
            following["page"] = str(number)
            return "?" + following.urlencode()

        context.update(
            {
                "summary": summary,
                "counts": summary.counts,
                "how": compare.how_compared(summary),
                "key_names": [names.get(k, k) for k in summary.layout.key],
                "only_old": [names.get(k, k) for k in summary.layout.only_old],
                "only_new": [names.get(k, k) for k in summary.layout.only_new],
                "lines": _lines(found, old, new),
                "page": page,
                "pages": pages,
                "previous_url": link(page - 1) if page > 1 else "",
                "next_url": link(page + 1) if page < pages else "",
                "csv_url": f"?from={old.number}&to={new.number}",
            }
        )
    return render(request, "datasets/compare.html", context, status=status)


def _plain_error(request: HttpRequest, status: int, message: str) -> HttpResponse:
    if errors.wants_html(request):
        return errors.error_page(request, status, message=message)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


@require_GET
@token_or_session  # BI tools and scripts send a personal API token (decision 0025)
def compare_download(request: HttpRequest, slug: str) -> HttpResponse:
    """Every change between two versions as CSV: one line per changed column, and one per
    added or removed row (the whole row as JSON)."""
    dataset = visible_dataset(request, slug)
    ok, wait = throttling.allowed(DownloadThrottle, request)
    if not ok:
        response = _plain_error(
            request,
            429,
            _("Too many downloads from your address; try again in %(s)d seconds.") % {"s": wait},
        )
        response["Retry-After"] = str(wait)
        return response
    try:
        old, new = compare.versions_to_compare(
            dataset, request.GET.get("from"), request.GET.get("to")
        )
        old_side, new_side = compare.side_of(old), compare.side_of(new)
        summary = compare.summarize(old_side, new_side)
        batches = compare.stream(old_side, new_side, summary)
        first = next(batches, None)  # errors and time-outs before the first byte
    except compare.CompareError as exc:
        return _plain_error(request, 400, exc.message)
    except query.QueryTimeout:
        return _plain_error(
            request, 503, _("Comparing these versions took too long; try again later.")
        )

    def everything() -> Any:
        if first is not None:
            yield first
            yield from batches

    response = StreamingHttpResponse(
        compare.csv_stream(summary, everything()), content_type="text/csv; charset=utf-8"
    )
    name = f"{dataset.slug}-v{old.number}-v{new.number}-changes.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _version(dataset: Dataset, number: int) -> DatasetVersion:
    found = dataset.versions.filter(number=number).first() if 0 < number < 2**31 else None
    if found is None:
        raise Http404
    return found


@staff_required
@require_http_methods(["GET", "POST"])
def restore(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """Confirm restoring version ``number``, with a reason; it becomes a new version."""
    dataset = _managed(request, slug)
    target = _version(dataset, number)
    current = dataset.current_version
    form = RestoreForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            version = services.restore(
                dataset, request.user, number=target.number, reason=form.cleaned_data["reason"]
            )
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, getattr(exc, "messages", [str(exc)]))
        except query.QueryTimeout:
            form.add_error(None, _("Comparing these versions took too long; try again later."))
        else:
            messages.success(
                request,
                _(
                    "Version %(number)d restores version %(restored)d: %(added)d rows added, "
                    "%(updated)d updated, %(unchanged)d unchanged, %(removed)d removed."
                )
                % {
                    "number": version.number,
                    "restored": target.number,
                    "added": version.rows_added,
                    "updated": version.rows_updated,
                    "unchanged": version.rows_unchanged,
                    "removed": version.rows_removed,
                },
            )
            return redirect("datasets:detail", slug=dataset.slug)
    if request.method == "POST":
        status = 400
    is_current = current is not None and current.pk == target.pk
    summary = None
    if current is not None and not is_current:
        try:
            summary = compare.summarize(compare.side_of(current), compare.side_of(target))
        except query.QueryTimeout:
            summary = None  # the page still asks for the reason
    return render(
        request,
        "datasets/restore.html",
        {
            "dataset": dataset,
            "target": target,
            "current": current,
            "is_current": is_current,
            "form": form,
            "counts": summary.counts if summary else None,
            "how": compare.how_compared(summary) if summary else "",
        },
        status=status,
    )
