"""Connectors by name. The built-in ones register themselves like any plugin would."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from regiohub.meldpunt.contrib.connectors.base import Connector

if TYPE_CHECKING:
    from regiohub.meldpunt.models import ConnectorConfig

BUILTIN = ("regiohub.meldpunt.contrib.webhook", "regiohub.meldpunt.contrib.topdesk")

_registry: dict[str, type[Connector]] = {}


def register(cls: type[Connector]) -> type[Connector]:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    _registry[cls.name] = cls
    return cls


def names() -> list[str]:
    _load_builtins()
    return sorted(_registry)


def get(name: str) -> type[Connector]:
    _load_builtins()
    return _registry[name]


def connector_for(config: ConnectorConfig) -> Connector:
    return get(config.connector)(config)


def _load_builtins() -> None:
    for module in BUILTIN:
        import_module(f"{module}.connector")
