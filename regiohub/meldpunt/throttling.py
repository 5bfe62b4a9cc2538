"""Limits on what an anonymous visitor can make the contact point do: file reports (each
one mails an acknowledgement to any address typed in) and post on a follow-up page (each
answer mails the handler). Counted per client address in the shared cache, with Django
REST framework's throttle (it knows the trusted proxy count, ``NUM_PROXIES``)."""

from __future__ import annotations

from typing import Any

from regiohub.core.throttling import PublicThrottle, allowed  # noqa: F401 - views use allowed


class ReportFormThrottle(PublicThrottle):
    scope = "meldpunt_form"
    setting = "MELDPUNT_FORM_RATE"


class NearbyThrottle(PublicThrottle):
    scope = "meldpunt_nearby"
    setting = "MELDPUNT_NEARBY_RATE"


class PlaceThrottle(PublicThrottle):
    """Address suggestions, street look-ups and photo positions from the report form."""

    scope = "meldpunt_place"
    setting = "MELDPUNT_PLACE_RATE"


class FollowUpThrottle(PublicThrottle):
    scope = "meldpunt_followup"
    setting = "MELDPUNT_FOLLOWUP_RATE"


class Open311ReadThrottle(PublicThrottle):
    """Open311 reads (services, requests, one request), counted per client address: no key
    is needed to read, so the address is all there is."""

    scope = "meldpunt_open311_read"
    setting = "MELDPUNT_OPEN311_READ_RATE"


class Open311ClientThrottle(PublicThrottle):
    """Reports one Open311 API client may file, counted per client (not per address: an
    app's users come from everywhere)."""

    scope = "meldpunt_open311"
    setting = "MELDPUNT_OPEN311_RATE"

    def __init__(self, client_id: int) -> None:
        super().__init__()
        self.client_id = client_id

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.client_id}


def client_allowed(client_id: int) -> tuple[bool, int]:
    throttle = Open311ClientThrottle(client_id)
    if throttle.allow_request(None, None):
        return True, 0
    return False, int(throttle.wait() or 60)


class ConnectorCallbackThrottle(Open311ClientThrottle):
    """Status callbacks one back-office connector may send (counted per connector, signed
    or not: a flood of forged callbacks cannot make the contact point verify forever)."""

    scope = "meldpunt_callback"
    setting = "MELDPUNT_CALLBACK_RATE"


def callback_allowed(config_id: int) -> tuple[bool, int]:
    throttle = ConnectorCallbackThrottle(config_id)
    if throttle.allow_request(None, None):
        return True, 0
    return False, int(throttle.wait() or 60)
