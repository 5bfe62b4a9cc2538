"""The external body's page for one hand-over: a private link, no account (ADR 0038).

The body reads the report and answers once: acknowledged, not ours (with the reason) or
solved (with a message for the reporter). Like the reporter's follow-up page (ADR 0010),
the token is only stored as a hash, a wrong, tampered or expired one is a 404, and the
page is kept out of caches and search engines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from regiohub.meldpunt.models import Handover, HandoverState
from regiohub.meldpunt.services import handoff
from regiohub.meldpunt.views.public import _private, apply_service_errors


def _textarea(rows: int) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, "maxlength": handoff.MAX_ANSWER})


class AcknowledgeForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("A note for the municipality"),
        required=False,
        widget=_textarea(2),
        help_text=gettext_lazy("For example when you plan to handle it."),
        max_length=handoff.MAX_ANSWER,
    )


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why is this not yours to handle?"),
        widget=_textarea(3),
        help_text=gettext_lazy(
            "If you know who should handle it, say so: the municipality decides again."
        ),
        max_length=handoff.MAX_ANSWER,
    )


class ResolveForm(forms.Form):
    message = forms.CharField(
        label=gettext_lazy("Message to the reporter"),
        widget=_textarea(4),
        help_text=gettext_lazy(
            "The reporter gets it by e-mail and on their follow-up page. Write as in "
            "public: no names or contact details."
        ),
        max_length=handoff.MAX_ANSWER,
    )


#: action -> (form, service call, what the body is told when it worked)
ACTIONS: dict[str, tuple[type[forms.Form], Callable[..., handoff.Outcome], Any]] = {
    "acknowledge": (
        AcknowledgeForm,
        lambda handover, data, label: handoff.acknowledge(
            handover, note=data["note"], actor_label=label
        ),
        gettext_lazy("Thank you: the municipality knows you have the report."),
    ),
    "reject": (
        RejectForm,
        lambda handover, data, label: handoff.reject(handover, data["reason"], actor_label=label),
        gettext_lazy("Thank you: the report went back to the municipality."),
    ),
    "resolve": (
        ResolveForm,
        lambda handover, data, label: handoff.resolve(handover, data["message"], actor_label=label),
        gettext_lazy("Thank you: the report is resolved and the reporter gets your message."),
    ),
}


class _LinkGone(Exception):
    """The link opens no hand-over: wrong, cut off, tampered or expired (never which)."""


def _handover_or_gone(token: str) -> Handover:
    handover = handoff.handover_for_token(token)
    if handover is None:
        raise _LinkGone
    return handover


def _gone(request: HttpRequest) -> HttpResponse:
    """A 404 that tells the body what to do, rather than "check the address": a link from
    our mail that stopped working is most often one that expired after the answer."""
    context = {"gone": True, "link_days": settings.MELDPUNT_HANDOFF_LINK_DAYS}
    return _private(render(request, "meldpunt/handoff.html", context, status=404))


def _page(
    request: HttpRequest,
    handover: Handover,
    *,
    bound: dict[str, forms.Form] | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    report = handover.report
    answerable = handover.is_active and report.status == "forwarded"
    context = {
        "handover": handover,
        "report": report,
        "body": handover.to_external_body,
        "answerable": answerable,
        "can_acknowledge": answerable and handover.state == HandoverState.SENT,
        "show_contact": bool(report.consent_at and report.reporter_email),
        "map_url": f"https://www.openstreetmap.org/?mlat={report.latitude:.6f}"
        f"&mlon={report.longitude:.6f}#map=18/{report.latitude:.6f}/{report.longitude:.6f}",
        "error": error,
        **{
            f"{action}_form": (bound or {}).get(action) or form_class(prefix=action)
            for action, (form_class, _act, _done) in ACTIONS.items()
        },
    }
    return _private(render(request, "meldpunt/handoff.html", context, status=status))


@never_cache
@require_http_methods(["GET", "POST"])
def handoff_page(request: HttpRequest, token: str) -> HttpResponse:
    """Show the hand-over; a POST answers it (one of :data:`ACTIONS`) and comes back here."""
    try:
        return _answer(request, token)
    except _LinkGone:
        return _gone(request)


def _answer(request: HttpRequest, token: str) -> HttpResponse:
    handover = _handover_or_gone(token)
    if request.method == "GET":
        return _page(request, handover)
    # No rate per address: a body's office answers many hand-overs from one address, and a
    # link can mail its reporter at most twice (acknowledged, then the final answer).
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        return _page(
            request, handover, error=_("Choose one of the answers on this page."), status=400
        )
    form_class, act, done = ACTIONS[action]
    form = form_class(request.POST, prefix=action)
    if not form.is_valid():
        return _page(request, handover, bound={action: form}, status=400)
    try:
        outcome = act(handover, form.cleaned_data, handoff.body_of(handover).name)
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return _page(request, handover, bound={action: form}, status=400)
    except handoff.HandoffClosed as exc:
        return _page(request, _handover_or_gone(token), error=str(exc), status=409)
    if outcome.changed:
        messages.success(request, str(done))
    else:
        messages.info(request, _("We already had this answer; nothing changed."))
    return redirect("meldpunt:handoff", token)
