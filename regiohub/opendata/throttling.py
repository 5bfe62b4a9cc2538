"""Limits on what an anonymous visitor can make the portal do: tell it about a reuse
(each one lands on a steward's list). Counted per client address in the shared cache."""

from __future__ import annotations

from regiohub.core.throttling import PublicThrottle, allowed  # noqa: F401 - views use allowed


class ReuseThrottle(PublicThrottle):
    scope = "opendata_reuse"
    setting = "OPENDATA_REUSE_RATE"
