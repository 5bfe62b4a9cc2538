"""A data steward's pages: create a dataset, upload a file, check the columns, follow the
load. Only for datasets of organisations where the user may manage data (others: 404)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from regiohub.core import access, history
from regiohub.core.auth.decorators import staff_required
from regiohub.core.secrets import unseal_fields
from regiohub.datasets import services
from regiohub.datasets.events import Action
from regiohub.datasets.forms import DatasetEditForm, DatasetForm, ModeForm, UploadForm
from regiohub.datasets.models import Dataset, Feed, Load, LoadMode, LoadState
from regiohub.datasets.permissions import MANAGE_DATA
from regiohub.datasets.services import COLUMN_ROLES, COLUMN_TYPES
from regiohub.datasets.views.sheet import excluded_rows, sheet_context

TYPE_LABELS = {
    "integer": gettext_lazy("Whole number"),
    "decimal": gettext_lazy("Number"),
    "boolean": gettext_lazy("Yes/no"),
    "date": gettext_lazy("Date"),
    "timestamp": gettext_lazy("Date and time"),
    "text": gettext_lazy("Text"),
}
ROLE_LABELS = {
    "": gettext_lazy("—"),
    "time": gettext_lazy("Time of the row"),
    "latitude": gettext_lazy("Latitude"),
    "longitude": gettext_lazy("Longitude"),
    "id": gettext_lazy("Identifier of the row"),
}


def _managed(request: HttpRequest, slug: str) -> Dataset:
    return get_object_or_404(Dataset.objects.manageable_by(request.user), slug=slug[:80])


@staff_required
@require_http_methods(["GET", "POST"])
def dataset_create(request: HttpRequest) -> HttpResponse:
    if not access.organisation_ids(request.user, MANAGE_DATA):
        raise PermissionDenied
    form = DatasetForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            dataset = services.create_dataset(request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Dataset created. Now load data into it."))
            return redirect("datasets:upload", slug=dataset.slug)
    return render(request, "datasets/create.html", {"form": form})


@staff_required
@require_http_methods(["GET", "POST"])
def dataset_edit(request: HttpRequest, slug: str) -> HttpResponse:
    dataset = _managed(request, slug)
    form = DatasetEditForm(request.POST or None, instance=dataset, user=request.user)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
        if (chart := form.chart()) is not None:
            fields["chart"] = chart
        fresh = Dataset.objects.get(pk=dataset.pk)  # the form changed the instance already
        try:
            services.update_dataset(fresh, request.user, **fields)
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, getattr(exc, "messages", [str(exc)]))
        else:
            messages.success(request, _("The dataset is saved."))
            return redirect("datasets:detail", slug=dataset.slug)
    return render(request, "datasets/edit.html", {"dataset": dataset, "form": form})


@staff_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest, slug: str) -> HttpResponse:
    dataset = _managed(request, slug)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            load = services.start_upload(
                dataset, request.user, form.cleaned_data["file"], options=form.options()
            )
        except ValidationError as exc:
            form.add_error("file", exc)
        else:
            return redirect("datasets:load", slug=dataset.slug, pk=load.pk)
    return render(request, "datasets/upload.html", {"dataset": dataset, "form": form})


def _load(dataset: Dataset, pk: int) -> Load:
    try:
        return dataset.loads.get(pk=pk)
    except Load.DoesNotExist:
        raise Http404 from None


@staff_required
@require_http_methods(["GET"])
def load_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    dataset = _managed(request, slug)
    load = _load(dataset, pk)
    return render(request, "datasets/load.html", _load_context(dataset, load))


def _load_context(dataset: Dataset, load: Load, **extra: Any) -> dict[str, Any]:
    current = dataset.current_version
    # After a dry run the mode it was asked for; else add and update by key for a dataset
    # with a key (adding rows whose key is there is refused), add or replace otherwise.
    mode = load.mode if load.dry_run else services.default_mode(dataset)
    return {
        "dataset": dataset,
        "load": load,
        "columns": load.schema,
        "preview_headers": [c["name"] for c in load.schema],
        "types": [(t, TYPE_LABELS[t]) for t in COLUMN_TYPES],
        "roles": [(r, ROLE_LABELS[r]) for r in COLUMN_ROLES],
        "mode_form": extra.pop("mode_form", None) or ModeForm(initial={"mode": mode}),
        "has_version": current is not None,
        "dataset_key": current.primary_key if current else [],
        "dry_run": _dry_run_shown(load) if load.state == LoadState.REVIEW else None,
        "refresh": load.state
        in (LoadState.INSPECTING, LoadState.CHECKING, LoadState.QUEUED, LoadState.LOADING),
        **sheet_context(load),
        **extra,
    }


def _shown(value: Any, kind: str) -> str:
    """A value of a dry run's answer (JSON) as the dataset page shows it."""
    if value is None or value == "":
        return "—"
    try:
        if kind == "timestamp":
            moment = datetime.fromisoformat(str(value))
            return timezone.localtime(moment).strftime("%d/%m/%Y %H:%M")
        if kind == "date":
            return date.fromisoformat(str(value)).strftime("%d/%m/%Y")
    except ValueError:
        return str(value)
    if isinstance(value, float):
        text = f"{value:,.6f}".rstrip("0").rstrip(".")
        return text.replace(",", " ").replace(".", ",")
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    return str(value)


