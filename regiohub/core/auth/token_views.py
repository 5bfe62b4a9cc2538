"""Pages of a person's API tokens, and the administrators' view of their people's tokens."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from regiohub.core import access, api_tokens
from regiohub.core.auth.decorators import staff_required
from regiohub.core.auth.token_forms import TokenForm
from regiohub.core.models import ApiToken
from regiohub.core.roles import MANAGE_ORGANISATION


def _manages_people(request: HttpRequest) -> bool:
    return bool(access.organisation_ids(request.user, MANAGE_ORGANISATION))


@staff_required
@require_GET
def token_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "core/api_tokens/list.html",
        {
            "tokens": api_tokens.tokens_of(request.user),
            "manages_people": _manages_people(request),
        },
    )


@never_cache
@staff_required
@require_http_methods(["GET", "POST"])
def token_create(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = api_tokens.create_token(
                request.user,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                organisations=form.chosen_organisations(),
                expires_in_days=form.cleaned_data["expires_in_days"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            # Shown on this answer only (never stored, never in a redirect): never_cache
            # keeps it out of the browser's cache too.
            return render(
                request,
                "core/api_tokens/created.html",
                {"token": created.token, "secret": created.secret},
            )
    return render(request, "core/api_tokens/form.html", {"form": form})


@staff_required
@require_http_methods(["GET", "POST"])
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask, then revoke: for the token's owner and their administrators (404 for others)."""
    token = get_object_or_404(ApiToken.objects.select_related("user"), pk=pk)
    if not api_tokens.may_revoke(request.user, token):
        raise Http404
    own = token.user_id == request.user.pk
    back = "core:api-tokens" if own else "core:api-tokens-staff"
    if request.method == "POST":
        try:
            api_tokens.revoke_token(token, request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _("The token “%(name)s” is revoked: it opens nothing any more.")
                % {"name": token.name},
            )
        return redirect(back)
    return render(
        request, "core/api_tokens/revoke.html", {"token": token, "own": own, "back": back}
    )


@staff_required
@require_GET
def staff_token_list(request: HttpRequest) -> HttpResponse:
    """The tokens of the people in the organisations the administrator manages: who made
    which, what it may do, and how it is used."""
    if not _manages_people(request):
        raise PermissionDenied
    tokens = api_tokens.managed_tokens(request.user).order_by("user__full_name", "-created_at")
    return render(request, "core/api_tokens/staff_list.html", {"tokens": tokens})
