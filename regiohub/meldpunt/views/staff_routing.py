"""Routing on the report page (the trace, re-route, decide the owner, correct the subject) and
the list of reports a new layer version would move."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from regiohub.core.auth.decorators import staff_required
from regiohub.core.models import Department
from regiohub.meldpunt import queries, routing
from regiohub.meldpunt.models import (
    AssetLayer,
    Category,
    ExternalBody,
    Report,
    RoutingState,
)
from regiohub.meldpunt.services import routing as routing_services
from regiohub.meldpunt.views.staff import ReportPageForm, _act


class DecideOwnerForm(ReportPageForm):
    id_prefix = "owner"
    conditionally_required = ("department", "external_body")  # one of the two

    department = forms.ModelChoiceField(
        label=gettext_lazy("A department of the municipality"),
        queryset=Department.objects.none(),
        required=False,
    )
    external_body = forms.ModelChoiceField(
        label=gettext_lazy("Or an external body"),
        queryset=ExternalBody.objects.filter(is_active=True),
        required=False,
    )
    note = forms.CharField(
        label=gettext_lazy("Why"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, report: Report, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.filter(
            organisation=report.organisation_id, is_active=True
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if bool(data.get("department")) == bool(data.get("external_body")):
            raise ValidationError(_("Choose either a department or an external body."))
        return data


class CategoryForm(ReportPageForm):
    id_prefix = "subject"

    category = forms.ChoiceField(label=gettext_lazy("Subject"))
    reason = forms.CharField(
        label=gettext_lazy("Why"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, report: Report, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [
            (c.code, c.display_name)
            for c in Category.objects.filter(
                organisation=report.organisation_id, is_active=True
            ).exclude(pk=report.category_id)
        ]


class RerouteForm(ReportPageForm):
    id_prefix = "reroute"


def routing_context(report: Report) -> dict[str, Any]:
    """The report page's routing panel: the trace of each decision, newest first."""
    decisions = list(
        report.routing_decisions.select_related("by", "layer_version__layer", "rule")[:10]
    )
    return {
        "routing_decisions": [
            {"decision": d, "reason": routing.reason_text(d.reason_code, d.reason_params)}
            for d in decisions
        ],
        "routing_uncertain": report.routing_state == RoutingState.UNCERTAIN,
        "owner_form": DecideOwnerForm(report),
        "category_form": CategoryForm(report),
        "reroute_form": RerouteForm(),
    }


@staff_required
@require_POST
def report_reroute(request: HttpRequest, reference: str) -> HttpResponse:
    def act(report: Report, data: dict) -> Any:
        return routing_services.reroute(report, actor=request.user)

    return _act(
        request, reference, "reroute_form", lambda r, d: RerouteForm(d), act,
        _("The rules were applied again."),
    )  # fmt: skip


@staff_required
@require_POST
def report_owner(request: HttpRequest, reference: str) -> HttpResponse:
    def act(report: Report, data: dict) -> Any:
        return routing_services.decide_owner(
            report, actor=request.user, department=data["department"],
            external_body=data["external_body"], note=data["note"],
        )  # fmt: skip

    return _act(request, reference, "owner_form", DecideOwnerForm, act, _("Owner decided."))


@staff_required
@require_POST
def report_category(request: HttpRequest, reference: str) -> HttpResponse:
    def act(report: Report, data: dict) -> Any:
        return routing_services.change_category(
            report, data["category"], actor=request.user, reason=data["reason"]
        )

    return _act(request, reference, "category_form", CategoryForm, act, _("Subject corrected."))


@staff_required
@require_http_methods(["GET", "POST"])
def layer_moves(request: HttpRequest, pk: int) -> HttpResponse:
    """Open reports the current layers would route elsewhere (after a new layer version),
    for an agent to confirm one by one or together."""
    layer = get_object_or_404(AssetLayer, pk=pk)
    visible = (
        queries.reports_for(request.user)
        .open()
        .filter(organisation__routing_rules__layer=layer)
        .select_related("category__department", "organisation", "department")
        .distinct()
    )
    found = routing_services.moves(visible[:2000])
    if request.method == "POST":
        chosen = set(request.POST.getlist("report"))
        moved = 0
        for move in found:
            if str(move.report.pk) in chosen:
                try:
                    routing_services.reroute(
                        move.report, actor=request.user,
                        note=_("New version of the layer %(layer)s") % {"layer": layer},
                    )  # fmt: skip
                except ValidationError as error:
                    messages.error(request, f"{move.report.reference}: {' '.join(error.messages)}")
                else:
                    moved += 1
        messages.success(request, _("%(count)d reports routed again.") % {"count": moved})
        return redirect("meldpunt:staff-routing-moves", layer.pk)
    return render(
        request,
        "meldpunt/staff/routing_moves.html",
        {"layer": layer, "moves": found},
    )


def uncertain_count(user: Any) -> int:
    return queries.reports_for(user).filter(routing_state=RoutingState.UNCERTAIN).open().count()
