"""Asset-layer routing: who owns the problem, why, and never a silent default (issue 19 §1)."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from regiohub.core import geo
from regiohub.core.models import Department, HistoryEntry
from regiohub.core.testing import run_tasks
from regiohub.meldpunt import layers, routing
from regiohub.meldpunt.models import (
    AssetFeature,
    AssetLayer,
    ExternalBody,
    Handover,
    LayerKind,
    OwnerKind,
    RoutingRule,
    RoutingState,
)
from regiohub.meldpunt.services import change_category, decide_owner, reroute, set_place
from regiohub.meldpunt.tests.factories import KORTRIJK_CENTRE, MENEN_CENTRE, file_report
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db

X0, Y0 = geo.from_wgs84(*KORTRIJK_CENTRE)


def _line(fid: str, name: str, manager: str, dy: float, manager_name: str = "") -> dict:
    """A straight east-west line 400 m long, ``dy`` metres north of Kortrijk's centre point."""
    return {
        "type": "Feature",
        "properties": {"id": fid, "name": name, "manager": manager, "manager_name": manager_name},
        "geometry": {
            "type": "LineString",
            "coordinates": [[X0 - 200, Y0 + dy], [X0 + 200, Y0 + dy]],
        },
    }


def _collection(*features: dict) -> bytes:
    return json.dumps(
        {
            "type": "FeatureCollection",
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::31370"}},
            "features": list(features),
        }
    ).encode()


def _roads(*features: dict) -> AssetLayer:
    layer, _ = AssetLayer.objects.get_or_create(
        code="roads", defaults={"name": "Wegen", "kind": LayerKind.LINE}
    )
    layers.import_layer(
        layer,
        _collection(*features),
        file_format="geojson",
        source="test",
        licence="CC0",
    )
    layer.refresh_from_db()
    return layer


@pytest.fixture
def bodies(categories):
    made = {}
    for code, name, managers in [
        ("awv", "Agentschap Wegen en Verkeer - District Kortrijk", "AWV312"),
        ("fluvius", "Fluvius", ""),
        ("ivio", "IVIO", ""),
        ("mirom", "Mirom Menen", ""),
    ]:
        made[code] = ExternalBody.objects.create(
            code=code, name=name, email=f"{code}@example.org", manager_codes=managers
        )
    return made


@pytest.fixture
def kortrijk_rules(bodies, region):
    layer = _roads(
        _line("N43-1", "N43", "AWV312", 10, "AWV District Kortrijk"),
        _line("S-1", "Kerkstraat", "34022", -40, "Stad Kortrijk"),
    )
    kor = region["KOR"]
    RoutingRule.objects.create(
        organisation=kor, position=1, category_codes="pothole,traffic-sign", layer=layer
    )
    RoutingRule.objects.create(
        organisation=kor, position=1, category_codes="street-light", layer=layer,
        manager_codes="AWV*",
    )  # fmt: skip
    RoutingRule.objects.create(
        organisation=kor, position=2, category_codes="street-light",
        owner_kind=OwnerKind.EXTERNAL, external_body=bodies["fluvius"],
    )  # fmt: skip
    return layer


def _metres_north(metres: float) -> tuple[float, float]:
    return geo.to_wgs84(X0, Y0 + metres)


def test_a_point_10_m_from_a_regional_road_goes_to_awv_with_its_trace(kortrijk_rules):
    report = file_report(code="pothole")
    report.refresh_from_db()
    # Filing decides and keeps the route; the worker hands the report over after commit.
    assert report.status == Status.NEW
    assert report.routing_state == RoutingState.ROUTED
    run_tasks()
    report.refresh_from_db()
    assert report.status == Status.FORWARDED
    assert report.routing_state == RoutingState.ROUTED
    handover = Handover.objects.get(report=report)
    assert handover.to_external_body.code == "awv"
    decision = report.routing_decisions.get()
    assert decision.owner_kind == OwnerKind.EXTERNAL
    assert decision.feature_id == "N43-1"
    assert decision.feature_name == "N43"
    assert decision.layer_version == kortrijk_rules.current_version
    assert decision.distance_m == pytest.approx(10.0, abs=0.2)
    assert "pothole" in decision.rule_text
    # The body reads what is near and how near, in the region's language, not our rule.
    assert "N43" in handover.reason and "10 m" in handover.reason
    assert "pothole" not in handover.reason
    entry = HistoryEntry.objects.get(action="report.routed", object_id=str(report.pk))
    assert entry.after["feature"] == "N43-1"


