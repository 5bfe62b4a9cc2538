"""The public map of open reports (``/melden/kaart/``): a page whose list works without
JavaScript, and the JSON its map reads (``meldingen.json``). What a report shows and how a
view is answered live in ``meldpunt/public_map.py`` (ADR 0035).

The JSON answers are kept in each process's memory for ``MELDPUNT_MAP_CACHE_SECONDS``,
keyed by the view snapped to its cluster grid, so that neighbouring views share them; the
browser may keep one for a minute more.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.cache.backends.locmem import LocMemCache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from regiohub.meldpunt import public_map
from regiohub.meldpunt.public_map import MAX_PAGE, Grid, cache_seconds

_NUMBER = re.compile(r"-?\d{1,3}(?:\.\d{1,15})?", re.ASCII)

_answers = LocMemCache("regiohub-meldpunt-map", {"OPTIONS": {"MAX_ENTRIES": 2000}})


class MapError(Exception):
    """A question the map cannot answer: the parameter and a message for the caller."""

    def __init__(self, parameter: str, message: str) -> None:
        self.parameter = parameter
        self.message = message
        super().__init__(message)


class MapFilter(forms.Form):
    """The list's and the map's filters: a municipality, a subject, a page of the list."""

    municipality = forms.ChoiceField(
        label=gettext_lazy("Municipality"),
        required=False,
        error_messages={
            "invalid_choice": gettext_lazy("Unknown municipality: choose one from the list.")
        },
    )
    category = forms.ChoiceField(
        label=gettext_lazy("Subject"),
        required=False,
        error_messages={
            "invalid_choice": gettext_lazy("Unknown subject: choose one from the list.")
        },
    )
    page = forms.IntegerField(
        label=gettext_lazy("Page"),
        required=False,
        min_value=1,
        max_value=MAX_PAGE,
        widget=forms.HiddenInput,
        error_messages={
            "invalid": gettext_lazy("The page number must be a whole number."),
            "min_value": gettext_lazy("The page number must be 1 or more."),
            "max_value": gettext_lazy(
                "Only the first %(limit_value)s pages are shown: choose a municipality or a "
                "subject to see the others."
            ),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        known = public_map.catalogue()
        self.fields["municipality"].choices = [
            ("", _("All municipalities")),
            *known.municipality_choices(),
        ]
        self.fields["category"].choices = [("", _("All subjects")), *known.subject_choices()]


@require_GET
def map_page(request: HttpRequest) -> HttpResponse:
    """The page: the filters, the map (with JavaScript) and the list (always)."""
    form = MapFilter(request.GET or None)
    page = None
    filters: dict[str, str] = {}
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        filters = {k: data[k] for k in ("municipality", "category") if data.get(k)}
        page = public_map.list_page(**filters, page=data.get("page") or 1)
    return render(
        request,
        "meldpunt/public_map.html",
        {
            "form": form,
            "page": page,
            "reports": page.object_list if page else [],
            "filters": urlencode(filters),
            "chosen": filters,
            "max_page": MAX_PAGE,
            "cache_minutes": max(1, math.ceil(cache_seconds() / 60)),
        },
        status=200 if page else 400,
    )


def parse_bbox(raw: str) -> tuple[float, float, float, float]:
    """``minlon,minlat,maxlon,maxlat`` (WGS84) or a :class:`MapError` saying what is wrong."""
    if not raw.strip():
        raise MapError(
            "bbox",
            _("bbox is required: the west, south, east and north edges of the view in "
              "degrees (WGS84), separated by commas, e.g. bbox=3.20,50.80,3.30,50.85."),
        )  # fmt: skip
    if len(raw) > 100:
        raise MapError("bbox", _("bbox is too long: four numbers of at most 15 decimals."))
    parts = [part.strip() for part in raw.split(",")]
    if len(parts) != 4:
        raise MapError(
            "bbox",
            _("bbox needs four numbers (west, south, east, north), not %(count)d.")
            % {"count": len(parts)},
        )
    for part in parts:
        if not _NUMBER.fullmatch(part):
            raise MapError(
                "bbox",
                _("bbox: “%(value)s” is not a number in degrees such as 3.25 or -0.5.")
                % {"value": part[:20]},
            )
    west, south, east, north = (float(part) for part in parts)
    if not all(-180 <= v <= 180 for v in (west, east)) or not all(
        -90 <= v <= 90 for v in (south, north)
    ):
        raise MapError(
            "bbox",
            _("bbox: longitudes lie between -180 and 180, latitudes between -90 and 90."),
        )
    if not (west < east and south < north):
        raise MapError(
            "bbox",
            _("bbox: west must be less than east and south less than north "
              "(the order is west, south, east, north)."),
        )  # fmt: skip
    return west, south, east, north


def parse_zoom(raw: str, west: float, east: float) -> int:
    """The map's zoom level (0-22); without one, what a 1024-pixel-wide map of the view
    would show."""
    if not raw:
        return max(0, min(22, int(math.log2(360 * 1024 / 256 / (east - west)))))
    if not re.fullmatch(r"\d{1,2}", raw, re.ASCII) or int(raw) > 22:
        raise MapError("zoom", _("zoom must be a whole number from 0 to 22."))
    return int(raw)


def _error(error: MapError) -> JsonResponse:
    return JsonResponse({"error": error.message, "parameter": error.parameter}, status=400)


@require_GET
def map_json(request: HttpRequest) -> HttpResponse:
    """``?bbox=minlon,minlat,maxlon,maxlat[&zoom=..][&municipality=..][&category=..]``:
    the open reports (or clusters) in the view, as GeoJSON."""
    try:
        bbox = parse_bbox(request.GET.get("bbox", ""))
        zoom = parse_zoom(request.GET.get("zoom", ""), bbox[0], bbox[2])
    except MapError as error:
        return _error(error)
    municipality = request.GET.get("municipality", "")[:100]
    category = request.GET.get("category", "")[:100]
    grid = Grid.of(bbox, zoom)
    view = [get_language(), grid.west, grid.south, grid.east, grid.north, grid.cell_lon,
            municipality, category]  # fmt: skip
    key = hashlib.sha256(json.dumps(view).encode()).hexdigest()
    # Only answers to valid filters are kept: a kept answer needs no check (nor a query).
    body = _answers.get(key) if cache_seconds() else None
    if body is None:
        form = MapFilter({"municipality": municipality, "category": category})
        if not form.is_valid():
            name, errors = next(iter(form.errors.items()))
            return _error(MapError(name, str(errors[0])))
        data = public_map.answer(bbox, zoom, municipality=municipality, category=category)
        body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        if cache_seconds():
            _answers.set(key, body, timeout=cache_seconds())
    response = HttpResponse(body, content_type="application/json")
    response["Cache-Control"] = f"max-age={min(60, cache_seconds())}"
    patch_vary_headers(response, ["Cookie", "Accept-Language"])
    return response


def refused(request: HttpRequest, problem: Any) -> JsonResponse:
    """Input the platform refuses before any view (a NUL character), in the JSON's error
    shape (``ModuleConfig.bad_input_responses``)."""
    return JsonResponse({"error": problem.message(), "parameter": problem.parameter}, status=400)


def forget() -> None:
    """Drop every kept answer and read the subjects again (tests; a shell after a change
    of categories that must show at once)."""
    _answers.clear()
    public_map.forget()


def openapi_paths() -> dict[str, Any]:
    """The map's JSON in the OpenAPI description (``ModuleConfig.openapi``), so that fuzzing
    reaches its refusals too."""
    text = {"type": "string", "maxLength": 100}
    return {
        "paths": {
            "/melden/kaart/meldingen.json": {
                "get": {
                    "operationId": "meldpunt_public_map",
                    "summary": "Open reports in a view, or clusters when there are more than "
                    f"{public_map.MAX_POINTS} (GeoJSON; no personal data, no free text).",
                    "tags": ["meldpunt"],
                    "security": [{}],
                    "parameters": [
                        {
                            "name": "bbox",
                            "in": "query",
                            "required": True,
                            "description": "west,south,east,north in WGS84 degrees.",
                            "schema": text,
                        },
                        {
                            "name": "zoom",
                            "in": "query",
                            "description": "The map's zoom level, 0-22 (cluster size).",
                            "schema": {"type": "string", "maxLength": 2},
                        },
                        {
                            "name": "municipality",
                            "in": "query",
                            "description": "A municipality's code, e.g. KOR.",
                            "schema": text,
                        },
                        {
                            "name": "category",
                            "in": "query",
                            "description": "A subject's code, e.g. pothole.",
                            "schema": text,
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "A GeoJSON FeatureCollection with `clustered`, "
                            "`count` and the `bbox` it covers.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "400": {
                            "description": "Refused: `error` says why, `parameter` names "
                            "the parameter.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                    },
                }
            }
        }
    }


def me_too(request: HttpRequest, form: Any) -> dict[str, Any]:
    """For the report form: the report the citizen joins from the map (``?same_as=``),
    shown above the form. An unbound form is pre-set to join it: the subject, and the place
    unless the map blurs it (then the citizen marks their own, and the report joins only
    when it is near). Returns the template context."""
    reference = form["same_as"].value() if form.is_bound else request.GET.get("same_as", "")
    if not reference:
        return {}
    joined = public_map.joinable(str(reference)[:40])
    if joined is None:
        return {} if form.is_bound else {"join_refused": True}
    if not form.is_bound:
        form.initial.update({"same_as": joined.reference, "category": joined.subject_code})
        if not joined.blurred:
            form.initial.update({"latitude": joined.latitude, "longitude": joined.longitude})
    return {"joining": joined}