def _dry_run_shown(load: Load) -> dict[str, Any] | None:
    """The last dry run's answer with its keys and values ready to show."""
    report = load.dry_run
    if not report:
        return None
    names = {c["key"]: c.get("name") or c["key"] for c in load.schema}
    kinds = {c["key"]: c.get("type", "text") for c in load.schema}

    # In the key's own column order: the stored JSON object may come back in another
    # order (PostgreSQL's jsonb sorts object keys).
    order = {name: i for i, name in enumerate(report.get("primary_key", []))}

    def key_text(key: dict[str, Any]) -> str:
        ordered = sorted(key.items(), key=lambda item: order.get(item[0], len(order)))
        return ", ".join(f"{names.get(k, k)} {_shown(v, kinds.get(k, 'text'))}" for k, v in ordered)

    def rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {
                "row": item.get("row"),
                "key": key_text(item.get("key", {})),
                "columns": [
                    {
                        "name": names.get(c["column"], c["column"]),
                        "before": _shown(c["before"], kinds.get(c["column"], "text")),
                        "after": _shown(c["after"], kinds.get(c["column"], "text")),
                    }
                    for c in item.get("columns", [])
                ],
            }
            for item in items
        ]

    mode = report.get("mode", "")
    return {
        **report,
        "mode_label": LoadMode(mode).label if mode in LoadMode.values else mode,
        "repeated_examples": "; ".join(key_text(k) for k in report.get("repeated_keys", [])),
        "updated_shown": rows(report.get("updated_rows", [])),
        "added_shown": rows(report.get("added_rows", [])),
        "removed_shown": rows(report.get("removed_rows", [])),
    }


