"""The TOPdesk connector, speaking TOPdesk's REST API as an operator.

Push: ``POST {url}/tpapi/incidents`` (basic auth: operator login name + application
password); the answer's ``id`` is kept, its ``number`` logged. Status:
``GET {url}/tpapi/incidents/id/{id}``: ``closed`` or ``processingStatus.name`` mapped to
our statuses by ``status_map``. TOPdesk does not call back: see :func:`tasks.poll_topdesk`.
"""

from __future__ import annotations

from typing import Any

import structlog
from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from regiohub.meldpunt.contrib.connectors.base import (
    BadCallback,
    Connector,
    ConnectorError,
    ConnectorSettings,
    StatusUpdate,
    http_json,
)
from regiohub.meldpunt.contrib.connectors.registry import register
from regiohub.meldpunt.models import Report
from regiohub.meldpunt.workflow import Status

log = structlog.get_logger(__name__)

#: TOPdesk processing statuses (names are set per installation) -> ours.
DEFAULT_STATUS_MAP = {
    "Geregistreerd": Status.ACKNOWLEDGED,
    "In behandeling": Status.IN_PROGRESS,
    "Wachten op gebruiker": Status.ON_HOLD,
    "Afgemeld": Status.RESOLVED,
}


class TopdeskSettings(ConnectorSettings):
    url = forms.URLField(
        label=gettext_lazy("TOPdesk address"),
        assume_scheme="https",
        help_text=gettext_lazy("e.g. https://gemeente.topdesk.net"),
    )
    username = forms.CharField(label=gettext_lazy("Operator login name"), max_length=200)
    application_password = forms.CharField(
        label=gettext_lazy("Application password"),
        widget=forms.PasswordInput,
        help_text=gettext_lazy("Made by the operator in TOPdesk (not their own password)."),
    )
    call_type = forms.CharField(label=gettext_lazy("Call type"), required=False)
    category = forms.CharField(label=gettext_lazy("Category"), required=False)
    caller_name = forms.CharField(
        label=gettext_lazy("Caller name"),
        required=False,
        help_text=gettext_lazy('Leave empty for "regiohub".'),
    )


@register
class TopdeskConnector(Connector):
    """Settings: ``url`` (https://gemeente.topdesk.net), ``username`` (operator login),
    ``application_password``, optional ``call_type``, ``category``, ``caller_name``,
    ``include_contact``, ``status_map``, ``timeout``."""

    name = "topdesk"
    label = gettext_lazy("TOPdesk")
    settings_form = TopdeskSettings  # the secret: ``application_password``

    @property
    def _auth(self) -> tuple[str, str]:
        return (self.settings.get("username", ""), self.settings.get("application_password", ""))

    def _url(self, path: str) -> str:
        return self.settings["url"].rstrip("/") + path

    def incident(self, report: Report) -> dict[str, Any]:
        location = report.address or f"{report.latitude:.6f}, {report.longitude:.6f}"
        body: dict[str, Any] = {
            "briefDescription": f"{report.reference} {report.category.display_name}"[:80],
            "request": f"{report.description}<br><br>{location}",
            "externalNumber": report.reference,
            "caller": {"dynamicName": self.settings.get("caller_name", "regiohub")},
        }
        if self.settings.get("call_type"):
            body["callType"] = {"name": self.settings["call_type"]}
        if self.settings.get("category"):
            body["category"] = {"name": self.settings["category"]}
        if self.settings.get("include_contact") and report.consent_at and not report.anonymised_at:
            body["caller"] = {
                "dynamicName": report.reporter_name or report.reporter_email,
                "email": report.reporter_email,
                "phoneNumber": report.reporter_phone,
            }
        return body

    def push(self, report: Report, *, event_id: str) -> str:
        answer = http_json(
            "POST",
            self._url("/tpapi/incidents"),
            json=self.incident(report),
            auth=self._auth,
            timeout=self.timeout,
        )
        if not answer.get("id"):
            raise ConnectorError("TOPdesk answered without an incident id")
        log.info("topdesk incident created", number=answer.get("number"))
        return str(answer["id"])

    def parse_callback(self, request: HttpRequest) -> StatusUpdate:
        raise BadCallback("TOPdesk is polled; it has no callback")

    def fetch_status(self, external_id: str) -> StatusUpdate | None:
        data = http_json(
            "GET",
            self._url(f"/tpapi/incidents/id/{external_id}"),
            auth=self._auth,
            timeout=self.timeout,
        )
        mapping = {**DEFAULT_STATUS_MAP, **self.settings.get("status_map", {})}
        name = (data.get("processingStatus") or {}).get("name", "")
        status = Status.RESOLVED if data.get("closed") else mapping.get(name)
        if status is None:
            return None
        version = data.get("modificationDate") or f"{name}:{data.get('closed')}"
        return StatusUpdate(
            external_id=external_id,
            status=str(status),
            note="",
            event_id=f"topdesk:{external_id}:{version}",
        )
