from regiohub.opendata.models.publication import (
    Frequency,
    Publication,
    PublicationFacet,
    Source,
    State,
)

__all__ = ["Frequency", "Publication", "PublicationFacet", "Source", "State"]