def test_a_point_20_m_from_the_road_stays_with_the_municipality(kortrijk_rules):
    report = file_report(code="pothole", where=_metres_north(-10))  # 20 m from the N43
    report.refresh_from_db()
    assert report.status == Status.NEW
    assert report.routing_state == RoutingState.ROUTED
    assert report.department.name == "Openbare werken"
    decision = report.routing_decisions.get()
    assert decision.owner_kind == OwnerKind.MUNICIPALITY
    assert decision.feature_id == ""
    assert not Handover.objects.filter(report=report).exists()


def test_a_light_on_a_regional_road_goes_to_awv_on_a_municipal_road_to_fluvius(kortrijk_rules):
    regional = file_report(code="street-light", where=_metres_north(5))
    municipal = file_report(code="street-light", where=_metres_north(-35))
    run_tasks()
    assert regional.handovers.get().to_external_body.code == "awv"
    assert municipal.handovers.get().to_external_body.code == "fluvius"
    assert municipal.routing_decisions.get().feature_id == ""  # rule 2: no layer


def test_waste_goes_to_the_intermunicipal_company_of_the_municipality(bodies, region):
    for org, body in (("LEN", "ivio"), ("MEN", "mirom")):
        RoutingRule.objects.create(
            organisation=region[org], category_codes="waste-collection",
            owner_kind=OwnerKind.EXTERNAL, external_body=bodies[body],
        )  # fmt: skip
    lendelede = file_report(
        code="waste-collection", where=geo.representative_point(region["LEN"].pk)
    )
    menen = file_report(code="waste-collection", where=MENEN_CENTRE)
    run_tasks()
    assert lendelede.handovers.get().to_external_body.code == "ivio"
    assert menen.handovers.get().to_external_body.code == "mirom"
    assert "Menen" in menen.handovers.get().reason


@pytest.mark.parametrize("breakage", ["switched_off", "version_removed", "corrupt", "truncated"])
def test_a_broken_layer_sends_the_report_to_triage_with_the_reason(kortrijk_rules, breakage):
    layer = kortrijk_rules
    if breakage == "switched_off":
        AssetLayer.objects.filter(pk=layer.pk).update(is_active=False)
        expected = "switched off"
    elif breakage == "version_removed":
        AssetLayer.objects.filter(pk=layer.pk).update(current_version=None)
        expected = "no version"
    elif breakage == "corrupt":
        AssetFeature.objects.filter(feature_id="N43-1").update(geometry={"type": "Nonsense"})
        routing.invalidate()
        expected = "cannot be read"
    else:
        AssetFeature.objects.filter(feature_id="S-1").delete()
        routing.invalidate()
        expected = "(version 1) cannot be read"
    report = file_report(code="pothole")
    report.refresh_from_db()
    assert report.routing_state == RoutingState.UNCERTAIN
    assert report.status == Status.NEW  # with the municipality, never handed over by default
    assert not Handover.objects.filter(report=report).exists()
    decision = report.routing_decisions.get()
    with translation.override("en"):
        with_reason = routing.reason_text(decision.reason_code, decision.reason_params)
    assert expected in with_reason, with_reason
    assert "Wegen" in with_reason


def test_two_owners_at_the_same_distance_is_uncertain(bodies, region):
    layer = _roads(
        _line("N43-1", "N43", "AWV312", 10),
        _line("S-1", "Kerkstraat", "34022", -10.4),
    )
    RoutingRule.objects.create(organisation=region["KOR"], category_codes="pothole", layer=layer)
    report = file_report(code="pothole")
    decision = report.routing_decisions.get()
    assert report.routing_state == RoutingState.UNCERTAIN
    assert decision.reason_code == routing.Reason.TWO_OWNERS
    with translation.override("en"):
        assert "10.0" in routing.reason_text(decision.reason_code, decision.reason_params)


