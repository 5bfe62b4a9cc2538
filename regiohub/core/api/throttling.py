"""API request limits: anonymous callers per address, logged-in users per account.

Django REST framework's ``UserRateThrottle`` also counts anonymous callers (by address),
so with both classes on, every anonymous request was counted, and written to the cache,
twice; here each request is counted once, under the limit that applies to it.

The counters live in the ``throttle`` cache (``REGIOHUB_API_RATE_STORE``), not in the
database cache: by default in each server process's memory, so that reading open data
costs no database write (docs/decisions/0026-fast-open-reads.md)."""

from __future__ import annotations

from typing import Any, cast

from django.core.cache import BaseCache, caches
from django.utils.connection import ConnectionProxy
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

#: The store of the API's counters (settings.CACHES["throttle"]), looked up when used.
rate_store = cast(BaseCache, ConnectionProxy(caches, "throttle"))


class AnonymousRateThrottle(AnonRateThrottle):
    """``REGIOHUB_API_ANON_RATE`` per client address, for callers without a login."""

    cache = rate_store


class AccountRateThrottle(UserRateThrottle):
    """``REGIOHUB_API_USER_RATE`` per account; anonymous callers are left to the above."""

    cache = rate_store

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)
