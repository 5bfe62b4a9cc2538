"""What a back-office connector does: push a report out, read a status update back."""

from __future__ import annotations

import abc
import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from django.http import HttpRequest

    from regiohub.meldpunt.models import ConnectorConfig, Report

DEFAULT_TIMEOUT = 10.0


class ConnectorError(Exception):
    """A push or poll that failed. The message is ours (no response body, no personal
    data): it is stored on the delivery and shown in the admin."""


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


class Connector(abc.ABC):
    """One back-office tool. Subclasses register themselves with ``registry.register``."""

    name: str = ""
    #: Settings stored sealed (``core.secrets``): opened only here, to talk to the tool.
    secret_settings: tuple[str, ...] = ()

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
