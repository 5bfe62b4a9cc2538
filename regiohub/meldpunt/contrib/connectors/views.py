"""Inbound status callbacks from back offices."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from regiohub.meldpunt import throttling
from regiohub.meldpunt.contrib.connectors.base import BadCallback, InvalidSignature
from regiohub.meldpunt.contrib.connectors.registry import connector_for
from regiohub.meldpunt.contrib.connectors.services import Outcome, apply_update
from regiohub.meldpunt.models import ConnectorConfig

MAX_BODY = 64 * 1024
HTTP_STATUS = {
    Outcome.APPLIED: 200,
    Outcome.DUPLICATE: 200,  # already applied: nothing changes, the sender may stop
    Outcome.NOT_FOUND: 404,
    Outcome.REFUSED: 409,  # the workflow does not allow it; recorded on the delivery
}


@csrf_exempt  # authenticated by the HMAC signature instead
@require_POST
def callback(request: HttpRequest, pk: int) -> JsonResponse:
    config = get_object_or_404(ConnectorConfig, pk=pk, is_active=True)
    ok, wait = throttling.callback_allowed(config.pk)
    if not ok:
        response = JsonResponse({"error": "too many requests"}, status=429)
        response["Retry-After"] = str(wait)
        return response
    if len(request.body) > MAX_BODY:
        return JsonResponse({"error": "body too large"}, status=413)
    try:
        update = connector_for(config).parse_callback(request)
    except InvalidSignature:
        return JsonResponse({"error": "invalid signature"}, status=401)
    except BadCallback as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    outcome = apply_update(config, update)
    return JsonResponse({"result": outcome.value}, status=HTTP_STATUS[outcome])