@staff_required
@require_POST
def load_confirm(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    dataset = _managed(request, slug)
    load = _load(dataset, pk)
    columns = []
    primary_key = []
    for i, column in enumerate(load.schema):
        edited = dict(column)
        edited["key"] = request.POST.get(f"key_{i}", column["key"]).strip()[:63]
        edited["type"] = request.POST.get(f"type_{i}", column["type"])
        edited["unit"] = request.POST.get(f"unit_{i}", column.get("unit", "")).strip()[:30]
        edited["role"] = request.POST.get(f"role_{i}", column.get("role", ""))
        columns.append(edited)
        if request.POST.get(f"pk_{i}"):
            primary_key.append(edited["key"])
    mode_form = ModeForm(request.POST)
    exclude_rows, problems = excluded_rows(request, load)
    dry_run = bool(request.POST.get("dry_run"))
    if mode_form.is_valid() and not problems:
        try:
            services.confirm(
                load,
                request.user,
                columns=columns,
                primary_key=primary_key,
                mode=mode_form.cleaned_data["mode"],
                dry_run=dry_run,
                exclude_rows=exclude_rows,
            )
        except ValidationError as exc:
            problems = exc.messages
        else:
            if dry_run:
                messages.success(
                    request, _("Working out what this load would do; nothing is loaded yet.")
                )
            else:
                messages.success(request, _("The rows are being loaded."))
            return redirect("datasets:load", slug=dataset.slug, pk=load.pk)
    load.schema = columns  # show what they typed, with the problems
    load.primary_key = primary_key
    load.options = {**load.options, "exclude_rows": exclude_rows}
    return render(
        request,
        "datasets/load.html",
        _load_context(dataset, load, problems=problems, mode_form=mode_form),
        status=400,
    )


@staff_required
@require_POST
def load_cancel(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    dataset = _managed(request, slug)
    load = _load(dataset, pk)
    try:
        services.cancel(load, request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The load was cancelled; nothing was changed."))
    return redirect("datasets:detail", slug=dataset.slug)


class FeedScheduleForm(forms.Form):
    interval_minutes = forms.IntegerField(
        label=gettext_lazy("Fetch every (minutes)"), min_value=5, max_value=7 * 24 * 60
    )
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False)


def _feed_class(request: HttpRequest, feed: Feed | None) -> Any:
    from regiohub.datasets.feeds import registry

    kind = request.POST.get("kind") or request.GET.get("kind") or (feed.kind if feed else "")
    try:
        return registry.get(kind or registry.all_feeds()[0].kind)
    except KeyError:
        raise Http404 from None


@staff_required
@require_http_methods(["GET", "POST"])
def feed_settings(request: HttpRequest, slug: str) -> HttpResponse:
    """Point a dataset at a feed: its kind, its settings and how often to fetch."""
    from regiohub.datasets.feeds import registry

    dataset = _managed(request, slug)
    feed = Feed.objects.filter(dataset=dataset).first()
    source = _feed_class(request, feed)
    secret_fields = list(source.secret_settings())
    stored = (
        unseal_fields(feed.settings, secret_fields) if feed and feed.kind == source.kind else {}
    )
    if request.method == "POST":
        data = {name: request.POST.get(name, "") for name in source.settings_form.base_fields}
        for name in secret_fields:  # a secret left empty keeps the one stored
            if not data[name] and stored.get(name):
                data[name] = stored[name]
        settings_form = source.settings_form(data=data)
        schedule = FeedScheduleForm(request.POST)
        reused = [n for n in secret_fields if not request.POST.get(n) and stored.get(n)]
        moved = "base_url" in data and (data["base_url"] or "") != (stored.get("base_url") or "")
        if reused and moved and settings_form.is_valid():
            # A stored key goes only where it went before: a new address needs it typed.
            for name in reused:
                settings_form.add_error(
                    name, _("Enter the key again when you change the API address.")
                )
        if settings_form.is_valid() and schedule.is_valid():
            with transaction.atomic():
                feed, _created = Feed.objects.update_or_create(
                    dataset=dataset,
                    defaults={
                        "kind": source.kind,
                        "settings": {k: v for k, v in data.items() if v != ""},
                        **schedule.cleaned_data,
                    },
                )
                history.record(
                    dataset,
                    Action.FEED_CONFIGURED,
                    actor=request.user,
                    organisation=dataset.owner_id,
                    after={"kind": source.kind, **schedule.cleaned_data},
                )
            messages.success(request, _("The feed is saved; it fetches on its schedule."))
            return redirect("datasets:detail", slug=dataset.slug)
    else:
        initial = {k: v for k, v in stored.items() if k not in secret_fields}
        if isinstance(initial.get("segment_ids"), list):
            initial["segment_ids"] = ", ".join(str(s) for s in initial["segment_ids"])
        settings_form = source.settings_form(initial=initial)
        schedule = FeedScheduleForm(
            initial={
                "interval_minutes": feed.interval_minutes if feed else 60,
                "is_active": feed.is_active if feed else True,
            }
        )
    for name in secret_fields:
        if stored.get(name):
            settings_form.fields[name].required = False
            settings_form.fields[name].help_text = _("A key is stored; leave empty to keep it.")
    return render(
        request,
        "datasets/feed.html",
        {
            "dataset": dataset,
            "feed": feed,
            "kind": source.kind,
            "kinds": registry.choices(),
            "settings_form": settings_form,
            "schedule": schedule,
        },
    )


@staff_required
@require_POST
def feed_run(request: HttpRequest, slug: str) -> HttpResponse:
    from regiohub.core.tasks import enqueue
    from regiohub.datasets.tasks import run_feed

    dataset = _managed(request, slug)
    feed = get_object_or_404(Feed, dataset=dataset)
    with transaction.atomic():
        enqueue(run_feed, feed.pk)
    messages.success(request, _("The feed is fetching now; new rows become a new version."))
    return redirect("datasets:detail", slug=dataset.slug)
