"""The reports map: districts drawn as an accessible SVG choropleth, frames of a timelapse
with the same classes throughout, the table beside each frame and the frames as JSON."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import date

import pytest
from django.utils import translation

from regiohub.core.models import District
from regiohub.dashboards import maps
from regiohub.meldpunt.queries import DistrictCount

SVG = "{http://www.w3.org/2000/svg}"
KORTRIJK_CENTRUM = "34022W08"
MENEN_NIS = "34027"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, under test


def districts(root: ET.Element) -> dict[str, ET.Element]:
    return {p.get("data-code"): p for p in root.iter(f"{SVG}path") if p.get("data-code")}


def legend(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def draw(counts, **kwargs) -> ET.Element:
    kwargs = {"label": "Reports per district", "legend_title": "Reports", "language": "en"} | (
        kwargs
    )
    with translation.override("en"):
        return parse(maps.render_map(counts, **kwargs))


def cell(period: date, key: str, count: int, municipality: str = "KOR", **kwargs) -> DistrictCount:
    return DistrictCount(period, key, kwargs.pop("label", key or "Place unknown"), municipality,
                         count, **kwargs)  # fmt: skip


# --- Shapes ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_shapes_hold_every_district_and_every_municipality_outline(region):
    maps.reset()
    found = maps.shapes()
    assert len(found.districts) == District.objects.filter(boundary__isnull=False).count() == 116
    assert set(found.municipalities) == {d.municipality for d in found.districts.values()}
    assert len(found.municipalities) == 13
    assert found.districts[KORTRIJK_CENTRUM].name == "Kortrijk Centrum (Kortrijk)"
    assert found.districts[KORTRIJK_CENTRUM].path.startswith("M")
    x0, y0, width, height = map(int, found.view_box.split())
    assert (x0, y0) == (0, 0) and 3000 < width < 4500 and 1800 < height < 2800  # decametres
    assert maps.shapes() is found  # kept per process


@pytest.mark.django_db
def test_shapes_follow_a_renamed_district(region):
    maps.shapes()
    district = District.objects.get(code=KORTRIJK_CENTRUM)
    district.name = "Binnenstad (Kortrijk)"
    district.save()
    assert maps.shapes().districts[KORTRIJK_CENTRUM].name == "Binnenstad (Kortrijk)"
    root = draw({KORTRIJK_CENTRUM: 2})
    assert districts(root)[KORTRIJK_CENTRUM].find(f"{SVG}title").text == "Binnenstad (Kortrijk): 2"


# --- The map --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_map_is_a_labelled_image_with_one_titled_path_per_district(region):
    root = draw({KORTRIJK_CENTRUM: 10, "34022W01": 3})
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Reports per district"
    assert root.find(f"{SVG}title").text == "Reports per district"
    drawn = districts(root)
    assert len(drawn) == 116
    assert drawn[KORTRIJK_CENTRUM].find(f"{SVG}title").text == "Kortrijk Centrum (Kortrijk): 10"
    # Classes 1-2, 3-4, ..., 9-10.
    assert drawn[KORTRIJK_CENTRUM].get("class") == "c5"
    assert drawn["34022W01"].get("class") == "c2"
    quiet = next(p for code, p in drawn.items() if code not in (KORTRIJK_CENTRUM, "34022W01"))
    assert quiet.get("class") == "none" and quiet.find(f"{SVG}title").text.endswith("no reports")
    # Each class its own fill, none of them white (no reports) or the hatch.
    fills = {p.get("class"): p.get("fill") for p in drawn.values()}
    assert fills["none"] == maps.NO_REPORTS_FILL not in maps.CLASS_FILLS
    assert len(set(maps.CLASS_FILLS)) == 5
    assert len(root.findall(f".//{SVG}g[@class='municipalities']/{SVG}path")) == 13


@pytest.mark.django_db
def test_a_suppressed_district_is_hatched_and_says_so(region):
    root = draw({KORTRIJK_CENTRUM: None, "34022W01": 7})
    shown = districts(root)[KORTRIJK_CENTRUM]
    assert shown.get("class") == "suppressed"
    assert shown.get("fill") == "url(#district-map-hatch)"
    assert shown.find(f"{SVG}title").text == "Kortrijk Centrum (Kortrijk): too few reports to show"
    assert "7" not in shown.find(f"{SVG}title").text
    ids = {p.get("id") for p in root.iter(f"{SVG}pattern")}
    assert ids == {"district-map-hatch", "district-map-hatch-key"}
    assert "Too few reports to show" in legend(root)
    # Without a suppressed count, the legend names it only when asked to.
    assert "Too few reports to show" not in legend(draw({"34022W01": 7}))
    assert "Too few reports to show" in legend(draw({"34022W01": 7}, show_suppressed=True))
    # Two maps on one page keep their ids apart.
    other = draw({KORTRIJK_CENTRUM: None}, prefix="map-2")
    assert districts(other)[KORTRIJK_CENTRUM].get("fill") == "url(#map-2-hatch)"


@pytest.mark.django_db
def test_the_legend_writes_numbers_the_belgian_way(region):
    bins = (250, 500, 750, 1000, 1250)
    with translation.override("nl"):
        dutch = legend(parse(maps.render_map({KORTRIJK_CENTRUM: 1200}, label="Kaart",
                                             legend_title="Meldingen", language="nl",
                                             bins=bins)))  # fmt: skip
    assert any("1.001" in text and "1.250" in text for text in dutch)
    english = legend(draw({KORTRIJK_CENTRUM: 1200}, bins=bins))
    assert "1,001 to 1,250" in english
    assert english[:3] == ["Reports", "No reports", "1 to 250"]


@pytest.mark.django_db
def test_the_map_of_one_municipality_draws_and_zooms_to_its_districts(region):
    whole = draw({KORTRIJK_CENTRUM: 4})
    menen = draw({KORTRIJK_CENTRUM: 4, f"{MENEN_NIS}W01": 2}, organisation_codes={"MEN"})
    codes = set(districts(menen))
    assert codes and all(code.startswith(MENEN_NIS) for code in codes)
    assert codes == {c for c in maps.shapes().districts if c.startswith(MENEN_NIS)}
    outlines = menen.findall(f".//{SVG}g[@class='municipalities']/{SVG}path")
    assert [p.get("data-municipality") for p in outlines] == ["MEN"]

    def scale(root: ET.Element) -> float:
        group = next(g for g in root.iter(f"{SVG}g") if g.get("transform"))
        return float(group.get("transform").split("(")[1].split()[0])

    assert scale(menen) > 2 * scale(whole)  # zoomed in on Menen
    with pytest.raises(ValueError, match="no districts for municipality XYZ"):
        draw({}, organisation_codes={"MEN", "XYZ"})
    with pytest.raises(ValueError, match="none given"):
        draw({}, organisation_codes=set())


@pytest.mark.django_db
def test_unknown_codes_are_left_out_and_no_counts_draw_a_map_without_reports(region):
    root = draw({"": 40, "99999W01": 7, "not a code": 3})
    drawn = districts(root)
    assert len(drawn) == 116 and set(drawn) <= set(maps.shapes().districts)
    assert {p.get("class") for p in drawn.values()} == {"none"}
    empty = draw({})
    assert {p.get("class") for p in districts(empty).values()} == {"none"}
    assert legend(empty) == ["Reports", "No reports"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("counts", "kwargs", "message"),
    [
        ({KORTRIJK_CENTRUM: -1}, {}, "34022W08"),
        ({KORTRIJK_CENTRUM: 2.5}, {}, "whole number"),
        ({KORTRIJK_CENTRUM: "3"}, {}, "whole number"),
        ([(KORTRIJK_CENTRUM, 3)], {}, "mapping"),
        ({}, {"bins": (5, 3)}, "must rise"),
        ({}, {"bins": (0, 3)}, "at least 1"),
        ({}, {"bins": (1, 2, 3, 4, 5, 6)}, "1 to 5"),
        ({}, {"bins": ()}, "1 to 5"),
        ({}, {"language": "de"}, "unknown language"),
        ({}, {"label": " "}, "label"),
        ({}, {"prefix": 'x" onload="'}, "id prefix"),
    ],
)
def test_bad_input_is_refused_with_a_specific_error(region, counts, kwargs, message):
    with pytest.raises(ValueError, match=message):
        draw(counts, **kwargs)


@pytest.mark.django_db
def test_names_are_escaped(region):
    District.objects.filter(code=KORTRIJK_CENTRUM).update(name='A & B <"C">')
    maps.reset()
    root = draw({KORTRIJK_CENTRUM: 1}, label="Reports <&> map")
    assert root.get("aria-label") == "Reports <&> map"
    assert districts(root)[KORTRIJK_CENTRUM].find(f"{SVG}title").text == 'A & B <"C">: 1'


# --- Classes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("maximum", "bins"),
    [
        (0, ()),
        (1, (1,)),
        (3, (1, 2, 3)),
        (5, (1, 2, 3, 4, 5)),
        (7, (2, 4, 6, 8)),
        (37, (8, 16, 24, 32, 40)),
        (50, (10, 20, 30, 40, 50)),
        (1234, (250, 500, 750, 1000, 1250)),
        (60_000, (15_000, 30_000, 45_000, 60_000)),
    ],
)
def test_classes_are_round_and_hold_the_highest_count(maximum, bins):
    assert maps.bins_for(maximum) == bins
    if maximum:
        assert bins[-1] >= maximum > (bins[-2] if len(bins) > 1 else 0)


@pytest.mark.parametrize("maximum", [-1, 2.5, None, True])
def test_classes_need_a_whole_highest_count(maximum):
    with pytest.raises(ValueError, match="whole number"):
        maps.bins_for(maximum)


# --- A timelapse ----------------------------------------------------------------------------

W1, W2, W3, W4 = date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16), date(2026, 3, 23)


def test_frames_share_classes_from_the_busiest_frame_and_fill_empty_weeks():
    rows = [
        cell(W1, "34022W08", 4),
        cell(W1, "34022W01", 1),
        cell(W3, "34022W08", 40),
        cell(W3, "", 90),  # not drawn: does not set the classes
    ]
    lapse = maps.timelapse(rows, period="week", start=W1, end=date(2026, 3, 25))
    assert lapse.periods == [W1, W2, W3, W4]
    assert lapse.bins == (8, 16, 24, 32, 40)
    assert lapse.frame(W1) == {"": 0, "34022W01": 1, "34022W08": 4}
    assert lapse.frame(W2) == {"": 0, "34022W01": 0, "34022W08": 0}
    assert lapse.frame(W3) == {"": 90, "34022W01": 0, "34022W08": 40}
    assert lapse.previous(W1) is None and lapse.previous(W3) == W2
    # Without a period: only the periods with rows.
    assert maps.timelapse(rows).periods == [W1, W3]


@pytest.mark.django_db
def test_a_frame_drawn_with_the_timelapse_classes_keeps_its_colours(region):
    lapse = maps.timelapse([cell(W1, KORTRIJK_CENTRUM, 4), cell(W2, KORTRIJK_CENTRUM, 40)])
    quiet = districts(draw(lapse.frame(W1), bins=lapse.bins))[KORTRIJK_CENTRUM]
    busy = districts(draw(lapse.frame(W2), bins=lapse.bins))[KORTRIJK_CENTRUM]
    alone = districts(draw(lapse.frame(W1)))[KORTRIJK_CENTRUM]
    assert (quiet.get("class"), busy.get("class"), alone.get("class")) == ("c1", "c5", "c4")


def test_the_table_gives_counts_and_changes_but_nothing_suppressed():
    rows = [
        cell(W1, "34022W08", 5, label="Centrum"),
        cell(W2, "34022W08", 8, label="Centrum"),
        cell(W1, "34022W01", 6, label="Aalbeke"),
        cell(W2, "34022W01", 0, label="Aalbeke", suppressed=True),
        cell(W2, "34027W01", 3, municipality="MEN", label="Menen"),
        cell(W2, "", 2, label="Place unknown"),
    ]
    lapse = maps.timelapse(rows, period="week")
    second = lapse.table(W2, lapse.previous(W2))
    assert [(r.district, r.municipality, r.count, r.change) for r in second] == [
        ("Aalbeke", "KOR", None, None),
        ("Centrum", "KOR", 8, 3),
        ("Menen", "MEN", 3, 3),
        ("Place unknown", "KOR", 2, 2),
    ]
    first = lapse.table(W1, None)
    assert [(r.code, r.count, r.change) for r in first] == [
        ("34022W01", 6, None),
        ("34022W08", 5, None),
        ("34027W01", 0, None),
        ("", 0, None),
    ]
    assert lapse.frame(W2)["34022W01"] is None
    with pytest.raises(ValueError, match="no frame for 2026-03-04"):
        lapse.table(date(2026, 3, 4), W1)


def test_a_district_with_any_suppressed_cell_is_suppressed_as_a_whole():
    rows = [
        cell(W1, "34027W02", 12, municipality="MEN"),
        cell(W1, "34027W02", 0, municipality="WEV", suppressed=True),  # near the border
    ]
    lapse = maps.timelapse(rows)
    assert lapse.frame(W1) == {"34027W02": None}
    assert lapse.has_suppressed
    assert lapse.bins == ()


@pytest.mark.parametrize(
    ("rows", "kwargs", "message"),
    [
        ([cell(date(2026, 3, 3), "34022W08", 1)], {"period": "week"}, "does not start a week"),
        ([cell(W2, "34022W08", 1)], {"period": "month"}, "does not start a month"),
        ([cell(W1, "34022W08", 1), cell(W1, "34022W08", 2)], {}, "comes twice"),
        ([cell(W1, "34022W08", 1)], {"period": "week", "start": W2}, "outside"),
        ([], {"period": "week", "start": W2, "end": W1}, "ends before it starts"),
        ([cell(W1, "34022W08", 1)], {"period": "day"}, "per week or per month"),
    ],
)
def test_a_timelapse_refuses_rows_that_do_not_fit(rows, kwargs, message):
    with pytest.raises(ValueError, match=message):
        maps.timelapse(rows, **kwargs)


def test_months_run_over_the_new_year():
    rows = [cell(date(2026, 11, 1), "34022W08", 2), cell(date(2027, 2, 1), "34022W08", 1)]
    lapse = maps.timelapse(rows, period="month")
    assert lapse.periods == [date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1),
                             date(2027, 2, 1)]  # fmt: skip


def test_frames_as_json_for_the_pages_script():
    rows = [
        cell(W1, "34022W08", 5),
        cell(W2, "34022W08", 0, suppressed=True),
        cell(W2, "34022W01", 9),
    ]
    text = maps.frames_json(maps.timelapse(rows, period="week"))
    data = json.loads(text)
    assert data["periods"] == ["2026-03-02", "2026-03-09"]
    assert data["codes"] == ["34022W01", "34022W08"]
    assert data["frames"] == [[0, 5], [9, None]]
    assert data["bins"] == [2, 4, 6, 8, 10]
    assert data["fills"] == list(maps.CLASS_FILLS)
    # Safe to embed in a script element, whatever a label holds.
    tricky = maps.timelapse([cell(W1, "</script><b>", 1)])
    embedded = maps.frames_json(tricky)
    assert "<" not in embedded and json.loads(embedded)["codes"] == ["</script><b>"]
