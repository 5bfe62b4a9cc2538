"""Staff pages: the inbox, agent intake and the report page with its actions.

Every view reads reports through ``queries.reports_for`` (scoped to the organisations where
the user handles reports): a report of another municipality answers 404.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import get_language, gettext_lazy, pgettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from regiohub.core import access, history
from regiohub.core.auth.decorators import staff_required
from regiohub.core.models import Department, Organisation, User
from regiohub.meldpunt import attributes as attribute_rules
from regiohub.meldpunt import duplicates, inbox, merges, places, queries, services, workflow
from regiohub.meldpunt.contrib.mail.intake import _fresh_part
from regiohub.meldpunt.contrib.mail.services import ensure_waiting, take_in
from regiohub.meldpunt.events import Action
from regiohub.meldpunt.forms import IntakeForm
from regiohub.meldpunt.models import (
    Category,
    Channel,
    ExternalBody,
    InboundMail,
    Message,
    Photo,
    PlaceSource,
    Report,
    SavedFilter,
    SlaState,
    sla_state,
)
from regiohub.meldpunt.models.conversation import PUBLIC_KINDS
from regiohub.meldpunt.permissions import HANDLE_REPORTS, TAKE_REPORTS
from regiohub.meldpunt.queries import can_see_contact, handlers_of
from regiohub.meldpunt.views.public import apply_service_errors, serve_photo
from regiohub.meldpunt.workflow import Status


def _report(request: HttpRequest, reference: str) -> Report:
    if "\x00" in reference:  # PostgreSQL refuses NUL in text: no such report
        raise Http404
    return get_object_or_404(
        queries.reports_for(request.user).select_related(
            "organisation", "category", "department", "assignee", "merged_into", "split_from"
        ),
        reference=reference,
    )


# --- Inbox ------------------------------------------------------------------------------


#: Merging and forwarding need a target: they have their own forms on the report page.
BULK_STATUSES = [s for s in Status.choices if s[0] not in (Status.MERGED, Status.FORWARDED)]


class BulkForm(forms.Form):
    ACTIONS = [
        ("assign_me", gettext_lazy("Assign to me")),
        ("assign", gettext_lazy("Assign to the person chosen")),
        ("department", gettext_lazy("Give to the department chosen")),
        ("unassign", gettext_lazy("Remove assignment")),
        ("status", gettext_lazy("Change status")),
    ]
    action = forms.ChoiceField(label=gettext_lazy("Action"), choices=ACTIONS)
    assignee = forms.ModelChoiceField(
        label=gettext_lazy("Person"), queryset=User.objects.none(), required=False
    )
    department = forms.ModelChoiceField(
        label=gettext_lazy("Department"), queryset=Department.objects.none(), required=False
    )
    status = forms.ChoiceField(
        label=gettext_lazy("New status"),
        required=False,
        choices=[("", "—"), *BULK_STATUSES],
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), required=False, max_length=2000)
    reports = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Selected reports"),
        queryset=Report.objects.none(),
        error_messages={"required": gettext_lazy("Select one or more reports first.")},
    )
    next = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        org_ids = access.organisation_ids(user, HANDLE_REPORTS)
        self.fields["reports"].queryset = queries.reports_for(user)
        # Offered: whoever handles reports where this user does; each report's own
        # municipality is checked by the service, one report at a time.
        self.fields["assignee"].queryset = handlers_of(org_ids)
        self.fields["department"].queryset = Department.objects.filter(
            organisation_id__in=org_ids
        ).select_related("organisation")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        needed = {"assign": "assignee", "department": "department", "status": "status"}
        field = needed.get(data.get("action", ""))
        if field and not data.get(field) and field not in self.errors:
            messages_ = {
                "assignee": _("Choose the person."),
                "department": _("Choose the department."),
                "status": _("Choose the new status."),
            }
            self.add_error(field, messages_[field])
        return data


@staff_required
@require_GET
def inbox_view(request: HttpRequest) -> HttpResponse:
    query = inbox.InboxQuery.from_params(request.GET)
    if query.full_reference and not query.after:
        # The agent typed a whole reference (a caller read it out): straight to it.
        found = list(
            query.filter(queries.reports_for(request.user), request.user).values_list(
                "reference", flat=True
            )[:2]
        )
        if len(found) == 1:
            return redirect("meldpunt:staff-report", found[0])
    result = inbox.page(query, request.user)
    org_ids = access.organisation_ids(request.user, HANDLE_REPORTS)
    now_rows = [(report, sla_state(report)) for report in result.reports]
    context = {
        "query": query,
        "page": result,
        "rows": now_rows,
        "next_url": f"?{query.params(after=result.next_cursor)}" if result.next_cursor else "",
        "first_url": f"?{query.params(after='')}" if query.after else "",
        "statuses": Status.choices,
        "sla_states": [s for s in SlaState.choices if s[0] != SlaState.DONE],
        "sorts": [(key, label) for key, (_f, _d, label) in inbox.SORTS.items()],
        "channels": Channel.choices,
        "municipalities": Organisation.objects.filter(pk__in=org_ids, kind="municipality"),
        "departments": Department.objects.filter(organisation_id__in=org_ids).select_related(
            "organisation"
        ),
        "categories": sorted(
            {(c.code, c.display_name) for c in Category.objects.filter(organisation_id__in=org_ids)}
        ),
        "saved_filters": SavedFilter.objects.filter(user=request.user),
        "current_params": query.params(),
        "bulk_statuses": BULK_STATUSES,
        "bulk_actions": BulkForm.ACTIONS,
        "colleagues": handlers_of(org_ids),
        "can_take": bool(access.organisation_ids(request.user, TAKE_REPORTS)),
    }
    return render(request, "meldpunt/staff/inbox.html", context)


@staff_required
@require_GET
def inbox_export(request: HttpRequest) -> StreamingHttpResponse:
    """The inbox's selection (same filters, search and scope) as a CSV file: every matching
    report, not one page, streamed. Reporter details only where the user may see them."""
    query = inbox.InboxQuery.from_params(request.GET)
    query.after = ""  # all pages
    filename = f"{pgettext('file name', 'reports')}-{timezone.localdate():%Y-%m-%d}.csv"
    response = StreamingHttpResponse(
        inbox.export_csv(query, request.user, get_language()),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@staff_required
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """One action on the reports ticked in the inbox, each through its service (rules and
    history per report); says which changed, and which not and why."""
    data = request.POST.copy()
    data.setlist("reports", [v for v in data.getlist("reports") if inbox.InboxQuery.is_id(v)])
    form = BulkForm(request.user, data)
    back = request.POST.get("next", "")
    back = back if back.startswith("?") else ""
    target = reverse("meldpunt:inbox") + back
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label}: {' '.join(errors)}" if label else " ".join(errors))
        return redirect(target)
    data = form.cleaned_data
    action = data["action"]
    done: list[str] = []
    failed: dict[str, list[str]] = {}  # why -> references
    for report in data["reports"].order_by("reference"):
        try:
            if action == "assign_me":
                services.assign(report, actor=request.user, assignee=request.user)
            elif action == "assign":
                services.assign(report, actor=request.user, assignee=data["assignee"])
            elif action == "department":
                services.assign(report, actor=request.user, department=data["department"])
            elif action == "unassign":
                services.assign(report, actor=request.user, clear_assignee=True)
            else:
                services.change_status(
                    report, data["status"], actor=request.user, reason=data["reason"]
                )
        except ValidationError as error:
            failed.setdefault(" ".join(error.messages), []).append(report.reference)
        except workflow.TransitionNotAllowed as error:
            failed.setdefault(str(error), []).append(report.reference)
        except PermissionDenied:  # handed over to another municipality meanwhile
            failed.setdefault(_("You no longer handle this report."), []).append(report.reference)
        else:
            done.append(report.reference)
    if done:
        messages.success(
            request,
            _("Changed %(count)d report(s): %(references)s")
            % {"count": len(done), "references": ", ".join(done)},
        )
    for why, refused in failed.items():
        messages.error(
            request, _("Not changed: %(reason)s") % {"reason": f"{', '.join(refused)}: {why}"}
        )
    return redirect(target)


class SavedFilterForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name of this filter"), max_length=80)
    query = forms.CharField(required=False, max_length=1000, widget=forms.HiddenInput)


@staff_required
@require_POST
def save_filter(request: HttpRequest) -> HttpResponse:
    form = SavedFilterForm(request.POST)
    if form.is_valid():
        # Normalise through the parser: only known filters are stored.
        from django.http import QueryDict

        query = inbox.InboxQuery.from_params(QueryDict(form.cleaned_data["query"]))
        query.after = ""
        if len(query.params()) > SavedFilter._meta.get_field("query").max_length:
            messages.error(request, _("This filter is too long to save. Remove a few choices."))
            return redirect("meldpunt:inbox")
        try:
            SavedFilter.objects.update_or_create(
                user=request.user,
                name=form.cleaned_data["name"].strip(),
                defaults={"query": query.params()},
            )
        except IntegrityError:
            messages.error(request, _("Could not save the filter. Try another name."))
        else:
            messages.success(request, _("Filter saved."))
        return redirect(reverse("meldpunt:inbox") + "?" + query.params())
    messages.error(request, _("Give the filter a name."))
    return redirect("meldpunt:inbox")


@staff_required
@require_POST
def delete_filter(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(SavedFilter, pk=pk, user=request.user).delete()
    messages.success(request, _("Filter removed."))
    return redirect("meldpunt:inbox")


# --- Intake -----------------------------------------------------------------------------


@staff_required
@require_http_methods(["GET", "POST"])
def intake(request: HttpRequest) -> HttpResponse:
    """An agent files a report from a phone call, the desk, a mail or a chat. "Check" first
    shows the open reports nearby, so a known problem is not filed twice."""
    if not access.organisation_ids(request.user, TAKE_REPORTS):
        raise PermissionDenied
    mail = _mail_to_take_in(request)
    if request.method == "GET" and mail is not None:
        try:
            ensure_waiting(mail)
        except ValidationError as error:
            messages.warning(request, " ".join(error.messages))
            return redirect("meldpunt:mailbox")
        form = IntakeForm(
            initial={
                "channel": Channel.EMAIL,
                "description": _fresh_part(mail.body)[:5000] or mail.subject,
                "reporter_email": mail.from_address,
                "reporter_name": mail.from_name,
            }
        )
    else:
        form = IntakeForm(request.POST or None, request.FILES or None)
    nearby_reports: list[tuple[Report, float]] | None = None
    if request.method == "POST" and "check" in request.POST:
        # Check first, type later: only the place needs to be valid to look around it.
        form.is_valid()
        lat, lon = form.cleaned_data.get("latitude"), form.cleaned_data.get("longitude")
        initial = request.POST.dict()
        # Questions with several answers ticked keep them all (dict() keeps the last).
        initial.update(
            {name: request.POST.getlist(name) for name in request.POST
             if name.startswith("attribute__") and len(request.POST.getlist(name)) > 1}
        )  # fmt: skip
        lookup = None
        if lat is None and form.cleaned_data.get("address"):
            # A caller gives an address, not a point: when the register is sure of it, that
            # is the place (shown on the map, filed with it); else the place stays unknown.
            lookup = places.find_address(
                form.cleaned_data["address"], form.cleaned_data.get("municipality", "")
            )
            sure = places.sure_match(lookup)
            if sure is not None:
                lat, lon = sure.latitude, sure.longitude
                initial.update(
                    latitude=f"{lat:.6f}", longitude=f"{lon:.6f}", location_source="address",
                    address_register_id=sure.register_id, address=sure.label,
                )  # fmt: skip
        if lat is not None and lon is not None:
            nearby_reports = inbox.nearby(request.user, lat, lon)
        unbound = IntakeForm(initial=initial)
        unbound.initial["client_key"] = request.POST.get("client_key", "")
        return render(
            request,
            "meldpunt/staff/intake.html",
            # The mail being taken in stays with the form (a hidden field), so filing after
            # "Check" still converts it instead of leaving it waiting for a second intake.
            {"form": unbound, "nearby": nearby_reports, "no_place": lat is None, "mail": mail,
             "lookup": lookup},
        )  # fmt: skip
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # From a mail: the report and the mail marked converted are one transaction.
        submit = partial(take_in, mail.pk) if mail is not None else services.submit_report
        try:
            submitted = submit(
                category_code=data["category"],
                description=data["description"],
                latitude=data["latitude"],
                longitude=data["longitude"],
                address=data["address"],
                municipality_code=data["municipality"],
                channel=data["channel"],
                reporter_name=data["reporter_name"],
                reporter_email=data["reporter_email"],
                reporter_phone=data["reporter_phone"],
                language=data["reporter_language"],
                consent=data["consent"],
                photos=data["photos"],
                client_key=data["client_key"],
                actor=request.user,
                location_source=data["location_source"],
                address_register_id=data["address_register_id"],
                attributes=data["attributes"],
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            report = submitted.report
            messages.success(
                request, _("Report %(reference)s filed.") % {"reference": report.reference}
            )
            if queries.reports_for(request.user).filter(pk=report.pk).exists():
                return redirect("meldpunt:staff-report", report.reference)
            messages.info(
                request,
                _("It went to %(municipality)s, whose reports you do not handle.")
                % {"municipality": report.organisation.display_name},
            )
            return redirect("meldpunt:intake")
    return render(
        request,
        "meldpunt/staff/intake.html",
        {"form": form, "nearby": nearby_reports, "mail": mail},
    )


def _mail_to_take_in(request: HttpRequest) -> InboundMail | None:
    """The incoming mail this intake starts from (``?mail=`` or the form's ``mail``), in
    whatever state: taking it in refuses one that is no longer waiting, and says why."""
    from regiohub.meldpunt.contrib.mail.views import may_take_in_mail

    value = request.GET.get("mail") or request.POST.get("mail") or ""
    if not inbox.InboxQuery.is_id(value) or not may_take_in_mail(request.user):
        return None
    return InboundMail.objects.filter(pk=int(value)).first()


# --- Report page ------------------------------------------------------------------------


class ReportPageForm(forms.Form):
    """One of the report page's forms. The page holds several with fields of the same name
    (a "reason" in three, a "body" in two): each form's ids start with its own
    ``id_prefix`` (``status-reason``, ``note-body``), so every label names its own field."""

    id_prefix = "report"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{self.id_prefix}-%s")
        super().__init__(*args, **kwargs)


class StatusForm(ReportPageForm):
    id_prefix = "status"
    conditionally_required = ("reason",)  # never "(optional)": see the help text

    status = forms.ChoiceField(label=gettext_lazy("New status"))
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        required=False,
        max_length=2000,
        help_text=gettext_lazy(
            "Needed to cancel, reopen, put on hold, forward or wait for the reporter. "
            "A reason to cancel or reopen is sent to the reporter."
        ),
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, report: Report, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [
            (s.value, s.label)
            for s in workflow.next_states(report.status)
            if s not in (Status.MERGED, Status.FORWARDED)  # they have their own forms
        ]


class AssignForm(ReportPageForm):
    id_prefix = "assign"

    department = forms.ModelChoiceField(
        label=gettext_lazy("Department"), queryset=Department.objects.none(), required=False
    )
    assignee = forms.ModelChoiceField(
        label=gettext_lazy("Person"),
        queryset=User.objects.none(),
        required=False,
        empty_label=gettext_lazy("Nobody"),
    )

    def __init__(self, report: Report, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial", {"department": report.department_id, "assignee": report.assignee_id}
        )
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.filter(
            organisation=report.organisation
        )
        self.fields["assignee"].queryset = handlers_of({report.organisation_id})


class PlaceForm(ReportPageForm):
    """Correct the place: a point (the map, or coordinates from the caller) or an address
    the register knows without doubt."""

    id_prefix = "place"
    conditionally_required = ("address", "latitude", "longitude")

    address = forms.CharField(
        label=gettext_lazy("Address"),
        max_length=300,
        required=False,
        help_text=gettext_lazy(
            "Looked up in the address register when no point is marked. With a point, it "
            "is kept as the description of the place."
        ),
    )
    latitude = forms.FloatField(
        label=gettext_lazy("Latitude"), required=False, min_value=-90, max_value=90,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )  # fmt: skip
    longitude = forms.FloatField(
        label=gettext_lazy("Longitude"), required=False, min_value=-180, max_value=180,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )  # fmt: skip
    reason = forms.CharField(label=gettext_lazy("Why"), max_length=500, required=False)

    def __init__(self, report: Report | None = None, *args: Any, **kwargs: Any) -> None:
        if report is not None and "data" not in kwargs and not args:
            kwargs.setdefault("initial", {"address": report.address})
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        lat, lon = data.get("latitude"), data.get("longitude")
        if (lat is None) != (lon is None):
            raise ValidationError(gettext_lazy("Give both the latitude and the longitude."))
        if lat is None and not data.get("address"):
            raise ValidationError(
                gettext_lazy("Mark the place on the map, or type an address to look up.")
            )
        return data


class NoteForm(ReportPageForm):
    id_prefix = "note"

    body = forms.CharField(
        label=gettext_lazy("Internal note (never shown to the reporter)"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class MessageForm(ReportPageForm):
    id_prefix = "message"

    body = forms.CharField(
        label=gettext_lazy("Message to the reporter"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    question = forms.BooleanField(
        label=gettext_lazy("This is a question: wait for the answer (the SLA clock pauses)"),
        required=False,
    )


class ForwardForm(ReportPageForm):
    id_prefix = "forward"
    conditionally_required = ("organisation", "external_body")  # one of the two

    organisation = forms.ModelChoiceField(
        label=gettext_lazy("To another municipality"),
        queryset=Organisation.objects.filter(kind="municipality"),
        required=False,
    )
    external_body = forms.ModelChoiceField(
        label=gettext_lazy("Or to an external body"),
        queryset=ExternalBody.objects.filter(is_active=True),
        required=False,
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason for the hand-over"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, report: Report, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = Organisation.objects.filter(
            kind="municipality"
        ).exclude(pk=report.organisation_id)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if bool(data.get("organisation")) == bool(data.get("external_body")):
            raise ValidationError(_("Choose either a municipality or an external body."))
        return data


class MergeForm(ReportPageForm):
    id_prefix = "merge"

    into = forms.CharField(
        label=gettext_lazy("Reference of the report this one duplicates"), max_length=20
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), required=False, max_length=2000)


class SplitForm(ReportPageForm):
    id_prefix = "split"

    category = forms.ChoiceField(label=gettext_lazy("Category of the new report"))
    description = forms.CharField(
        label=gettext_lazy("What the new report is about"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, report: Report, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [
            (c.code, c.display_name)
            for c in Category.objects.filter(organisation=report.organisation, is_active=True)
        ]


ACTION_LABELS = {
    Action.REPORT_CREATED: gettext_lazy("Report filed"),
    Action.ASSIGNED: gettext_lazy("Assignment changed"),
    Action.NOTE_ADDED: gettext_lazy("Note added"),
    Action.MESSAGE_SENT: gettext_lazy("Message sent to the reporter"),
    Action.REPORTER_ANSWERED: gettext_lazy("The reporter wrote"),
    Action.PHOTO_ADDED: gettext_lazy("Photo added"),
    Action.RATED: gettext_lazy("Rated by the reporter"),
    Action.SATISFACTION_ASKED: gettext_lazy("The reporter was asked whether they are satisfied"),
    Action.SATISFACTION_ANSWERED: gettext_lazy("The reporter said whether they are satisfied"),
    Action.REOPEN_REQUESTED: gettext_lazy("The reporter asked to reopen"),
    Action.REOPEN_DECLINED: gettext_lazy("Request to reopen declined"),
    Action.HANDED_OVER: gettext_lazy("Handed over to another municipality"),
    Action.HANDOVER_ACKNOWLEDGED: gettext_lazy("The external body acknowledged the hand-over"),
    Action.HANDOVER_REJECTED: gettext_lazy("The external body sent the report back"),
    Action.HANDOVER_RESOLVED: gettext_lazy("The external body resolved the report"),
    Action.HANDOVER_ENDED: gettext_lazy("Taken back from the external body"),
    Action.MERGE_RECEIVED: gettext_lazy("A duplicate was merged into this report"),
    Action.SPLIT: gettext_lazy("A second problem was split off"),
    Action.ANONYMISED: gettext_lazy("Contact details erased"),
    Action.ROUTED: gettext_lazy("Owner decided (see Routing)"),
    Action.PLACE_CHANGED: gettext_lazy("Place changed"),
    Action.REPORT_UPDATED_THROUGH_API: gettext_lazy("Updated through the Open311 API"),
    Action.CATEGORY_CHANGED: gettext_lazy("Subject corrected"),
}


def staff_timeline(report: Report, merged_ids: list[int] | None = None) -> list[dict[str, Any]]:
    """Everything that happened, for staff: history entries and every message and note;
    with ``merged_ids``, also the messages to and from the reporters of the reports merged
    into this one (marked with their reference), so the conversation stays in one place."""
    items: list[dict[str, Any]] = []
    for entry in history.history_of(report):
        label = str(ACTION_LABELS.get(entry.action, entry.action))
        status = (entry.after or {}).get("status")
        if entry.action == Action.STATUS_CHANGED and status in Status.values:
            label = _("Status: %(status)s") % {"status": Status(status).label}
        items.append({"at": entry.at, "entry": entry, "kind": "history", "label": label})
    for message in report.messages.select_related("author"):
        items.append({"at": message.created_at, "message": message, "kind": message.kind})
    if merged_ids:
        merged = Message.objects.filter(report_id__in=merged_ids, kind__in=PUBLIC_KINDS)
        for message in merged.select_related("author", "report"):
            items.append(
                {"at": message.created_at, "message": message, "kind": message.kind,
                 "via": message.report.reference}
            )  # fmt: skip
    items.sort(key=lambda item: item["at"])
    return items


#: History entries the report page shows at once, the newest; "Show all" unfolds the rest.
HISTORY_SHOWN = 8


def _detail_context(request: HttpRequest, report: Report, **forms_: Any) -> dict[str, Any]:
    templates = services.templates_for(report)
    chosen = request.GET.get("template", "")
    message_initial = {}
    merged_ids = merges.merged_ids(report.pk)
    if inbox.InboxQuery.is_id(chosen):
        template = next((t for t in templates if t.pk == int(chosen)), None)
        if template is not None:
            # A message here reaches the reporters of merged reports too: greet neutrally.
            message_initial["body"] = services.render_template(
                template,
                report,
                with_name=can_see_contact(request.user, report) and not merged_ids,
            )
    timeline = staff_timeline(report, merged_ids)
    shown = len(timeline) - HISTORY_SHOWN
    context = {
        "report": report,
        "sla": sla_state(report),
        "answers": attribute_rules.answers_of(report),
        "see_contact": can_see_contact(request.user, report),
        "timeline": timeline,
        # The newest entries are shown; the earlier ones fold away (the page stays short).
        "timeline_recent": timeline[max(shown, 0) :],
        "timeline_older": timeline[: max(shown, 0)],
        "photos": report.photos.all(),
        # Photos of the reports merged into this one stay in view here (each served from
        # this page's address: a merged report may lie outside the user's reach now).
        "merged_photos": Photo.objects.filter(report_id__in=merged_ids).select_related("report")
        if merged_ids
        else [],
        "merged_count": len(merged_ids),
        "handovers": report.handovers.select_related(
            "to_organisation", "to_external_body", "from_organisation", "by"
        ),
        "merged_reports": report.merged_reports.all(),
        "split_reports": report.split_reports.all(),
        "duplicates": duplicates.suggest(report, queries.reports_for(request.user))
        if report.is_open
        else [],
        "templates": templates,
        "status_form": StatusForm(report),
        "assign_form": AssignForm(report),
        "note_form": NoteForm(),
        "message_form": MessageForm(initial=message_initial),
        "forward_form": ForwardForm(report),
        "merge_form": MergeForm(),
        "split_form": SplitForm(report),
        "place_form": PlaceForm(report),
    }
    from regiohub.meldpunt.views.staff_routing import routing_context

    context.update(routing_context(report))
    from regiohub.meldpunt.views.staff_satisfaction import satisfaction_context

    context.update(satisfaction_context(report))
    context.update(forms_)
    return context


@staff_required
@require_GET
def report_detail(request: HttpRequest, reference: str) -> HttpResponse:
    report = _report(request, reference)
    return render(request, "meldpunt/staff/report.html", _detail_context(request, report))


def _act(
    request: HttpRequest,
    reference: str,
    form_name: str,
    make_form: Any,
    act: Any,
    success: str,
) -> HttpResponse:
    """Validate one form of the report page and run its service; on error show the page
    again with that form's errors (status 400)."""
    report = _report(request, reference)
    form = make_form(report, request.POST)
    if form.is_valid():
        try:
            result = act(report, form.cleaned_data)
        except workflow.TransitionNotAllowed as error:
            form.add_error(None, str(error))
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, success)
            if isinstance(result, Report) and result.pk != report.pk:
                return redirect("meldpunt:staff-report", result.reference)
            if not queries.reports_for(request.user).filter(pk=report.pk).exists():
                return redirect("meldpunt:inbox")  # handed over out of this user's reach
            return redirect("meldpunt:staff-report", report.reference)
    context = _detail_context(request, report, **{form_name: form})
    return render(request, "meldpunt/staff/report.html", context, status=400)


