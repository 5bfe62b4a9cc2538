"""Saving a dashboard's definition through the write door: a broken one is refused with
every problem named (chart and key) and the dashboard saved before stays byte for byte;
the same text twice changes nothing; ``regiohub dashboards load`` saves the good files of
a folder and names the broken ones; ``export`` writes a file that loads back unchanged
(issue 20, ADR 0042). Definitions over datasets: tests/test_dashboard_definitions_saved.py."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from django_tasks_db.models import DBTaskResult

from regiohub.core.history import history_of
from regiohub.dashboards import definitions, services
from regiohub.dashboards.definitions import DefinitionError
from regiohub.dashboards.models import Dashboard

pytestmark = pytest.mark.django_db

GOOD = """
slug: meldingen
title: {nl: Meldingen, fr: Signalements, en: Reports}
description: {nl: Per kanaal, fr: Par canal, en: Per channel}
audience: internal
organisations: [ZWVL]
charts:
  - slug: per-kanaal
    title: {nl: Per kanaal, fr: Par canal, en: Per channel}
    caption: {nl: Hoe ze binnenkwamen, fr: Comment ils sont arrivés, en: How they came in}
    query: {meldpunt: report_counts, params: {by: channel}}
    columns: [label, count]
    spec:
      mark: bar
      encoding:
        y: {field: label, type: nominal}
        x: {field: count, type: quantitative}
