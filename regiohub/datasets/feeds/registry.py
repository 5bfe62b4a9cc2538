"""Feeds by kind. The built-in ones register themselves like any plugin would."""

from __future__ import annotations

from importlib import import_module

from regiohub.datasets.feeds.base import Feed

BUILTIN = ("regiohub.datasets.feeds.telraam",)

_registry: dict[str, type[Feed]] = {}


def register(cls: type[Feed]) -> type[Feed]:
    """Class decorator: make ``cls`` available under ``cls.kind``.

    Checks what a storage layer relies on, so a mistake shows at import, not at the first
    load: a kind, a primary key and a time column that are columns of the schema.
    """
    if not cls.kind:
        raise TypeError(f"{cls.__name__} has no kind")
    existing = _registry.get(cls.kind)
    if existing is not None and _path(existing) != _path(cls):  # a re-import is fine
        raise TypeError(f"feed kind {cls.kind!r} is taken by {existing.__name__}")
    names = set(cls.schema.names)
    missing = [c for c in (*cls.primary_key, cls.time_column) if c not in names]
    if not cls.primary_key or not cls.time_column or missing:
        raise TypeError(f"{cls.__name__}: primary key and time column must be schema columns")
    _registry[cls.kind] = cls
    return cls


def get(kind: str) -> type[Feed]:
    """The feed class registered as ``kind`` (``KeyError`` if there is none)."""
    _load_builtins()
    return _registry[kind]


def all_feeds() -> list[type[Feed]]:
    """Every registered feed, by kind."""
    _load_builtins()
    return [_registry[kind] for kind in sorted(_registry)]


def choices() -> list[tuple[str, str]]:
    """``(kind, label)`` pairs for a form or model field."""
    return [(cls.kind, str(cls.label)) for cls in all_feeds()]


def _path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _load_builtins() -> None:
    for module in BUILTIN:
        import_module(module)
