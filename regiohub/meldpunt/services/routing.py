"""Routing a report to its owner, and what staff do with routing: re-route, decide the owner
of an uncertain report, correct the subject, move reports after a layer update.

Every decision is kept as a :class:`RoutingDecision` (the trace the report page shows) and
in the history (``report.routed``). A report whose owner is an external body is handed over
to it with the trace as the reason; an uncertain one stays with the subject's department
and waits in the routing-uncertain queue (``routing_state = uncertain``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from regiohub.core import events, history
from regiohub.core.models import Department
from regiohub.meldpunt import routing
from regiohub.meldpunt.events import Action, ReportRouted
from regiohub.meldpunt.models import (
    Answer,
    Category,
    ExternalBody,
    OwnerKind,
    Report,
    RoutingDecision,
    RoutingState,
)
from regiohub.meldpunt.routing import Route
from regiohub.meldpunt.workflow import HANDLED_HERE, OPEN, WITH_EXTERNAL_BODY, Status


def _record(
    report: Report,
    found: Route,
    *,
    state: str,
    actor: Any,
    note: str = "",
    quiet: bool = False,
    actor_label: str | None = None,
    saved: bool = False,
    hand_over: bool = False,
) -> RoutingDecision:
    """Keep the decision (and its history entry unless ``quiet``) and publish it;
    ``saved``: the report already holds ``state`` (a new report, routed before its first
    save); ``hand_over``: the worker hands the report to the external owner after commit
    (:func:`hand_over_routed`)."""
    if found.owner_kind == OwnerKind.MUNICIPALITY and not found.uncertain:
        owner_name = report.department.display_name
    else:
        owner_name = found.owner_name
    decision = RoutingDecision.objects.create(
        report=report,
        by=actor if getattr(actor, "is_authenticated", False) else None,
        state=state,
        owner_kind=found.owner_kind,
        owner_name=owner_name[:200],
        external_body_id=found.external_body_id,
        department_id=found.department_id or report.department_id,
        rule_id=found.rule_id,
        rule_text=found.rule_text[:300],
        layer_version_id=found.layer_version_id,
        layer_name=found.layer_name[:160],
        feature_id=found.feature_id[:100],
        feature_name=found.feature_name[:200],
        manager_code=found.manager_code[:40],
        distance_m=found.distance_m,
        answer=found.answer,
        reason_code=found.reason_code,
        reason_params=found.reason_params,
        note=note[:2000],
    )
    before = {"routing_state": "" if saved else report.routing_state}
    if not saved:
        report.routing_state = state
        report.save(update_fields=["routing_state", "department", "updated_at"])
    events.publish(
        ReportRouted(
            report_id=report.pk,
            organisation_id=report.organisation_id,
            decision_id=decision.pk,
            state=state,
            owner_kind=found.owner_kind,
            external_body_id=found.external_body_id,
            hand_over=hand_over,
        )
    )
    if quiet:
        return decision  # filed where no rule applies: the creation entry says it all
    history.record(
        report,
        Action.ROUTED,
        actor=actor,
        actor_label=actor_label,
        organisation=report.organisation,
        before=before,
        after={
            "routing_state": state,
            "owner": decision.owner_name,
            "rule": found.rule_id,
            "feature": found.feature_id,
            "distance_m": found.distance_m,
            "answer": found.answer,
            "reason": found.reason_code,
        },
        reason=note,  # the reason of an uncertain route is in the trace, shown translated
    )
    return decision


def _hand_over(report: Report, decision: RoutingDecision, actor: Any) -> None:
    from regiohub.meldpunt.services.handling import forward_to_external_body

    body = ExternalBody.objects.get(pk=decision.external_body_id)
    forward_to_external_body(
        report, body, reason=handover_reason(report, decision, body), actor=actor
    )


def handover_reason(report: Report, decision: RoutingDecision, body: ExternalBody) -> str:
    """Why the rules chose ``body``, as the body reads it: what is near the place and how
    near, or the subject and municipality it handles; in the region's language (the
    bodies are Flemish; the rule's own wording stays on the staff's routing trace)."""
    with translation.override(settings.LANGUAGE_CODE):
        feature = decision.feature_name or decision.feature_id
        if feature and decision.distance_m is not None:
            return _(
                "The place marked is %(metres)s m from %(feature)s (%(layer)s), which "
                "%(body)s manages."
            ) % {
                "metres": f"{decision.distance_m:.0f}",
                "feature": feature,
                "layer": decision.layer_name or "-",
                "body": body.display_name,
            }
        return _("%(body)s handles “%(subject)s” in %(municipality)s.") % {
            "body": body.display_name,
            "subject": report.category.display_name,
            "municipality": report.organisation.display_name,
        }


def hand_over_routed(event: ReportRouted) -> str:
    """Subscriber: hand a newly filed report to the external body its routing named.

    Runs in the worker after the filing committed, so that filing stays one quick
    transaction (the hand-over locks, pauses the SLA, writes the body's link and two mails).
    Delivered at least once: a report that was handed over, re-routed, merged or closed in
    the meantime is left as it is."""
    return hand_over_pending(event.report_id, event.decision_id)


def hand_over_pending(report_id: int, decision_id: int | None = None) -> str:
    """Hand the report to the external body its current routing decision names (when
    ``decision_id`` is given: only if that decision is still the current one) while it is
    still in our hands; says what it did."""
    with transaction.atomic():
        report = Report.objects.select_for_update().filter(pk=report_id).first()
        if report is None:
            return "gone"
        decision = current(report)
        if decision is None or (decision_id is not None and decision.pk != decision_id):
            return "routed again since"
        if decision.owner_kind != OwnerKind.EXTERNAL or decision.state == RoutingState.UNCERTAIN:
            return "not an external owner"
        if report.status not in HANDLED_HERE:
            return f"left as {report.status}"
        _hand_over(report, decision, actor=None)
    return "handed over"


def _wants_hand_over(event: ReportRouted) -> bool:
    return event.hand_over


def subscribe() -> None:
    """Connected in ``MeldpuntConfig.connect()``."""
    events.subscribe(
        ReportRouted, "meldpunt.routing.hand_over", hand_over_routed, when=_wants_hand_over
    )


def apply(report: Report, found: Route, *, actor: Any = None, note: str = "") -> RoutingDecision:
    """Give ``report`` the owner ``found`` names (inside the caller's transaction)."""
    if found.uncertain:
        return _record(report, found, state=RoutingState.UNCERTAIN, actor=actor, note=note)
    if found.owner_kind == OwnerKind.DEPARTMENT and found.department_id:
        report.department_id = found.department_id
        report.department = Department.objects.get(pk=found.department_id)
    quiet = found.rule_id is None and report.routing_state == "" and not note
    decision = _record(
        report, found, state=RoutingState.ROUTED, actor=actor, note=note, quiet=quiet
    )
    if found.owner_kind == OwnerKind.EXTERNAL and report.status in HANDLED_HERE:
        _hand_over(report, decision, actor)
    return decision


def decide_new(report: Report, *, answer: str = Answer.NOT_ASKED) -> Route:
    """Route a report before its first save (``submit_report``): its routing state and, for
    a department rule, its department go into the same INSERT; :func:`record_new` keeps the
    decision once the report has its id."""
    found = routing.route(
        report.organisation_id,
        report.category.code,
        report.latitude,
        report.longitude,
        place_known=report.place_known,
        answer=answer,
    )
    report.routing_state = RoutingState.UNCERTAIN if found.uncertain else RoutingState.ROUTED
    if not found.uncertain and found.owner_kind == OwnerKind.DEPARTMENT and found.department_id:
        report.department = Department.objects.get(pk=found.department_id)
    return found


def record_new(report: Report, found: Route, *, actor: Any = None) -> RoutingDecision:
    """Keep the decision :func:`decide_new` made; a report an external body owns is handed
    to it by the worker once the filing committed (:func:`hand_over_routed`)."""
    return _record(
        report,
        found,
        state=report.routing_state,
        actor=actor,
        quiet=found.rule_id is None and not found.uncertain,
        saved=True,
        hand_over=(
            not found.uncertain
            and found.owner_kind == OwnerKind.EXTERNAL
            and report.status in HANDLED_HERE
        ),
    )


def route_new(report: Report, *, answer: str = Answer.NOT_ASKED, actor: Any = None) -> Route:
    """Route a saved report that was filed without routing (:func:`decide_new` and
    :func:`record_new` in one)."""
    found = decide_new(report, answer=answer)
    record_new(report, found, actor=actor)
    report.save(update_fields=["routing_state", "department", "updated_at"])
    return found


def current(report: Report) -> RoutingDecision | None:
    return report.routing_decisions.order_by("-at", "-id").first()


def _last_answer(report: Report) -> str:
    decision = current(report)
    return decision.answer if decision else Answer.NOT_ASKED


def _open(report: Report) -> None:
    if report.status in WITH_EXTERNAL_BODY:
        raise ValidationError(
            {
                "routing": _(
                    "An external body has this report: take it back first (change its "
                    "status to in progress)."
                )
            }
        )
    if report.status not in OPEN:
        raise ValidationError(
            {"routing": _("Only an open report can be routed again: reopen it first.")}
        )


@transaction.atomic
def reroute(report: Report, *, actor: Any, note: str = "") -> RoutingDecision:
    """Run the rules again (after a layer or rule was fixed, or the place corrected)."""
    from regiohub.meldpunt.services.handling import _locked

    report = _locked(report, actor)
    _open(report)
    decision = follow_change(report, actor=actor, force=True, note=note)
    assert decision is not None
    return decision


@transaction.atomic
def decide_owner(
    report: Report,
    *,
    actor: Any,
    department: Department | None = None,
    external_body: ExternalBody | None = None,
    note: str = "",
) -> RoutingDecision:
    """Staff decide who owns the report (an uncertain one, or against the rules): a
    department of its municipality, or an external body (then it is handed over)."""
    from regiohub.meldpunt.services.handling import _locked

    report = _locked(report, actor)
    _open(report)
    note = note.strip()
    if (department is None) == (external_body is None):
        raise ValidationError({"owner": _("Choose a department or an external body.")})
    if not note:
        raise ValidationError({"note": _("Say why, for the report's history.")})
    if department is not None:
        if department.organisation_id != report.organisation_id or not department.is_active:
            raise ValidationError({"owner": _("Choose an active department of this municipality.")})
        report.department = department
        found = Route(
            uncertain=False,
            owner_kind=OwnerKind.DEPARTMENT,
            owner_name=department.display_name,
            department_id=department.pk,
            rule_text=_("Decided by staff."),
            answer=_last_answer(report),
        )
    else:
        assert external_body is not None
        if not external_body.is_active:
            raise ValidationError({"owner": _("This organisation takes no hand-overs.")})
        found = Route(
            uncertain=False,
            owner_kind=OwnerKind.EXTERNAL,
            owner_name=external_body.display_name,
            external_body_id=external_body.pk,
            rule_text=_("Decided by staff."),
            answer=_last_answer(report),
        )
    decision = _record(report, found, state=RoutingState.CONFIRMED, actor=actor, note=note)
    if external_body is not None:
        from regiohub.meldpunt.services.handling import forward_to_external_body

        forward_to_external_body(report, external_body, reason=note, actor=actor)
    return decision


def back_to_triage(report: Report, reason: str, actor_label: str) -> RoutingDecision:
    """An external body sent ``report`` back ("not ours"): it waits in the municipality's
    routing-uncertain queue with the reason, for an agent to decide who owns it (inside
    the caller's transaction, report locked). The subject's department holds it meanwhile."""
    body = current(report)
    found = Route(
        uncertain=True,
        owner_kind=OwnerKind.MUNICIPALITY,
        owner_name=report.department.display_name,
        department_id=report.department_id,
        rule_text=_("Sent back by %(body)s") % {"body": actor_label},
        reason_code=routing.Reason.HANDOVER_REJECTED,
        reason_params={"body": actor_label},
        answer=body.answer if body else Answer.NOT_ASKED,
    )
    return _record(
        report,
        found,
        state=RoutingState.UNCERTAIN,
        actor=None,
        note=reason,
        actor_label=actor_label,
    )


@transaction.atomic
def change_category(report: Report, category_code: str, *, actor: Any, reason: str) -> Report:
    """Correct the subject of a report: its department, SLA and owner follow, the history
    keeps what it was, and the reporter hears when someone else now owns it."""
    from regiohub.meldpunt.services.filing import TRACKED_FIELDS, update_due_dates
    from regiohub.meldpunt.services.handling import _locked

    report = _locked(report, actor)
    _open(report)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the subject changes.")})
    category = (
        Category.objects.filter(
            organisation=report.organisation_id, code=category_code, is_active=True
        )
        .select_related("department")
        .first()
    )
    if category is None:
        raise ValidationError({"category": _("This municipality has no such subject.")})
    if category.pk == report.category_id:
        raise ValidationError({"category": _("The report already has this subject.")})
    before = history.snapshot(report, TRACKED_FIELDS)
    owner_before = current(report)
    report.category = category
    report.department = category.department
    update_due_dates(report)
    report.save(
        update_fields=[
            "category", "department", "response_due_at", "resolution_due_at", "updated_at",
        ]
    )  # fmt: skip
    history.record(
        report,
        Action.CATEGORY_CHANGED,
        actor=actor,
        organisation=report.organisation,
        before=before,
        after=history.snapshot(report, TRACKED_FIELDS),
        reason=reason,
    )
    follow_change(report, actor=actor, force=True, owner_before=owner_before)
    return report


def _same_owner(decision: RoutingDecision, found: Route) -> bool:
    if found.uncertain != (decision.state == RoutingState.UNCERTAIN):
        return False
    if found.owner_kind != decision.owner_kind:
        return False
    if found.owner_kind == OwnerKind.EXTERNAL:
        return found.external_body_id == decision.external_body_id
    if found.owner_kind == OwnerKind.DEPARTMENT:
        return found.department_id == decision.department_id
    return True


def follow_change(
    report: Report,
    *,
    actor: Any,
    force: bool = False,
    owner_before: RoutingDecision | None = None,
    note: str = "",
) -> RoutingDecision | None:
    """Route ``report`` again after its place or subject changed (inside the caller's
    transaction, report locked). An owner staff decided stays; the reporter hears when
    another department or body now owns the report."""
    from regiohub.meldpunt.services.handling import _system_message

    decision = owner_before if owner_before is not None else current(report)
    if report.status not in HANDLED_HERE:
        return None
    if decision is not None and decision.state == RoutingState.CONFIRMED and not force:
        return None
    found = routing.route(
        report.organisation_id,
        report.category.code,
        report.latitude,
        report.longitude,
        place_known=report.place_known,
        answer=decision.answer if decision else Answer.NOT_ASKED,
    )
    if decision is not None and not force and _same_owner(decision, found):
        return None
    if found.owner_kind == OwnerKind.MUNICIPALITY:
        report.department = report.category.department
    new = apply(report, found, actor=actor, note=note)
    if (
        new.owner_kind != OwnerKind.EXTERNAL
        and decision is not None
        and decision.owner_name != new.owner_name
        and not found.uncertain
    ):
        with translation.override(report.reporter_language):
            _system_message(
                report,
                _("%(owner)s now handles your report.") % {"owner": new.owner_name},
            )
    return new


@dataclass(frozen=True)
class Move:
    """An open report the current layers would route elsewhere."""

    report: Report
    before: str
    after: Route

    @property
    def after_name(self) -> str:
        if self.after.uncertain:
            return _("Routing uncertain")
        if self.after.owner_kind == OwnerKind.MUNICIPALITY:
            return self.report.category.department.display_name
        return self.after.owner_name


def moves(reports: Iterable[Report]) -> list[Move]:
    """The open reports among ``reports`` that the rules and layers as they are now would
    give another owner (after a new layer version): for an agent to confirm."""
    found: list[Move] = []
    for report in reports:
        if report.status not in OPEN or report.status == Status.FORWARDED:
            continue
        decision = current(report)
        if decision is None:
            continue
        now = routing.route(
            report.organisation_id,
            report.category.code,
            report.latitude,
            report.longitude,
            place_known=report.place_known,
            answer=decision.answer,
        )
        same_owner = _same_owner(decision, now)
        if decision.state == RoutingState.CONFIRMED or same_owner:
            continue
        found.append(Move(report=report, before=decision.owner_name, after=now))
    return found
