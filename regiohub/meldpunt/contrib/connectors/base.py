"""What a back-office connector does: push a report out, read a status update back."""

from __future__ import annotations

import abc
import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import requests
from django import forms
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy

from regiohub.core import history
from regiohub.core.plugins import secret_fields
from regiohub.meldpunt.workflow import Status

if TYPE_CHECKING:
    from django.http import HttpRequest

    from regiohub.meldpunt.models import ConnectorConfig, Report

DEFAULT_TIMEOUT = 10.0


class ConnectorError(Exception):
    """A push or poll that failed. The message is ours (no response body, no personal
    data): it is stored on the delivery and shown in the admin."""


class Refused(ConnectorError):
    """The back office answered that it will not take what we sent, for a reason that
    trying again does not change (a 4xx with its own words, or settings that cannot
    work). ``reason`` is the back office's text as it gave it (ADR 0036); the delivery
    keeps it and the report page shows it."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        self.reason = reason
        self.status = status
        super().__init__(f"HTTP {status}: {reason}" if status else reason)


class ConnectorAction(history.Actions):
    """History of deliveries (the subject is the :class:`Delivery`)."""

    DELIVERY_REFUSED = "delivery.refused"


class InvalidSignature(Exception):
    """A callback whose signature does not match: answered with 401."""


class BadCallback(Exception):
    """A callback we cannot read (missing fields, unknown status): answered with 400."""


@dataclass(frozen=True)
class StatusUpdate:
    external_id: str
    status: str  # one of workflow.Status
    note: str
    event_id: str


class ConnectorSettings(forms.Form):
    """The settings every connector understands; a connector's ``settings_form`` adds its
    own. Settings are stored as JSON, so the form validates them, it is not filled in
    (the admin names each problem)."""

    timeout = forms.FloatField(
        label=gettext_lazy("Timeout (seconds)"),
        required=False,
        min_value=0.1,
        max_value=120,
        help_text=gettext_lazy("Leave empty for 10 seconds."),
    )
    include_contact = forms.BooleanField(
        label=gettext_lazy("Include contact details"),
        required=False,
        help_text=gettext_lazy("Only of reporters who consented."),
    )
    status_map = forms.JSONField(
        label=gettext_lazy("Status map"),
        required=False,
        help_text=gettext_lazy('Their status -> regiohub\'s, e.g. {"done": "resolved"}.'),
    )

    def clean_status_map(self) -> dict[str, str]:
        value = self.cleaned_data.get("status_map") or {}
        if not isinstance(value, dict):
            raise forms.ValidationError(gettext("Expected an object."), code="invalid")
        unknown = sorted(str(v) for v in value.values() if v not in Status.values)
        if unknown:
            raise forms.ValidationError(
                gettext("Unknown statuses: %(statuses)s.") % {"statuses": ", ".join(unknown)},
                code="unknown_status",
            )
        return value


class Connector(abc.ABC):
    """One back-office tool. Subclasses register themselves with ``registry.register``."""

    #: Registry key, stored in ``ConnectorConfig.connector``.
    name: ClassVar[str] = ""
    #: Shown to administrators (``gettext_lazy``).
    label: ClassVar[str | Promise] = ""
    #: Validates the settings dict (a :class:`ConnectorSettings`); the admin lists it.
    settings_form: ClassVar[type[forms.Form] | None] = None
    #: Settings stored sealed (``core.secrets``): opened only here, to talk to the tool.
    #: Unless a subclass sets it, the ``PasswordInput`` fields of its ``settings_form``.
    secret_settings: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "secret_settings" not in cls.__dict__ and cls.settings_form is not None:
            cls.secret_settings = secret_fields(cls.settings_form)

    def __init__(self, config: ConnectorConfig) -> None:
        from regiohub.core.secrets import unseal_fields

        self.config = config
        self.settings: dict[str, Any] = unseal_fields(config.settings or {}, self.secret_settings)

    @property
    def timeout(self) -> float:
        return float(self.settings.get("timeout", DEFAULT_TIMEOUT))

    @abc.abstractmethod
    def push(self, report: Report, *, event_id: str) -> str:
        """Send ``report`` to the back office; return its id there."""

    @abc.abstractmethod
    def parse_callback(self, request: HttpRequest) -> StatusUpdate:
        """Read and verify an inbound status callback."""

    def fetch_status(self, external_id: str) -> StatusUpdate | None:
        """Ask the back office for the status (connectors that are polled)."""
        return None

    @classmethod
    def subscribe(cls) -> None:
        """Connect what the connector listens to besides the routing events (called once,
        from ``MeldpuntConfig.ready()``): most connectors need nothing."""
        return None


def sign(secret: str, body: bytes) -> str:
    """The value of ``X-Regiohub-Signature`` for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    return bool(secret) and hmac.compare_digest(sign(secret, body), signature or "")


def http_json(method: str, url: str, *, timeout: float, **kwargs: Any) -> dict[str, Any]:
    """Call a back office and return its JSON object. Every failure becomes a
    :class:`ConnectorError` naming only the kind of failure (bodies may hold personal data)."""
    try:
        response = requests.request(method, url, timeout=timeout, **kwargs)
    except requests.Timeout:
        raise ConnectorError(f"timeout after {timeout:g}s") from None
    except requests.RequestException as exc:
        raise ConnectorError(f"connection failed ({type(exc).__name__})") from None
    if response.status_code in (401, 403):
        raise ConnectorError(f"HTTP {response.status_code}: check the credentials")
    if response.status_code >= 400:
        raise ConnectorError(f"HTTP {response.status_code}")
    try:
        answer = response.json() if response.content else {}
    except ValueError:
        raise ConnectorError(f"HTTP {response.status_code}: the answer is not JSON") from None
    return answer if isinstance(answer, dict) else {}
