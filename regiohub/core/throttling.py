"""Limits on what an anonymous visitor can make the platform do, counted per client
address in the shared cache with Django REST framework's throttle (it knows the trusted
proxy count, ``NUM_PROXIES``). Each module declares its own limits as subclasses."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class PublicThrottle(SimpleRateThrottle):
    """Counted per client address; the rate is the setting named by ``setting``."""

    setting = ""

    def get_rate(self) -> str:
        return getattr(settings, self.setting)

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def allowed(throttle_class: type[PublicThrottle], request: Any) -> tuple[bool, int]:
    """(allowed, seconds to wait) for one more request from this client."""
    throttle = throttle_class()
    # No DRF view here: these limits guard plain Django views, and the throttle only
    # hands the view on to get_cache_key, which does not read it.
    if throttle.allow_request(request, None):  # type: ignore[arg-type]
        return True, 0
    return False, int(throttle.wait() or 60)
