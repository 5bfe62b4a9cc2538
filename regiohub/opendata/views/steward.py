"""A data steward's pages: their organisation's open datasets on the portal, what each still
lacks for DCAT-AP Vlaanderen, the description only the portal holds, publish and withdraw."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from regiohub.core.auth.decorators import staff_required
from regiohub.core.models import Organisation
from regiohub.opendata import queries, services
from regiohub.opendata.models import Frequency, Publication


class DescribeForm(forms.Form):
    keywords = forms.CharField(
        label=gettext_lazy("Keywords"),
        max_length=2000,
        required=False,
        help_text=gettext_lazy("Separated by commas, e.g. verkeer, fietsers, tellingen."),
    )
    contact_name = forms.CharField(
        label=pgettext_lazy("a service people can ask about a dataset", "Contact point"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("A service, not a person: e.g. Dienst Mobiliteit."),
    )
    contact_email = forms.EmailField(
        label=gettext_lazy("Contact e-mail"),
        required=False,
        help_text=gettext_lazy("A shared mailbox, e.g. mobiliteit@kortrijk.be."),
    )
    frequency = forms.ChoiceField(label=gettext_lazy("Updated"), choices=Frequency.choices)
    places = forms.MultipleChoiceField(
        label=gettext_lazy("Municipalities the data is about"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["places"].choices = list(
            Organisation.objects.exclude(nis_code=None)
            .order_by("name")
            .values_list("nis_code", "name")
        )

    def clean_keywords(self) -> list[str]:
        text = self.cleaned_data.get("keywords", "")
        return [k.strip() for k in text.split(",") if k.strip()]


@staff_required
def manage(request: HttpRequest) -> HttpResponse:
    """The open datasets of the steward's organisations: published or not, and what is
    missing before they can be."""
    rows = [
        {"publication": p, "missing": services.missing_metadata(p)}
        for p in queries.managed_by(request.user).order_by("title", "pk")
    ]
    return render(request, "opendata/manage.html", {"rows": rows})


def _managed(request: HttpRequest, slug: str) -> Publication:
    publication = queries.managed_by(request.user).filter(slug=slug).first()
    if publication is None:
        raise Http404(_("You do not publish this dataset."))
    return publication


@staff_required
@require_http_methods(["GET", "POST"])
def describe(request: HttpRequest, slug: str) -> HttpResponse:
    publication = _managed(request, slug)
    initial = {
        "keywords": ", ".join(publication.keywords),
        "contact_name": publication.contact_name,
        "contact_email": publication.contact_email,
        "frequency": publication.frequency,
        "places": publication.places,
    }
    form = DescribeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.describe(request.user, slug, **form.cleaned_data)
        except PermissionDenied:
            raise Http404 from None
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, _("The description is saved."))
            return redirect("opendata:describe", slug=slug)
    return render(
        request,
        "opendata/describe.html",
        {
            "publication": publication,
            "form": form,
            "missing": services.missing_metadata(publication),
        },
    )


@staff_required
@require_POST
def publish(request: HttpRequest, slug: str) -> HttpResponse:
    _managed(request, slug)
    try:
        services.publish(request.user, slug)
    except PermissionDenied:
        raise Http404 from None
    except ValidationError:
        messages.error(request, _("Fill in what is missing first."))
    else:
        messages.success(request, _("The dataset is on the portal."))
    return redirect("opendata:describe", slug=slug)


@staff_required
@require_POST
def withdraw(request: HttpRequest, slug: str) -> HttpResponse:
    _managed(request, slug)
    try:
        services.withdraw(request.user, slug, request.POST.get("reason", ""))
    except PermissionDenied:
        raise Http404 from None
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The dataset left the portal; its data stays."))
    return redirect("opendata:describe", slug=slug)


@staff_required
def usage_page(request: HttpRequest, slug: str) -> HttpResponse:
    """How much a dataset is used: page views, downloads (per format and version) and API
    calls, per month for the last year (written every few seconds, see ``core.usage``)."""
    from collections import defaultdict
    from datetime import timedelta

    from django.utils import timezone

    from regiohub.core import usage
    from regiohub.opendata.views.catalogue import usage_subject

    publication = _managed(request, slug)
    since = (timezone.localdate() - timedelta(days=365)).replace(day=1)
    found = usage.figures([usage_subject(publication)], since=since)
    months: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    formats: dict[str, int] = defaultdict(int)
    versions: dict[str, int] = defaultdict(int)
    for figure in found:
        month = figure.day.strftime("%Y-%m")
        months[month][figure.kind] += figure.count
        if figure.kind == "download":
            fmt, _sep, version = figure.detail.partition(":")
            formats[fmt.upper() or "?"] += figure.count
            if version:
                versions[version.lstrip("v")] += figure.count
    return render(
        request,
        "opendata/usage.html",
        {
            "publication": publication,
            "months": [
                (month, row.get("view", 0), row.get("download", 0), row.get("api", 0))
                for month, row in sorted(months.items(), reverse=True)
            ],
            "formats": sorted(formats.items(), key=lambda item: -item[1]),
            "versions": sorted(versions.items(), key=lambda item: -int(item[0] or 0)),
        },
    )
