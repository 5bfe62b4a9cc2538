"""A data steward's pages: create a dataset, upload a file, check the columns, follow the
load. Only for datasets of organisations where the user may manage data (others: 404)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from regiohub.core import access
from regiohub.core.auth.decorators import staff_required
from regiohub.core.roles import Capability
from regiohub.datasets import services
from regiohub.datasets.forms import DatasetForm, ModeForm, UploadForm
from regiohub.datasets.models import Dataset, Load, LoadMode, LoadState
from regiohub.datasets.services import COLUMN_ROLES, COLUMN_TYPES

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
    "id": gettext_lazy("Identifier"),
}


def _managed(request: HttpRequest, slug: str) -> Dataset:
    return get_object_or_404(Dataset.objects.manageable_by(request.user), slug=slug[:80])


@staff_required
@require_http_methods(["GET", "POST"])
def dataset_create(request: HttpRequest) -> HttpResponse:
    if not access.organisation_ids(request.user, Capability.MANAGE_DATA):
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
    return {
        "dataset": dataset,
        "load": load,
        "columns": load.schema,
        "preview_headers": [c["name"] for c in load.schema],
        "types": [(t, TYPE_LABELS[t]) for t in COLUMN_TYPES],
        "roles": [(r, ROLE_LABELS[r]) for r in COLUMN_ROLES],
        "mode_form": extra.pop("mode_form", None)
        or ModeForm(initial={"mode": LoadMode.APPEND if current else LoadMode.REPLACE}),
        "has_version": current is not None,
        "refresh": load.state in (LoadState.INSPECTING, LoadState.QUEUED, LoadState.LOADING),
        **extra,
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
    problems: list[str] = []
    if mode_form.is_valid():
        try:
            services.confirm(
                load,
                request.user,
                columns=columns,
                primary_key=primary_key,
                mode=mode_form.cleaned_data["mode"],
            )
        except ValidationError as exc:
            problems = exc.messages
        else:
            messages.success(request, _("The rows are being loaded."))
            return redirect("datasets:load", slug=dataset.slug, pk=load.pk)
    load.schema = columns  # show what they typed, with the problems
    load.primary_key = primary_key
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
