"""Reuses: anybody tells the portal what they built on a dataset; a steward of the
publisher shows it or not; visitors see the shown ones per dataset and all together."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from regiohub.core import errors
from regiohub.core.auth.decorators import staff_required
from regiohub.opendata import queries, services, throttling
from regiohub.opendata.models import Reuse, ReuseKind, ReuseState


class ReuseForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("What did you make?"), choices=ReuseKind.choices)
    title = forms.CharField(label=gettext_lazy("Its title"), max_length=200)
    url = forms.URLField(
        label=gettext_lazy("Where can people see it?"),
        max_length=500,
        assume_scheme="https",
        help_text=gettext_lazy("The address of the app, page or article."),
    )
    description = forms.CharField(
        label=gettext_lazy("What does it do? (optional)"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    submitter_name = forms.CharField(
        label=gettext_lazy("Your name (optional)"), max_length=200, required=False
    )
    submitter_email = forms.EmailField(
        label=gettext_lazy("Your e-mail (optional)"),
        required=False,
        help_text=gettext_lazy(
            "Only the data team sees it, to ask you a question. It is never shown."
        ),
    )


@require_http_methods(["GET", "POST"])
def submit(request: HttpRequest, slug: str) -> HttpResponse:
    publication = queries.entry(slug)
    if publication is None:
        raise Http404(_("There is no open dataset at this address."))
    form = ReuseForm(request.POST or None)
    if request.method == "POST":
        ok, wait = throttling.allowed(throttling.ReuseThrottle, request)
        if not ok:
            response = errors.error_page(request, 429, minutes=max(1, -(-wait // 60)))
            response["Retry-After"] = str(wait)
            return response
        if form.is_valid():
            try:
                services.submit_reuse(publication, **form.cleaned_data)
            except ValidationError as exc:
                for field, problems in exc.message_dict.items():
                    for problem in problems:
                        form.add_error(field if field in form.fields else None, problem)
            else:
                messages.success(
                    request,
                    _("Thank you! The data team checks it, then it shows on this page."),
                )
                return redirect("opendata:dataset", slug=publication.slug)
    return render(request, "opendata/reuse_form.html", {"publication": publication, "form": form})


@require_GET
def listing(request: HttpRequest) -> HttpResponse:
    """Every shown reuse of every listed dataset, newest first."""
    reuses = (
        Reuse.objects.filter(state=ReuseState.APPROVED, publication__in=queries.listed())
        .select_related("publication", "publication__publisher")
        .order_by("-reviewed_at", "-pk")[:200]
    )
    return render(request, "opendata/reuses.html", {"reuses": reuses})


@staff_required
def review_list(request: HttpRequest) -> HttpResponse:
    """The reuses of the steward's datasets waiting for a check (and the last decided)."""
    mine = queries.managed_by(request.user).values("pk")
    reuses = Reuse.objects.filter(publication__in=mine).select_related("publication")
    return render(
        request,
        "opendata/reuse_review.html",
        {
            "pending": reuses.filter(state=ReuseState.PENDING).order_by("created_at", "pk"),
            "decided": reuses.exclude(state=ReuseState.PENDING).order_by("-reviewed_at")[:30],
        },
    )


@staff_required
@require_POST
def review(request: HttpRequest, pk: int) -> HttpResponse:
    decision = request.POST.get("decision", "")
    if decision not in ("approve", "reject"):
        messages.error(request, _("Choose to show it or not."))
        return redirect("opendata:reuse-review")
    try:
        services.review_reuse(request.user, pk, approve=decision == "approve")
    except PermissionDenied:
        raise Http404 from None
    messages.success(request, _("Saved."))
    return redirect("opendata:reuse-review")
