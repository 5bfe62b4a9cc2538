"""API request limits: anonymous callers per address, logged-in users per account.

Django REST framework's ``UserRateThrottle`` also counts anonymous callers (by address),
so with both classes on, every anonymous request was counted, and written to the cache,
twice; here each request is counted once, under the limit that applies to it."""

from __future__ import annotations

from typing import Any

from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class AnonymousRateThrottle(AnonRateThrottle):
    """``REGIOHUB_API_ANON_RATE`` per client address, for callers without a login."""


class AccountRateThrottle(UserRateThrottle):
    """``REGIOHUB_API_USER_RATE`` per account; anonymous callers are left to the above."""

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)
