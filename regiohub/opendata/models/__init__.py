from regiohub.opendata.models.harvest import HarvestRun, HarvestSource
from regiohub.opendata.models.publication import (
    Frequency,
    Publication,
    PublicationFacet,
    Source,
    State,
)
from regiohub.opendata.models.reuse import Reuse, ReuseKind, ReuseState

__all__ = [
    "Frequency",
    "HarvestRun",
    "HarvestSource",
    "Publication",
    "PublicationFacet",
    "Reuse",
    "ReuseKind",
    "ReuseState",
    "Source",
    "State",
]
