"""Figures kept once drawn: in each process (a dict, least recently used out first) and in
the shared cache (``CACHES["default"]``), under a key made of everything the figure
depends on, so nothing has to be invalidated by hand:

- the dashboard and its revision (an edit gives new keys), the chart, the filters, the
  language;
- the data: per dataset its current version and access (a new version changes exactly the
  keys of the charts that read it), for the contact point's live counts the current slot of
  ``DASHBOARDS_LIVE_SECONDS``, for its statistics when they were last counted;
- who looks: "public" for a public dashboard (everyone sees the same figures), else the
  viewer's memberships (two people with the same roles in the same places see the same).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import Any

from django.conf import settings
from django.core.cache import caches

from regiohub.core import access
from regiohub.core.models import Membership

PREFIX = "dashboards:figure:v1:"


class _Local:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        now = time.monotonic()
        found = {}
        with self.lock:
            for key in keys:
                entry = self.entries.get(key)
                if entry is not None and entry[0] > now:
                    self.entries.move_to_end(key)
                    found[key] = entry[1]
        return found

    def set(self, key: str, value: Any, seconds: float) -> None:
        limit = int(settings.DASHBOARDS_CACHE_ENTRIES)
        if limit <= 0:
            return
        with self.lock:
            self.entries[key] = (time.monotonic() + seconds, value)
            self.entries.move_to_end(key)
            while len(self.entries) > limit:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


_local = _Local()


def reset() -> None:
    """Forget what this process keeps (tests)."""
    _local.clear()


def key(*parts: Any) -> str:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:40]
    return PREFIX + digest


def viewer_scope(user: Any, *, public: bool) -> str:
    """Who looks, as far as the figures can differ: "public", or the viewer's memberships
    (and an API token's narrowing)."""
    if public:
        return "public"
    if not getattr(user, "is_authenticated", False):
        return "anonymous"
    if user.is_superuser:
        return "superuser"
    roles = sorted(
        Membership.objects.filter(user_id=user.pk).values_list(
            "organisation_id", "department_id", "role"
        ),
        key=repr,
    )
    return f"{roles!r}/{access.token_scope(user)!r}"


def get_many(keys: list[str]) -> dict[str, Any]:
    found = _local.get_many(keys)
    missing = [k for k in keys if k not in found]
    if missing:
        shared = caches["default"].get_many(missing)
        for k, value in shared.items():
            _local.set(k, value, 60.0)
        found.update(shared)
    return found


def put(key_: str, value: Any, seconds: float) -> None:
    _local.set(key_, value, seconds)
    caches["default"].set(key_, value, seconds)
