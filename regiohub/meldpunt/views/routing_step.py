"""The form's question before sending: "Is your report about the N43?" and "Kortrijk or Kuurne?".

When the marked place lies within a rule's distance of an asset another body owns (a
regional road, a waterway), the citizen says whether the report is about that asset; when
it lies within ``routing.BORDER_M`` of another municipality, which municipality is meant.
The answer is stored with the report's routing trace (``meldpunt.services.routing``).

Each answer travels signed with the point and subject it was asked for: a citizen who then
moves the point or changes the subject is asked again, and nobody can post an answer to a
question that was never asked. Plain radio buttons in a fieldset: keyboard, screen reader
and no JavaScript all work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core import signing
from django.utils.translation import gettext as _

from regiohub.core import geo
from regiohub.meldpunt import routing
from regiohub.meldpunt.models import Answer, LayerKind

_SALT = "regiohub.meldpunt.routing-choice"


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Ask:
    name: str  # the form field: routing_choice or border_choice
    legend: str
    help: str
    options: list[Option]
    note: str = ""
    error: str = ""


@dataclass
class Outcome:
    """What to file with (``answer`` and ``municipality_code``), or what to ask first."""

    answer: str = Answer.NOT_ASKED
    municipality_code: str = ""
    asks: list[Ask] = field(default_factory=list)
    asked: str = ""  # the signed point and subject the questions were asked for


def _key(latitude: float, longitude: float, category: str) -> dict[str, Any]:
    return {"lat": round(latitude, 6), "lng": round(longitude, 6), "c": category}


def _sign(payload: dict[str, Any]) -> str:
    return signing.dumps(payload, salt=_SALT, compress=True)


def _unsign(value: str, key: dict[str, Any]) -> dict[str, Any] | None:
    if not value or len(value) > 1000:
        return None
    try:
        data = signing.loads(value, salt=_SALT, max_age=6 * 3600)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or {k: data.get(k) for k in key} != key:
        return None  # asked for another point or subject: ask again
    return data


def _asset_ask(question: routing.AssetQuestion, key: dict[str, Any], kind: str) -> Ask:
    names = {"feature": question.feature, "owner": question.owner}
    if kind == LayerKind.POINT:
        legend = _("Is your report about %(feature)s?") % names
        yes = _("Yes, about %(feature)s") % names
        help_text = _("It looks like you chose the place of %(feature)s, managed by %(owner)s.")
    elif kind == LayerKind.AREA:
        legend = _("Is your report about something in %(feature)s?") % names
        yes = _("In %(feature)s") % names
        help_text = _("It looks like you chose a place in %(feature)s, managed by %(owner)s.")
    else:
        legend = _("Is your report about something on %(feature)s?") % names
        yes = _("On %(feature)s") % names
        help_text = _("It looks like you chose a place on %(feature)s, managed by %(owner)s.")
    help_text = help_text % names + " " + _("They handle what is on it; we pass your report on.")
    return Ask(
        name="routing_choice",
        legend=legend,
        help=help_text,
        options=[
            Option(_sign({**key, "a": Answer.ON_ASSET}), yes),
            Option(_sign({**key, "a": Answer.ELSEWHERE}), _("Somewhere else")),
        ],
        note=_("The map layer used here is approximate demo data.") if question.is_demo else "",
    )


def _border_ask(near: list[tuple[geo.Location, float]], key: dict[str, Any]) -> Ask:
    from regiohub.core.models import Organisation

    codes = dict(
        Organisation.objects.filter(pk__in=[loc.organisation_id for loc, _d in near]).values_list(
            "pk", "code"
        )
    )
    names = [loc.name or "" for loc, _d in near]
    return Ask(
        name="border_choice",
        legend=_("In which municipality is the problem?"),
        help=_("The place you chose is on the border of %(names)s.")
        % {"names": _(" and ").join(names)},
        options=[
            Option(
                _sign({**key, "m": codes[loc.organisation_id]}),
                _("In %(municipality)s") % {"municipality": loc.name},
            )
            for loc, _d in near
            if loc.organisation_id in codes
        ],
    )


def decide(data: dict[str, Any], latitude: float | None, longitude: float | None) -> Outcome:
    """The answers the citizen gave for this point and subject, or the questions to ask."""
    outcome = Outcome(municipality_code=data.get("municipality", ""))
    category = data.get("category", "")
    if latitude is None or longitude is None or not category:
        return outcome
    located = geo.municipality_at(latitude, longitude)
    if not located.inside:
        return outcome  # filing refuses it with its own message
    key = _key(latitude, longitude, category)
    outcome.asked = _sign(key)
    asked_before = _unsign(data.get("routing_asked", ""), key) is not None
    organisation_id = located.organisation_id
    near = geo.municipalities_near(latitude, longitude, routing.BORDER_M)
    if len(near) > 1:
        chosen = _unsign(data.get("border_choice", ""), key)
        if chosen is None:
            ask = _border_ask(near, key)
            if asked_before:
                ask = _with_error(ask)
            outcome.asks.append(ask)
        else:
            from regiohub.core.models import Organisation

            outcome.municipality_code = str(chosen.get("m", ""))
            picked = Organisation.objects.filter(code=outcome.municipality_code).first()
            organisation_id = picked.pk if picked else organisation_id
    else:
        outcome.municipality_code = ""
    question = routing.question(organisation_id, category, latitude, longitude)
    if question is not None:
        chosen = _unsign(data.get("routing_choice", ""), key)
        if chosen is not None and chosen.get("a") in (Answer.ON_ASSET, Answer.ELSEWHERE):
            outcome.answer = str(chosen["a"])
        else:
            from regiohub.meldpunt.models import AssetLayer

            kind = (
                AssetLayer.objects.filter(versions__pk=question.route.layer_version_id)
                .values_list("kind", flat=True)
                .first()
            )
            ask = _asset_ask(question, key, kind or LayerKind.LINE)
            if asked_before:
                ask = _with_error(ask)
            outcome.asks.append(ask)
    return outcome


def _with_error(ask: Ask) -> Ask:
    return Ask(
        ask.name, ask.legend, ask.help, ask.options, ask.note,
        _("Choose one of the answers."),
    )  # fmt: skip
