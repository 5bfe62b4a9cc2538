"""The dashboards' write door: save a definition (from a file or the admin), delete one,
load a folder of ``<slug>.yaml`` files.

Every save goes through the one reader (:func:`.definitions.parse`) and then asks the
other modules what only they know: does the dataset exist and answer the chart's question
with the columns it names, is it open enough for the audience, does every specification
render. A definition with any problem is refused as a whole with every problem named; the
dashboard saved before stays as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils.translation import gettext as _

from regiohub.core import events, history
from regiohub.core.models import Organisation
from regiohub.dashboards import definitions
from regiohub.dashboards.charts import ChartError, render_svg, spec_fields
from regiohub.dashboards.definitions import BENCHMARK_COLUMNS, DefinitionError
from regiohub.dashboards.events import Action, DashboardSaved
from regiohub.dashboards.models import Dashboard, Origin
from regiohub.datasets import queries as datasets

#: The contact point's questions a public dashboard may ask: counts per district with
#: small ones hidden. Every other question counts reports only its viewer may handle.
PUBLIC_QUESTIONS = frozenset({"district_counts"})


def check(dashboard: definitions.Dashboard, *, actor: Any = None) -> list[str]:
    """What only the other modules can tell about a well-formed definition; each problem
    names its chart. ``actor`` is who saves (``None``: the platform loading a file)."""
    problems: list[str] = []
    known = set(
        Organisation.objects.filter(code__in=dashboard.organisations).values_list("code", flat=True)
    )
    for code in dashboard.organisations:
        if code not in known:
            problems.append(
                "organisations: " + _("unknown organisation “%(code)s”") % {"code": code[:20]}
            )
    public = dashboard.audience == "public"
    for index, chart in enumerate(dashboard.charts, start=1):
        where = definitions._where(index, chart.slug)
        if chart.query.meldpunt:
            if public and chart.query.meldpunt not in PUBLIC_QUESTIONS:
                problems.append(
                    f"{where}, query: "
                    + _(
                        "a public dashboard shows the contact point only as counts per "
                        "district (district_counts)"
                    )
                )
        else:
            problems.extend(_check_dataset(chart, where, public=public, actor=actor))
        if chart.kind == "chart":
            try:
                render_svg(chart.spec, language="nl", label=chart.title.nl, rows=[])
            except ChartError as error:
                problems.append(f"{where}, spec: {error}")
    return problems


def _check_dataset(chart: Any, where: str, *, public: bool, actor: Any) -> list[str]:
    if chart.query.join:
        return _check_join(chart, where, public=public, actor=actor)
    returned, problems = _answers(chart.query, where, public=public, actor=actor)
    if returned is None:
        return problems
    missing = [c for c in chart.columns if c not in returned]
    if missing:
        problems.append(
            f"{where}, columns: "
            + _("the question answers %(returned)s, not %(missing)s")
            % {"returned": ", ".join(returned), "missing": ", ".join(missing)}
        )
    problems += _check_filter_columns(chart.query.dataset, chart.filter_columns, where,
                                      public=public, actor=actor)  # fmt: skip
    if chart.kind == "benchmark" and chart.spec:
        unknown = spec_fields(chart.spec) - set(BENCHMARK_COLUMNS)
        if unknown:
            problems.append(f"{where}, spec: " + ", ".join(sorted(unknown)))
    return problems


def _check_join(chart: Any, where: str, *, public: bool, actor: Any) -> list[str]:
    problems: list[str] = []
    answered: set[str] = set()
    for number, part in enumerate(chart.query.join, start=1):
        here = f"{where}, join {number}"
        returned, found = _answers(part, here, public=public, actor=actor)
        problems += found
        if returned is None:
            continue
        renamed = [part.rename.get(c, c) for c in returned]
        missing_on = [c for c in chart.query.on if c not in renamed]
        if missing_on:
            problems.append(
                f"{here}: "
                + _("its answer (%(returned)s) has no column %(missing)s to match rows on")
                % {"returned": ", ".join(renamed), "missing": ", ".join(missing_on)}
            )
        answered.update(renamed)
        problems += _check_filter_columns(part.dataset, part.filter_columns, here,
                                          public=public, actor=actor)  # fmt: skip
    missing = [c for c in chart.columns if c not in answered]
    if missing and not problems:
        problems.append(
            f"{where}, columns: "
            + _("the joined questions answer %(returned)s, not %(missing)s")
            % {"returned": ", ".join(sorted(answered)), "missing": ", ".join(missing)}
        )
    return problems


def _answers(
    query: Any, where: str, *, public: bool, actor: Any
) -> tuple[list[str] | None, list[str]]:
    slug = query.dataset
    params = dict(query.params)
    try:
        if public:
            returned = datasets.question_columns(AnonymousUser(), slug, params)
        else:
            returned = datasets.question_columns(actor, slug, params, unscoped=actor is None)
    except datasets.QueryError as error:
        return None, [f"{where}, query: {error}"]
    if returned is None:
        if public:
            message = _(
                "no open dataset “%(slug)s” with rows: a public dashboard shows only open data"
            )
        else:
            message = _("no dataset “%(slug)s” with rows that you may read")
        return None, [f"{where}, query: " + message % {"slug": slug}]
    return returned, []


def _check_filter_columns(
    slug: str, filter_columns: dict[str, str], where: str, *, public: bool, actor: Any
) -> list[str]:
    problems = []
    for key, column in filter_columns.items():
        if column not in _dataset_columns(actor, slug, public):
            problems.append(
                f"{where}, filter_columns: "
                + _("the dataset has no column “%(column)s” for the %(filter)s filter")
                % {"column": column, "filter": key}
            )
    return problems


def _dataset_columns(actor: Any, slug: str, public: bool) -> set[str]:
    reader = AnonymousUser() if public else actor
    columns = datasets.question_columns(reader, slug, {"limit": "1"}, unscoped=reader is None)
    return set(columns or ())


@dataclass(frozen=True)
class Saved:
    dashboard: Dashboard
    #: False when the definition was the same as the one saved (nothing happened).
    changed: bool


def save_definition(
    text: str | bytes, *, actor: Any = None, origin: str = Origin.ADMIN, name: str = ""
) -> Saved:
    """Save the dashboard ``text`` defines (created or replaced by slug). Raises
    :class:`DefinitionError` listing every problem; then nothing changes. Saving the same
    text again changes nothing (loading a folder twice is harmless)."""
    parsed = definitions.parse(text, name=name)
    problems = check(parsed, actor=actor)
    if problems:
        raise DefinitionError(problems)
    # What is stored is the reader's own writing: the admin and files show one form.
    canonical = definitions.to_yaml(parsed)
    with transaction.atomic():
        dashboard = Dashboard.objects.select_for_update().filter(slug=parsed.slug).first()
        created = dashboard is None
        if dashboard is not None and dashboard.definition == canonical:
            return Saved(dashboard, changed=False)
        before = _state(dashboard) if dashboard else None
        if dashboard is None:
            dashboard = Dashboard(slug=parsed.slug, revision=1)
        else:
            dashboard.revision += 1
        dashboard.definition = canonical
        dashboard.title = parsed.title.as_dict()
        dashboard.audience = parsed.audience
        dashboard.datasets = parsed.datasets()
        dashboard.origin = origin
        dashboard.updated_by = actor if getattr(actor, "is_authenticated", False) else None
        dashboard.save()
        dashboard.organisations.set(Organisation.objects.filter(code__in=parsed.organisations))
        history.record(
            dashboard,
            Action.DASHBOARD_CREATED if created else Action.DASHBOARD_CHANGED,
            actor=actor,
            before=before,
            after=_state(dashboard),
        )
        events.publish(
            DashboardSaved(
                dashboard_id=dashboard.pk,
                slug=dashboard.slug,
                audience=dashboard.audience,
                revision=dashboard.revision,
            )
        )
    return Saved(dashboard, changed=True)


def _state(dashboard: Dashboard) -> dict[str, Any]:
    return {
        "audience": dashboard.audience,
        "revision": dashboard.revision,
        "origin": dashboard.origin,
        "definition": dashboard.definition,
    }


def delete_dashboard(dashboard: Dashboard, *, actor: Any = None) -> None:
    with transaction.atomic():
        history.record(dashboard, Action.DASHBOARD_DELETED, actor=actor, before=_state(dashboard))
        dashboard.delete()


@dataclass(frozen=True)
class FileResult:
    path: str
    slug: str = ""
    changed: bool = False
    problems: tuple[str, ...] = ()


def load_folder(folder: Path, *, actor: Any = None) -> list[FileResult]:
    """Save every ``*.yaml`` in ``folder``: one refused file is reported and leaves its
    dashboard as it was, the others are still saved."""
    results = []
    for path in sorted(folder.glob("*.y*ml")):
        try:
            saved = save_definition(
                path.read_bytes(), actor=actor, origin=Origin.FILE, name=path.name
            )
        except DefinitionError as error:
            results.append(FileResult(str(path), problems=tuple(error.problems)))
        else:
            results.append(FileResult(str(path), saved.dashboard.slug, saved.changed))
    return results


def shipped_folder() -> Path:
    """The dashboards the platform ships (the demo region's)."""
    return Path(__file__).parent / "shipped"


__all__ = [
    "FileResult",
    "Saved",
    "check",
    "delete_dashboard",
    "load_folder",
    "save_definition",
    "shipped_folder",
]
