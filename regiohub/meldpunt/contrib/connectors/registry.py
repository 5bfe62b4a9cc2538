"""Connectors by name: the "connectors" family of :mod:`regiohub.core.plugins`. The
built-in ones register themselves like any plugin would."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy

from regiohub.core.plugins import Registry
from regiohub.meldpunt.contrib.connectors.base import Connector

if TYPE_CHECKING:
    from regiohub.meldpunt.models import ConnectorConfig

BUILTIN = (
    "regiohub.meldpunt.contrib.webhook.connector",
    "regiohub.meldpunt.contrib.topdesk.connector",
)

#: The key is ``name`` (stored in ``ConnectorConfig.connector``).
connectors: Registry[Connector] = Registry(
    "connectors",
    base=Connector,
    label=gettext_lazy("Back-office connectors"),
    builtin=BUILTIN,
)

register = connectors.register
get = connectors.get
names = connectors.names
choices = connectors.choices


def connector_for(config: ConnectorConfig) -> Connector:
    """The connector of ``config``, with its settings opened."""
    return get(config.connector)(config)
