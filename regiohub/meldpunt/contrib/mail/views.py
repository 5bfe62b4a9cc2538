"""The inbound-mail webhook and the agents' list of mails to take in."""

from __future__ import annotations

import hmac
from typing import Any

import structlog
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from regiohub.core import access
from regiohub.core.auth.decorators import staff_required
from regiohub.core.models import Organisation
from regiohub.meldpunt.contrib.mail.intake import receive, receive_unreadable
from regiohub.meldpunt.models import InboundMail, InboundMailState
from regiohub.meldpunt.permissions import TAKE_REPORTS

MAX_MAIL_BYTES = 25 * 1024 * 1024
log = structlog.get_logger(__name__)


@csrf_exempt  # a mail service posts here with the shared secret, not a session
@require_POST
def inbound(request: HttpRequest) -> JsonResponse:
    secret = settings.MELDPUNT_INBOUND_MAIL_SECRET
    if not secret:
        raise Http404  # e-mail intake is switched off
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), secret.encode()):
        return JsonResponse({"error": "invalid secret"}, status=401)
    if request.content_type == "message/rfc822":
        raw = request.body
    else:
        raw = (request.POST.get("body-mime") or request.POST.get("email") or "").encode()
    if not raw or len(raw) > MAX_MAIL_BYTES:
        return JsonResponse({"error": "no mail or too large"}, status=400)
    try:
        mail = receive(raw)
    except ValidationError as error:
        return JsonResponse({"error": " ".join(error.messages)}, status=400)
    except Exception:
        # A mail service retries a 500 and then drops the mail: keep it for an agent.
        log.exception("inbound mail could not be read; kept as received")
        mail = receive_unreadable(raw)
    return JsonResponse({"id": mail.pk, "state": mail.state, "note": mail.intake_note or None})


def refused(request: HttpRequest, problem: Any) -> JsonResponse:
    """Input the platform refuses before any view (``core.middleware.BadInputMiddleware``),
    in the webhooks' error format."""
    return JsonResponse({"error": problem.message()}, status=400)


def may_take_in_mail(user) -> bool:
    """The mailbox belongs to the regional contact point: its agents (take reports in the
    region's top organisation) handle it."""
    if user.is_superuser:
        return True
    roots = Organisation.objects.filter(parent__isnull=True).values_list("pk", flat=True)
    return any(access.can(user, TAKE_REPORTS, pk) for pk in roots)


def _require(request: HttpRequest) -> None:
    if not may_take_in_mail(request.user):
        raise PermissionDenied


@staff_required
@require_GET
def mailbox(request: HttpRequest) -> HttpResponse:
    _require(request)
    mails = InboundMail.objects.filter(state=InboundMailState.NEW).prefetch_related("attachments")[
        :200
    ]
    return render(request, "meldpunt/staff/mailbox.html", {"mails": mails})


@staff_required
@require_GET
def original(request: HttpRequest, pk: int) -> FileResponse:
    """The message as received, for a mail intake could not read fully."""
    _require(request)
    mail = get_object_or_404(InboundMail, pk=pk)
    if not mail.original:
        raise Http404
    return FileResponse(
        mail.original.open("rb"),
        as_attachment=True,
        filename=f"mail-{mail.pk}.eml",
        content_type="message/rfc822",
    )


@staff_required
@require_POST
def discard(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request)
    mail = get_object_or_404(InboundMail, pk=pk, state=InboundMailState.NEW)
    mail.state = InboundMailState.DISCARDED
    mail.save(update_fields=["state"])
    messages.success(request, _("Mail set aside."))
    return redirect("meldpunt:mailbox")
