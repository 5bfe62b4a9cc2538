"""Every configuration knob, read from the environment through one typed helper.

Each call to :func:`config` registers the variable with its default and help text, so
``docs/configuration.md`` can be checked against the code (see ``core/tests/test_docs.py``).
Only ``settings.py`` calls it; modules read ``django.conf.settings`` at run time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Variable:
    name: str
    default: Any
    help_text: str


REGISTRY: dict[str, Variable] = {}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _to_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"expected one of {sorted(_TRUE | _FALSE)}, got {raw!r}")


def _to_list(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def _to_dict(raw: str) -> dict[str, Any]:
    value = json.loads(raw) if raw.strip() else {}
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value


CASTS: dict[type, Callable[[str], Any]] = {bool: _to_bool, list: _to_list, dict: _to_dict}


class ConfigurationError(Exception):
    """An environment variable holds a value that cannot be used."""


def config(name: str, default: T, *, help_text: str, cast: type | None = None) -> T:
    """Return environment variable ``name`` converted to the type of ``default``.

    ``cast`` is needed only when the default is ``None``.
    """
    REGISTRY[name] = Variable(name, default, help_text)
    raw = os.environ.get(name)  # noqa: TID251 - this is the one place allowed to
    if raw is None:
        return default
    kind = cast or type(default)
    converter = CASTS.get(kind, kind)
    try:
        return converter(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{name}={raw!r} is not a valid {kind.__name__}: {exc}") from exc