"""

BROKEN = {
    "invalid YAML": (
        GOOD.replace("columns: [label, count]", "columns: [label, count"),
        ["This is not valid YAML (line"],
    ),
    "a spec that fetches": (
        GOOD.replace(
            "      mark: bar", "      data: {url: 'https://evil.example/x.csv'}\n      mark: bar"
        ),
        ["chart 1 (“per-kanaal”), spec", "https://evil.example/x.csv"],
    ),
    "a missing French title": (
        GOOD.replace(
            "title: {nl: Per kanaal, fr: Par canal, en: Per channel}",
            "title: {nl: Per kanaal, en: Per channel}",
        ),
        ["chart 1 (“per-kanaal”), title", "the text in “fr” is missing"],
    ),
    "an unknown column": (
        GOOD.replace("columns: [label, count]", "columns: [label, aantal]"),
        ["chart 1 (“per-kanaal”), columns: report_counts returns key, label, count, open"],
    ),
    "a public dashboard over report_counts": (
        GOOD.replace("audience: internal\norganisations: [ZWVL]", "audience: public"),
        ["chart 1 (“per-kanaal”), query", "district_counts"],
    ),
    "an unknown organisation": (
        GOOD.replace("[ZWVL]", "[XYZ]"),
        ["organisations", "“XYZ”"],
    ),
    "a spec that does not render": (
        GOOD.replace("mark: bar", "mark: sparkles"),
        ["chart 1 (“per-kanaal”), spec"],
    ),
}


@pytest.fixture(autouse=True)
def _english() -> Any:
    with translation.override("en"):
        yield


def deliveries() -> int:
    return DBTaskResult.objects.filter(task_path__endswith="events.deliver").count()


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_definition_is_refused_and_the_working_one_stays(region, case):
    saved = services.save_definition(GOOD).dashboard
    before = Dashboard.objects.get(pk=saved.pk)
    entries, events = history_of(saved).count(), deliveries()
    text, expected = BROKEN[case]
    with pytest.raises(DefinitionError) as refused:
        services.save_definition(text)
    message = "\n".join(refused.value.problems)
    for part in expected:
        assert part in message, (case, message)
    after = Dashboard.objects.get(pk=saved.pk)
    assert after.definition == before.definition
    assert after.revision == before.revision == 1
    assert (after.audience, after.title, after.updated_at) == (
        before.audience,
        before.title,
        before.updated_at,
    )
    assert list(after.organisations.values_list("code", flat=True)) == ["ZWVL"]
    assert (history_of(saved).count(), deliveries()) == (entries, events)


def test_every_problem_is_named_at_once(region):
    text = GOOD.replace("fr: Par canal, ", "")
    text = text.replace("columns: [label, count]", "columns: [label, aantal]")
    with pytest.raises(DefinitionError) as refused:
        services.save_definition(text)
    problems = refused.value.problems
    assert any("title" in p and "“fr”" in p for p in problems), problems
    assert any("columns: report_counts returns" in p for p in problems), problems
    assert "description: the text in “fr” is missing" in problems


def test_saving_the_same_text_twice_changes_nothing(region):
    first = services.save_definition(GOOD)
    assert first.changed
    entries, events = history_of(first.dashboard).count(), deliveries()
    assert entries == 1 and events >= 1
    stored = Dashboard.objects.get(pk=first.dashboard.pk)
    again = services.save_definition(GOOD)
    assert not again.changed
    # Written another way (the reader's own writing) is the same text too.
    rewritten = services.save_definition(definitions.to_yaml(definitions.parse(GOOD)))
    assert not rewritten.changed
    now = Dashboard.objects.get(pk=first.dashboard.pk)
    assert (now.revision, now.definition, now.updated_at) == (
        stored.revision,
        stored.definition,
        stored.updated_at,
    )
    assert (history_of(now).count(), deliveries()) == (entries, events)


def test_a_change_is_a_new_revision_with_its_history(region):
    first = services.save_definition(GOOD).dashboard
    changed = services.save_definition(GOOD.replace("Hoe ze binnenkwamen", "Langs welke weg"))
    assert changed.changed and changed.dashboard.pk == first.pk
    assert changed.dashboard.revision == 2
    actions = list(history_of(first).order_by("pk").values_list("action", flat=True))
    assert actions == ["dashboard.created", "dashboard.changed"]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_loading_a_folder_saves_the_good_file_and_names_the_broken_one(region, tmp_path):
    write(tmp_path, "meldingen.yaml", GOOD)
    broken = write(
        tmp_path,
        "kapot.yaml",
        GOOD.replace("slug: meldingen", "slug: kapot").replace("mark: bar", "mark: sparkles"),
    )
    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("dashboards", "load", str(tmp_path), stdout=out)
    assert "1 file(s) refused" in str(failed.value)
    said = out.getvalue()
    assert f"{broken}: refused" in said
    assert "chart 1 (“per-kanaal”), spec" in said
    assert f"{tmp_path / 'meldingen.yaml'}: meldingen saved" in said
    assert list(Dashboard.objects.values_list("slug", flat=True)) == ["meldingen"]


def test_a_file_must_carry_its_own_slug(region, tmp_path):
    write(tmp_path, "andere.yaml", GOOD)
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("dashboards", "load", str(tmp_path), stdout=out)
    assert "slug: the file is called “andere” but its slug is “meldingen”" in out.getvalue()
    assert not Dashboard.objects.exists()


def test_loading_a_folder_that_is_not_there_says_so(region, tmp_path):
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("dashboards", "load", str(tmp_path / "nergens"), stdout=io.StringIO())
    with pytest.raises(CommandError, match="No dashboard 'nergens'"):
        call_command("dashboards", "export", "nergens", stdout=io.StringIO())


def test_an_export_loads_back_unchanged(region, tmp_path):
    saved = services.save_definition(GOOD).dashboard
    target = tmp_path / "meldingen.yaml"
    call_command("dashboards", "export", "meldingen", str(target))
    printed = io.StringIO()
    call_command("dashboards", "export", "meldingen", stdout=printed)
    assert printed.getvalue() == target.read_text(encoding="utf-8") == saved.definition
    assert definitions.parse(target.read_bytes(), name="meldingen.yaml") == definitions.parse(GOOD)
    out = io.StringIO()
    call_command("dashboards", "load", str(tmp_path), stdout=out)
    assert "meldingen unchanged" in out.getvalue()
    now = Dashboard.objects.get(slug="meldingen")
    assert (now.revision, now.definition) == (1, saved.definition)
    assert history_of(now).count() == 1