def test_same_owner_at_the_same_distance_is_certain(bodies, region):
    layer = _roads(_line("N43-1", "N43", "AWV312", 10), _line("N43-2", "N43", "AWV312", -10))
    RoutingRule.objects.create(organisation=region["KOR"], category_codes="pothole", layer=layer)
    report = file_report(code="pothole")
    assert report.routing_state == RoutingState.ROUTED
    run_tasks()
    assert report.handovers.get().to_external_body.code == "awv"


def test_a_manager_without_an_owner_is_uncertain_not_the_municipality(bodies, region):
    layer = _roads(_line("X-1", "N999", "AWV999", 5, "AWV District Elders"))
    RoutingRule.objects.create(organisation=region["KOR"], category_codes="pothole", layer=layer)
    report = file_report(code="pothole")
    decision = report.routing_decisions.get()
    assert report.routing_state == RoutingState.UNCERTAIN
    assert decision.reason_code == routing.Reason.UNKNOWN_MANAGER
    with translation.override("en"):
        assert "AWV999" in routing.reason_text(decision.reason_code, decision.reason_params)


def test_the_citizen_saying_somewhere_else_keeps_it_with_the_municipality(kortrijk_rules):
    report = file_report(code="pothole", routing_answer="elsewhere")
    report.refresh_from_db()
    assert report.status == Status.NEW
    decision = report.routing_decisions.get()
    assert decision.answer == "elsewhere"
    assert decision.owner_kind == OwnerKind.MUNICIPALITY


def test_an_unknown_place_waits_in_triage_until_the_place_is_marked(kortrijk_rules, region):
    report = file_report(
        code="pothole", where=(None, None), address="Grote Markt 1", municipality_code="KOR"
    )
    assert report.routing_state == RoutingState.UNCERTAIN
    assert report.routing_decisions.get().reason_code == routing.Reason.PLACE_UNKNOWN
    set_place(report, latitude=KORTRIJK_CENTRE[0], longitude=KORTRIJK_CENTRE[1], source="address")
    report.refresh_from_db()
    assert report.routing_state == RoutingState.ROUTED
    assert report.status == Status.FORWARDED
    assert report.handovers.get().to_external_body.code == "awv"


def test_staff_decide_the_owner_of_an_uncertain_report(kortrijk_rules, kortrijk_agent):
    AssetLayer.objects.filter(pk=kortrijk_rules.pk).update(is_active=False)
    report = file_report(code="pothole")
    mobility = Department.objects.get(organisation=report.organisation, name="Mobiliteit")
    with pytest.raises(ValidationError):
        decide_owner(report, actor=kortrijk_agent, department=mobility, note="")
    decide_owner(report, actor=kortrijk_agent, department=mobility, note="Bord, geen put")
    report.refresh_from_db()
    assert report.routing_state == RoutingState.CONFIRMED
    assert report.department == mobility
    assert report.routing_decisions.count() == 2
    # The layer is back: a re-route by staff follows the rules again, with history.
    AssetLayer.objects.filter(pk=kortrijk_rules.pk).update(is_active=True)
    reroute(report, actor=kortrijk_agent)
    report.refresh_from_db()
    assert report.status == Status.FORWARDED
    assert (
        HistoryEntry.objects.filter(action="report.routed", object_id=str(report.pk)).count() == 3
    )


def test_correcting_the_subject_reroutes_and_recomputes_the_sla(kortrijk_rules, kortrijk_agent):
    report = file_report(code="noise")
    due = report.resolution_due_at
    change_category(report, "street-light", actor=kortrijk_agent, reason="Lamp, geen lawaai")
    report.refresh_from_db()
    assert report.category.code == "street-light"
    assert report.resolution_due_at != due
    assert report.handovers.get().to_external_body.code == "awv"
    entry = HistoryEntry.objects.get(action="report.category_changed", object_id=str(report.pk))
    assert entry.reason == "Lamp, geen lawaai"
    with pytest.raises(ValidationError):
        change_category(report, "noise", actor=kortrijk_agent, reason="x")  # forwarded: closed


