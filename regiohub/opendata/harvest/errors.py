"""Why a harvest run failed. The messages are ours, in English (they are stored with the run
and read later by administrators in any language, like the data platform's feed errors): a
page number, an HTTP status, a short reason. Never the remote body, never a stack trace.
"""

from __future__ import annotations


class HarvestError(Exception):
    """A run that failed: nothing changed on the portal."""


class HarvestTemporaryError(HarvestError):
    """The catalogue is unavailable for now (5xx, a timeout, no connection): the task is
    tried again later."""


class HarvestAddressError(HarvestError):
    """An address the harvester may not connect to (not http(s), a host off the list, an
    internal address, a redirect elsewhere). Nothing was sent there."""


class HarvestDataError(HarvestError):
    """An answer that is not a DCAT catalogue we can read: too large, not RDF, no datasets,
    too many pages."""


class HarvestBusy(HarvestError):
    """Another run holds the source (its lease): this one did nothing."""
