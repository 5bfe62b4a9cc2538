"""Pages of the core: home, health, and the staff's view of organisations and people."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from regiohub.core import access, health, services
from regiohub.core.auth.decorators import staff_required
from regiohub.core.forms import DepartmentForm, MembershipForm
from regiohub.core.models import Department, Membership, Organisation
from regiohub.core.roles import MANAGE_ORGANISATION


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    municipalities = Organisation.objects.filter(kind="municipality").order_by("name")
    return render(request, "core/home.html", {"municipalities": municipalities})


@never_cache
@require_GET
def health_view(request: HttpRequest) -> JsonResponse:
    report = health.check()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


def health_live_view(request: HttpRequest) -> JsonResponse:
    """For load balancers: can this web process serve (database, cache)? Background work
    is reported by /health/, so a dead worker does not take every replica out of rotation."""
    report = health.check(only=health.WEB_PROBES)
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


@require_GET
def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin's own login is replaced by ours; a logged-in non-administrator is refused
    instead of being sent round in circles."""
    if request.user.is_authenticated:
        raise PermissionDenied
    return redirect_to_login(request.GET.get("next", "/admin/"))


@staff_required
@require_GET
def staff_home(request: HttpRequest) -> HttpResponse:
    organisations = (
        access.scope(Organisation.objects.all(), request.user, via="pk")
        .annotate(department_count=Count("departments", distinct=True))
        .annotate(member_count=Count("memberships__user", distinct=True))
        .order_by("kind", "name")
    )
    return render(request, "core/staff_home.html", {"organisations": organisations})


def _visible_organisation(request: HttpRequest, code: str) -> Organisation:
    """The organisation, or 404 when this user may not see it (no existence leak)."""
    queryset = access.scope(Organisation.objects.all(), request.user, via="pk")
    return get_object_or_404(queryset, code=code)


@staff_required
@require_GET
def organisation_detail(request: HttpRequest, code: str) -> HttpResponse:
    organisation = _visible_organisation(request, code)
    departments = access.scope(
        Department.objects.filter(organisation=organisation), request.user
    ).annotate(member_count=Count("memberships"))
    memberships = access.scope(
        Membership.objects.filter(organisation=organisation), request.user
    ).select_related("user", "department")
    return render(
        request,
        "core/organisation_detail.html",
        {
            "organisation": organisation,
            "departments": departments,
            "memberships": memberships,
            "children": access.scope(organisation.children.all(), request.user, via="pk"),
            "can_manage": access.can(request.user, MANAGE_ORGANISATION, organisation),
        },
    )


@staff_required
@require_GET
def department_detail(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    organisation = _visible_organisation(request, code)
    department = get_object_or_404(
        access.scope(
            Department.objects.filter(organisation=organisation), request.user
        ).prefetch_related(
            Prefetch("memberships", queryset=Membership.objects.select_related("user"))
        ),
        pk=pk,
    )
    return render(
        request,
        "core/department_detail.html",
        {"organisation": organisation, "department": department},
    )


def _manageable(request: HttpRequest, code: str) -> Organisation:
    organisation = _visible_organisation(request, code)
    access.require(request.user, MANAGE_ORGANISATION, organisation)
    return organisation


@staff_required
@require_http_methods(["GET", "POST"])
def department_create(request: HttpRequest, code: str) -> HttpResponse:
    organisation = _manageable(request, code)
    form = DepartmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            department = services.create_department(
                organisation, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request, _("Department “%(name)s” added.") % {"name": department.display_name}
            )
            return redirect("core:organisation", code=organisation.code)
    return render(
        request, "core/department_form.html", {"organisation": organisation, "form": form}
    )


@staff_required
@require_http_methods(["GET", "POST"])
def membership_create(request: HttpRequest, code: str) -> HttpResponse:
    organisation = _manageable(request, code)
    form = MembershipForm(organisation, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.add_member(organisation, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                _("%(person)s is now %(role)s.")
                % {"person": membership.user, "role": membership.get_role_display()},
            )
            return redirect("core:organisation", code=organisation.code)
    return render(
        request, "core/membership_form.html", {"organisation": organisation, "form": form}
    )


class SetPasswordView(auth_views.PasswordResetConfirmView):
    template_name = "core/auth/set_password.html"
    success_url = reverse_lazy("core:login")

    def form_valid(self, form: SetPasswordForm[Any]) -> HttpResponse:
        messages.success(self.request, _("Your password is set. You can log in now."))
        return super().form_valid(form)
