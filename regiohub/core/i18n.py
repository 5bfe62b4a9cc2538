"""Content in several languages stored as sibling fields: ``name``, ``name_fr``, ``name_en``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language


def localised(obj: Any, field: str) -> str:
    """``obj.<field>_<language>`` for the active language when filled in, else the Dutch
    ``obj.<field>``."""
    language = (get_language() or "nl")[:2]
    if language != "nl":
        value = getattr(obj, f"{field}_{language}", "")
        if value:
            return value
    return getattr(obj, field)
