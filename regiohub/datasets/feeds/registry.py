"""Feeds by kind: the "feeds" family of :mod:`regiohub.core.plugins`. The built-in ones
register themselves like any plugin would."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from regiohub.core.plugins import Registry
from regiohub.datasets.feeds.base import Feed

BUILTIN = ("regiohub.datasets.feeds.telraam",)


def check(cls: type[Feed]) -> None:
    """What a storage layer relies on, so a mistake shows at import, not at the first
    load: a primary key and a time column that are columns of the schema."""
    schema = getattr(cls, "schema", None)
    names = set(schema.names) if schema is not None else set()
    missing = [c for c in (*cls.primary_key, cls.time_column) if c not in names]
    if not cls.primary_key or not cls.time_column or missing:
        raise TypeError(f"{cls.__name__}: primary key and time column must be schema columns")


#: The key is ``kind`` (stored in ``Feed.kind`` of every configured dataset).
feeds: Registry[Feed] = Registry(
    "feeds",
    base=Feed,
    label=gettext_lazy("Dataset feeds"),
    builtin=BUILTIN,
    key="kind",
    check=check,
)

register = feeds.register
get = feeds.get
names = feeds.names
all_feeds = feeds.all
choices = feeds.choices