def test_a_new_layer_version_lists_the_reports_that_would_move(kortrijk_rules, kortrijk_agent):
    from regiohub.meldpunt.services.routing import moves

    stays = file_report(code="pothole", where=_metres_north(-20))  # 30 m: municipality
    assert stays.status == Status.NEW
    _roads(_line("N43-1", "N43", "AWV312", -15))  # the road was drawn 25 m off: now 5 m
    found = moves([stays])
    assert [m.report.pk for m in found] == [stays.pk]
    assert found[0].after.owner_kind == OwnerKind.EXTERNAL
    assert found[0].after_name.startswith("Agentschap")


def test_a_report_across_a_border_follows_the_citizens_choice_only_near_it(categories, region):
    # A point just inside Kortrijk, a few metres from Kuurne? Find one on the boundary.
    kor = geo._get_index()
    near = None
    for loc, geometry in zip(kor.locations, kor.geometries, strict=True):
        if loc.organisation_id == region["KOR"].pk:
            boundary = geometry.boundary
            for fraction in [i / 200 for i in range(200)]:
                p = boundary.interpolate(fraction, normalized=True)
                lat, lon = p.y, p.x
                found = geo.municipalities_near(lat, lon, 20)
                codes = {x.organisation_id for x, _ in found}
                if region["KUU"].pk in codes and region["KOR"].pk in codes:
                    near = (lat, lon)
                    break
    assert near is not None
    report = file_report(code="pothole", where=near, municipality_code="KUU")
    assert report.organisation.code == "KUU"
    far = file_report(code="pothole", where=KORTRIJK_CENTRE, municipality_code="KUU")
    assert far.organisation.code == "KOR"


def test_rules_are_checked_before_they_are_saved(bodies, region):
    rule = RoutingRule(organisation=region["KOR"], category_codes="pothole", owner_kind="manager")
    with pytest.raises(ValidationError) as error:
        rule.full_clean()
    assert "layer" in error.value.message_dict
    rule = RoutingRule(organisation=region["KOR"], category_codes="Pothole;drop table")
    with pytest.raises(ValidationError) as error:
        rule.full_clean()
    assert "category_codes" in error.value.message_dict
    other = Department.objects.filter(organisation=region["MEN"]).first()
    rule = RoutingRule(
        organisation=region["KOR"], category_codes="pothole", owner_kind="department",
        department=other,
    )  # fmt: skip
    with pytest.raises(ValidationError) as error:
        rule.full_clean()
    assert "department" in error.value.message_dict


def test_the_hand_over_after_filing_happens_once_and_not_after_a_change(
    kortrijk_rules, kortrijk_agent
):
    from regiohub.core.events import deliver
    from regiohub.meldpunt.services.routing import hand_over_routed

    handed = file_report(code="pothole")
    run_tasks()
    run_tasks()
    assert Handover.objects.filter(report=handed).count() == 1
    # A delivery that comes again (the worker died after the commit) changes nothing.
    event = routing_event(handed)
    assert hand_over_routed(event) == "left as forwarded"
    assert Handover.objects.filter(report=handed).count() == 1
    assert deliver  # the event travels as the deliver task of core.events

    # An agent re-routed the report before the worker came: the old decision is not used.
    taken = file_report(code="pothole")
    stale = routing_event(taken)
    AssetLayer.objects.filter(pk=kortrijk_rules.pk).update(is_active=False)
    reroute(taken, actor=kortrijk_agent)
    assert hand_over_routed(stale) == "routed again since"
    taken.refresh_from_db()
    assert taken.status == Status.NEW
    assert not taken.handovers.exists()


def routing_event(report):
    from regiohub.meldpunt.events import ReportRouted

    decision = report.routing_decisions.order_by("-at", "-id").first()
    return ReportRouted(
        report_id=report.pk,
        organisation_id=report.organisation_id,
        decision_id=decision.pk,
        state=decision.state,
        owner_kind=decision.owner_kind,
        external_body_id=decision.external_body_id,
        hand_over=True,
    )
