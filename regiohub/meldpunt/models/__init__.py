from .api_client import ApiClient
from .category import Category, ClosingDay
from .connector import ConnectorConfig, Delivery
from .conversation import Message, MessageKind, MessageTemplate
from .handover import ExternalBody, Handover
from .inbound_mail import InboundAttachment, InboundMail, InboundMailState
from .photo import Photo
from .report import (
    Channel,
    PlaceSource,
    ReferenceSequence,
    Report,
    SlaPause,
    SlaState,
    sla_state,
)
from .saved_filter import SavedFilter

__all__ = [
    "ApiClient",
    "Category",
    "Channel",
    "ClosingDay",
    "ConnectorConfig",
    "Delivery",
    "ExternalBody",
    "Handover",
    "InboundAttachment",
    "InboundMail",
    "InboundMailState",
    "Message",
    "MessageKind",
    "MessageTemplate",
    "Photo",
    "PlaceSource",
    "ReferenceSequence",
    "Report",
    "SavedFilter",
    "SlaPause",
    "SlaState",
    "sla_state",
]
