"""Every configuration knob, read from the environment through one typed helper.

Each call to :func:`config` registers the variable with its default and help text, so
``docs/configuration.md`` can be checked against the code (see ``core/tests/test_docs.py``).
Only ``settings.py`` calls it; modules read ``django.conf.settings`` at run time.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Variable:
    name: str
    default: Any
    help_text: str
    #: Earlier names, still read (with a warning) for one release.
    old_names: tuple[str, ...] = field(default=())


REGISTRY: dict[str, Variable] = {}
#: (old name, new name) of each variable that was set under its earlier name.
DEPRECATED_USED: list[tuple[str, str]] = []

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


def config(
    name: str,
    default: T,
    *,
    help_text: str,
    cast: type | None = None,
    old_names: tuple[str, ...] = (),
) -> T:
    """Return environment variable ``name`` converted to the type of ``default``.

    ``cast`` is needed only when the default is ``None``. ``old_names`` are the variable's
    earlier names: still read when ``name`` is not set, with a warning (at start-up and
    in ``regiohub check``), for one release.
    """
    REGISTRY[name] = Variable(name, default, help_text, tuple(old_names))
    raw = os.environ.get(name)  # noqa: TID251 - this is the one place allowed to
    if raw is None:
        for old in old_names:
            raw = os.environ.get(old)  # noqa: TID251
            if raw is not None:
                DEPRECATED_USED.append((old, name))
                warnings.warn(
                    f"{old} is deprecated: set {name} instead", FutureWarning, stacklevel=2
                )
                name = old
                break
    if raw is None:
        return default
    kind = cast or type(default)
    converter = CASTS.get(kind, kind)
    try:
        return converter(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{name}={raw!r} is not a valid {kind.__name__}: {exc}") from exc


def data_dir() -> Path:
    """``REGIOHUB_DATA_DIR``: where the embedded defaults keep their files."""
    project = Path(__file__).resolve().parent.parent
    path = Path(
        config(
            "REGIOHUB_DATA_DIR",
            str(project / "var"),
            help_text="Directory for the SQLite database, uploaded files, outgoing mail and "
            "the generated secret key (created when missing).",
        )
    )
    # SQLite cannot create the folder of its database file: a fresh data directory given
    # to `regiohub migrate` must exist first.
    path.mkdir(parents=True, exist_ok=True)
    return path


def module_settings(module: str) -> dict[str, Any]:
    """The settings a module brings in its own ``<module>/settings.py`` (upper-case names),
    for ``regiohub/settings.py`` to merge; ``{}`` for a module without one."""
    dotted = f"{module}.settings"
    if find_spec(dotted) is None:
        return {}
    found = import_module(dotted)
    return {name: getattr(found, name) for name in dir(found) if name.isupper()}
