"""The webhook connector: POST a report as signed JSON; accept signed status callbacks.

Both directions carry ``X-Regiohub-Signature: sha256=<hex HMAC-SHA256 of the body>`` made
with the configuration's shared ``secret``, and ``X-Regiohub-Event-Id``.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from regiohub.meldpunt.contrib.connectors.base import (
    BadCallback,
    Connector,
    ConnectorError,
    ConnectorSettings,
    InvalidSignature,
    StatusUpdate,
    http_json,
    sign,
    verify,
)
from regiohub.meldpunt.contrib.connectors.registry import register
from regiohub.meldpunt.models import Report
from regiohub.meldpunt.workflow import Status

SIGNATURE_HEADER = "X-Regiohub-Signature"
EVENT_HEADER = "X-Regiohub-Event-Id"


def payload(report: Report, *, include_contact: bool = False) -> dict[str, Any]:
    """What the back office gets: no personal data unless the reporter consented and the
    configuration asks for it."""
    data: dict[str, Any] = {
        "reference": report.reference,
        "category": report.category.code,
        "municipality_nis": report.organisation.nis_code,
        "description": report.description,
        "latitude": report.latitude,
        "longitude": report.longitude,
        "address": report.address,
        "status": report.status,
        "created_at": report.created_at.isoformat(),
    }
    if include_contact and report.consent_at and not report.anonymised_at:
        data["reporter"] = {
            "name": report.reporter_name,
            "email": report.reporter_email,
            "phone": report.reporter_phone,
        }
    return data


class WebhookSettings(ConnectorSettings):
    url = forms.URLField(
        label=gettext_lazy("URL"),
        assume_scheme="https",
        help_text=gettext_lazy("Where reports are POSTed."),
    )
    secret = forms.CharField(
        label=gettext_lazy("Shared secret"),
        widget=forms.PasswordInput,
        help_text=gettext_lazy("Signs both directions (HMAC-SHA256)."),
    )


@register
class WebhookConnector(Connector):
    """Settings: ``url``, ``secret``, optional ``timeout`` (s), ``include_contact``
    (bool) and ``status_map`` (their status -> ours; ours are accepted as they are)."""

    name = "webhook"
    label = gettext_lazy("Webhook (signed JSON)")
    settings_form = WebhookSettings  # the secret: ``secret``

    def push(self, report: Report, *, event_id: str) -> str:
        if not self.settings.get("secret") or not self.settings.get("url"):
            raise ConnectorError("the settings need a url and a secret")
        body = json.dumps(
            payload(report, include_contact=bool(self.settings.get("include_contact"))),
            sort_keys=True,
        ).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self.settings.get("secret", ""), body),
            EVENT_HEADER: event_id,
        }
        answer = http_json(
            "POST", self.settings["url"], data=body, headers=headers, timeout=self.timeout
        )
        return str(answer.get("id") or report.reference)

    def parse_callback(self, request: HttpRequest) -> StatusUpdate:
        """Body: ``{"external_id": ..., "status": ..., "note": ...}``; the event id comes
        from ``X-Regiohub-Event-Id`` (or ``event_id`` in the body)."""
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not verify(self.settings.get("secret", ""), request.body, signature):
            raise InvalidSignature
        try:
            data = json.loads(request.body)
            external_id = str(data["external_id"])
            their_status = str(data["status"])
        except (ValueError, KeyError, TypeError):
            raise BadCallback("expected JSON with external_id and status") from None
        event_id = request.headers.get(EVENT_HEADER) or str(data.get("event_id") or "")
        if not event_id:
            raise BadCallback(f"missing {EVENT_HEADER}")
        note = str(data.get("note") or "")
        if any("\x00" in value for value in (external_id, their_status, note, event_id)):
            raise BadCallback("NUL characters are not allowed")  # no text column holds them
        status = self.settings.get("status_map", {}).get(their_status, their_status)
        if status not in Status.values:
            raise BadCallback(f"unknown status {their_status[:40]!r}")
        return StatusUpdate(
            external_id=external_id,
            status=status,
            note=note[:2000],
            event_id=event_id[:100],
        )
