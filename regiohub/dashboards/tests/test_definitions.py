"""Dashboard definitions: what the data team writes is read the same from a file and from
the admin, and every mistake is named with its chart and key."""

from __future__ import annotations

import pytest
from django.utils import translation

from regiohub.dashboards.definitions import MAX_BYTES, DefinitionError, parse, to_yaml

GOOD = """
slug: mobiliteit
title: {nl: Mobiliteit, fr: Mobilité, en: Mobility}
description:
  nl: Wat de Telraam-tellers zien.
  fr: Ce que voient les compteurs Telraam.
  en: What the Telraam counters see.
audience: public
charts:
  - slug: per-uur
    title: {nl: Verkeer per uur, fr: Trafic par heure, en: Traffic per hour}
    caption: {nl: Som per uur van de dag, fr: Somme par heure, en: Sum per hour of the day}
    query:
      dataset: telraam-9000008311
      params: {group_by: hour, agg: "sum:bike"}
    columns: [hour, bike]
    spec:
      mark: bar
      encoding:
        x: {field: hour, type: ordinal}
        y: {field: bike, type: quantitative}
  - slug: meldingen
    title: {nl: Meldingen, fr: Signalements, en: Reports}
    caption: {nl: Per maand, fr: Par mois, en: Per month}
    query:
      meldpunt: report_counts
      params: {by: month}
    columns: [key, count]
    spec:
      mark: line
      encoding: {x: {field: key, type: temporal}, y: {field: count, type: quantitative}}
"""


def problems_of(text, **kwargs) -> str:
    with translation.override("en"), pytest.raises(DefinitionError) as refused:
        parse(text, **kwargs)
    return "\n".join(refused.value.problems)


def test_a_good_definition_and_back_to_a_file_unchanged():
    dashboard = parse(GOOD, name="dashboards/mobiliteit.yaml")
    assert dashboard.slug == "mobiliteit" and dashboard.audience == "public"
    assert [c.slug for c in dashboard.charts] == ["per-uur", "meldingen"]
    assert dashboard.charts[0].query.dataset == "telraam-9000008311"
    assert dashboard.charts[1].query.meldpunt == "report_counts"
    assert dashboard.title.get("fr") == "Mobilité"
    assert parse(to_yaml(dashboard)) == dashboard


def test_invalid_yaml_says_where():
    found = problems_of("slug: a\ntitle: {nl: x\n")
    assert "not valid YAML" in found and "line 3" in found


def test_anchors_and_aliases_are_refused():
    bomb = "a: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n"
    assert "aliases" in problems_of(bomb)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("fr: Trafic par heure, ", ""), "chart 1 (“per-uur”), title: the text in “fr” is missing"),
        (("columns: [hour, bike]", "columns: [hour]"), "fields the query does not return: bike"),
        (
            ("mark: bar", "mark: bar\n      data: {url: 'https://x.example/d.json'}"),
            "no data in the specification",
        ),
        (("type: ordinal}", "type: ordinal, url: 'https://x.example/'}"), "may not load anything"),
        (("slug: meldingen", "slug: per-uur"), "another chart has this slug"),
        (("audience: public", "audience: internal"), "an internal dashboard names who may see it"),
        (("audience: public", "audience: everybody"), "say “public” or “internal”"),
        (("meldpunt: report_counts", "meldpunt: drop_tables"), "the contact point answers"),
        (("group_by: hour,", "group_by: hour, 'drop table': 1,"), "unknown parameter “drop table”"),
        (("group_by: hour,", "group_by: hour, after: x,"), "“after” is the dashboard's to set"),
        (
            ("      meldpunt: report_counts", "      meldpunt: report_counts\n      dataset: x"),
            "either a dataset or a question",
        ),
        (("slug: mobiliteit", "slug: Mobiliteit!"), "lower-case letters"),
        (
            ("columns: [key, count]", "columns: [key, total]"),
            "report_counts returns key, label, count, open",
        ),
        (("audience: public", "audience: public\ncolour: red"), "unknown key “colour”"),
    ],
)
def test_each_mistake_is_named(change, expected):
    old, new = change
    assert old in GOOD
    assert expected in problems_of(GOOD.replace(old, new, 1))


def test_every_problem_at_once():
    broken = GOOD.replace("fr: Mobilité, ", "").replace("columns: [key, count]", "columns: []")
    found = problems_of(broken)
    assert "title: the text in “fr” is missing" in found
    assert "chart 2 (“meldingen”), columns" in found


def test_the_file_name_is_the_slug():
    assert "is called “verkeer”" in problems_of(GOOD, name="verkeer.yaml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"slug: x\n" + b"#" * MAX_BYTES, "at most 256 KB"),
        (b"slug: \xff\xfe", "not UTF-8"),
        ("slug: a\x00b", "NUL"),
        ("- just\n- a list", "mapping of keys"),
        ("", "mapping of keys"),
    ],
)
def test_hostile_or_odd_input(text, expected):
    assert expected in problems_of(text)