@staff_required
@require_POST
def report_status(request: HttpRequest, reference: str) -> HttpResponse:
    return _act(
        request, reference, "status_form", StatusForm,
        lambda report, data: services.change_status(
            report, data["status"], actor=request.user, reason=data["reason"]
        ),
        _("Status changed."),
    )  # fmt: skip


@staff_required
@require_POST
def report_assign(request: HttpRequest, reference: str) -> HttpResponse:
    return _act(
        request, reference, "assign_form", AssignForm,
        lambda report, data: services.assign(
            report,
            actor=request.user,
            department=data["department"],
            assignee=data["assignee"],
            clear_assignee=data["assignee"] is None,
        ),
        _("Assignment saved."),
    )  # fmt: skip


@staff_required
@require_POST
def report_note(request: HttpRequest, reference: str) -> HttpResponse:
    return _act(
        request, reference, "note_form", lambda report, data: NoteForm(data),
        lambda report, data: services.add_note(report, data["body"], actor=request.user),
        _("Note added."),
    )  # fmt: skip


@staff_required
@require_POST
def report_place(request: HttpRequest, reference: str) -> HttpResponse:
    """Correct the place: a marked point (source "staff"), or an address the register is
    sure of (source "address", with its register id). A point in another municipality is
    refused by the service: that is a hand-over."""

    def act(report: Report, data: dict) -> Report:
        if data["latitude"] is not None:
            return services.set_place(
                report, latitude=data["latitude"], longitude=data["longitude"],
                source=PlaceSource.STAFF, address=data["address"], actor=request.user,
                reason=data["reason"],
            )  # fmt: skip
        lookup = places.find_address(data["address"], report.organisation.code)
        place = places.sure_match(lookup)
        if place is None:
            found = ", ".join(p.label for p in lookup.places)
            raise ValidationError(
                {
                    "address": (
                        _("Several places match: %(places)s. Give the exact address, or mark "
                          "the place on the map.") % {"places": found}
                        if found else lookup.message
                        or _("The address register does not know this address.")
                    )
                }
            )  # fmt: skip
        return services.set_place(
            report, latitude=place.latitude, longitude=place.longitude,
            source=PlaceSource.ADDRESS, address=place.label, register_id=place.register_id,
            actor=request.user, reason=data["reason"],
        )  # fmt: skip

    return _act(
        request, reference, "place_form", lambda report, data: PlaceForm(None, data),
        act, _("Place corrected."),
    )  # fmt: skip


