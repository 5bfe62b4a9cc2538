"""The form's question before sending, without JavaScript, and the trace on the report page."""

from __future__ import annotations

import re

import pytest
from django.utils import translation
from django.utils.translation import gettext as _t

from regiohub.core.testing import run_tasks, staff_client
from regiohub.meldpunt.models import Report, RoutingState
from regiohub.meldpunt.tests import test_routing
from regiohub.meldpunt.tests.test_public_form import URL, form_data

# The routing tests' fixtures: owners, a road layer and Kortrijk's rules.
bodies = test_routing.bodies
kortrijk_rules = test_routing.kortrijk_rules

pytestmark = pytest.mark.django_db


def _options(html: str, name: str) -> dict[str, str]:
    """label -> value of the radio buttons called ``name``."""
    found = {}
    for ident, value in re.findall(
        rf'<input type="radio" name="{name}" id="([^"]+)" value="([^"]+)"', html
    ):
        label = re.search(rf'<label for="{ident}">([^<]+)</label>', html).group(1)
        found[label] = value
    return found


def _ask(client) -> tuple[str, dict[str, str]]:
    response = client.post(URL, form_data())
    assert response.status_code == 200
    html = response.content.decode()
    return html, _options(html, "routing_choice")


def test_near_a_regional_road_the_form_asks_first_and_files_nothing(client, kortrijk_rules):
    html, options = _ask(client)
    assert not Report.objects.exists()
    names = {"feature": "N43", "owner": "Agentschap Wegen en Verkeer - District Kortrijk"}
    with translation.override("nl"):
        assert _t("Is your report about something on %(feature)s?") % names in html
        assert set(options) == {_t("On %(feature)s") % names, _t("Somewhere else")}
    assert "Agentschap Wegen en Verkeer - District Kortrijk" in html
    assert "<legend>" in html and 'id="routing-question"' in html


@pytest.mark.parametrize(("label", "owner"), [("On N43", "awv"), ("Somewhere else", None)])
def test_the_answer_is_stored_with_the_route(client, kortrijk_rules, label, owner):
    html, options = _ask(client)
    with translation.override("nl"):
        label = _t(label.replace("N43", "%(feature)s")) % {"feature": "N43"}
    asked = re.search(r'name="routing_asked" value="([^"]+)"', html).group(1)
    response = client.post(URL, form_data(routing_choice=options[label], routing_asked=asked))
    assert response.status_code == 302
    report = Report.objects.get()
    decision = report.routing_decisions.get()
    assert decision.answer == ("on_asset" if owner else "elsewhere")
    run_tasks()  # the hand-over follows the filing in the worker
    handover = report.handovers.first()
    assert (handover.to_external_body.code if handover else None) == owner


def test_an_answer_for_another_point_or_a_forged_one_is_asked_again(client, kortrijk_rules):
    html, options = _ask(client)
    asked = re.search(r'name="routing_asked" value="([^"]+)"', html).group(1)
    moved = form_data(
        latitude="50.8276", routing_choice=next(iter(options.values())), routing_asked=asked
    )
    response = client.post(URL, moved)
    assert response.status_code == 200 and not Report.objects.exists()
    forged = form_data(routing_choice="on_asset", routing_asked=asked)
    response = client.post(URL, forged)
    assert response.status_code == 200 and not Report.objects.exists()
    with translation.override("nl"):
        assert _t("Choose one of the answers.") in response.content.decode()
    nul = form_data(routing_choice="x\x00y", routing_asked="\x00")
    assert client.post(URL, nul).status_code in (200, 400)
    assert not Report.objects.exists()


def test_the_agent_sees_the_trace_and_the_uncertain_queue(client, kortrijk_rules, kortrijk_agent):
    from regiohub.meldpunt.models import AssetLayer
    from regiohub.meldpunt.tests.factories import file_report

    routed = file_report(code="pothole")
    AssetLayer.objects.filter(pk=kortrijk_rules.pk).update(is_active=False)
    uncertain = file_report(code="traffic-sign")
    agent = staff_client(kortrijk_agent)
    page = agent.get(f"/staff/reports/{routed.reference}/").content.decode()
    trace = page[page.find('id="h-routing"') :]
    assert "N43-1" in trace and "10,0" in trace and "Agentschap Wegen" in trace
    page = agent.get(f"/staff/reports/{uncertain.reference}/").content.decode()
    assert "Wegen" in page and 'class="notice notice-warning"' in page
    queue = agent.get("/staff/reports/?routing=uncertain").content.decode()
    assert uncertain.reference in queue and routed.reference not in queue
    assert uncertain.routing_state == RoutingState.UNCERTAIN
    response = agent.post(
        f"/staff/reports/{uncertain.reference}/owner/",
        {"department": uncertain.department.pk, "note": "Gewoon een bord"},
    )
    assert response.status_code == 302
    uncertain.refresh_from_db()
    assert uncertain.routing_state == RoutingState.CONFIRMED
