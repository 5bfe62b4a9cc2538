"""System checks of the core (``regiohub check``)."""

from __future__ import annotations

from typing import Any

from django.core.checks import Warning as CheckWarning

from regiohub import conf


def deprecated_variables(app_configs: Any = None, **kwargs: Any) -> list[CheckWarning]:
    """An environment variable set under a name that is going away."""
    return [
        CheckWarning(
            f"{old} is deprecated and will no longer be read in the next release.",
            hint=f"Set {new} instead (docs/configuration.md).",
            id="regiohub.W001",
        )
        for old, new in conf.DEPRECATED_USED
    ]