@staff_required
@require_POST
def report_message(request: HttpRequest, reference: str) -> HttpResponse:
    return _act(
        request, reference, "message_form", lambda report, data: MessageForm(data),
        lambda report, data: services.send_message(
            report, data["body"], actor=request.user, question=data["question"]
        ),
        _("Message sent to the reporter."),
    )  # fmt: skip


@staff_required
@require_POST
def report_forward(request: HttpRequest, reference: str) -> HttpResponse:
    def act(report: Report, data: dict) -> Any:
        if data["organisation"]:
            return services.forward_to_municipality(
                report, data["organisation"], reason=data["reason"], actor=request.user
            )
        return services.forward_to_external_body(
            report, data["external_body"], reason=data["reason"], actor=request.user
        )

    return _act(request, reference, "forward_form", ForwardForm, act, _("Report handed over."))


@staff_required
@require_POST
def report_merge(request: HttpRequest, reference: str) -> HttpResponse:
    def act(report: Report, data: dict) -> Any:
        into = queries.reports_for(request.user).filter(reference=data["into"].strip().upper())
        if not into.exists():
            raise ValidationError({"into": _("No report with this reference that you handle.")})
        services.merge(report, into.get(), actor=request.user, reason=data["reason"])

    return _act(
        request, reference, "merge_form", lambda report, data: MergeForm(data), act,
        _("Report merged."),
    )  # fmt: skip


@staff_required
@require_POST
def report_split(request: HttpRequest, reference: str) -> HttpResponse:
    return _act(
        request, reference, "split_form", SplitForm,
        lambda report, data: services.split(
            report, category_code=data["category"], description=data["description"],
            actor=request.user,
        ),
        _("New report made from this one."),
    )  # fmt: skip


@staff_required
@require_GET
def report_photo(request: HttpRequest, reference: str, pk: int) -> FileResponse:
    """A photo of the report, or of a report merged into it (directly or in a chain)."""
    report = _report(request, reference)
    photo = Photo.objects.filter(pk=pk, report_id=report.pk).first()
    if photo is None:
        photo = get_object_or_404(Photo, pk=pk, report_id__in=merges.merged_ids(report.pk))
    return serve_photo(photo)
