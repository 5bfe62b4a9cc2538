from .api_client import ApiClient, ApiUpdateReceipt
from .category import AttributeType, Category, CategoryAttribute, ClosingDay, SlaCalendar
from .connector import ConnectorConfig, Delivery
from .conversation import Message, MessageKind, MessageTemplate
from .handover import ExternalBody, Handover, HandoverState
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
from .routing import (
    Answer,
    AssetFeature,
    AssetLayer,
    LayerFormat,
    LayerKind,
    LayerVersion,
    OwnerKind,
    RoutingDecision,
    RoutingRule,
    RoutingState,
)
from .satisfaction import (
    ReopenDecision,
    ReopenRequest,
    SatisfactionAnswer,
    SatisfactionOption,
    StatisticsMonth,
    StatisticsWatermark,
)
from .saved_filter import SavedFilter

__all__ = [
    "Answer",
    "ApiClient",
    "ApiUpdateReceipt",
    "AssetFeature",
    "AssetLayer",
    "AttributeType",
    "Category",
    "CategoryAttribute",
    "Channel",
    "ClosingDay",
    "ConnectorConfig",
    "Delivery",
    "ExternalBody",
    "Handover",
    "HandoverState",
    "InboundAttachment",
    "InboundMail",
    "InboundMailState",
    "LayerFormat",
    "LayerKind",
    "LayerVersion",
    "Message",
    "MessageKind",
    "MessageTemplate",
    "OwnerKind",
    "Photo",
    "PlaceSource",
    "ReferenceSequence",
    "ReopenDecision",
    "ReopenRequest",
    "Report",
    "RoutingDecision",
    "RoutingRule",
    "RoutingState",
    "SatisfactionAnswer",
    "SatisfactionOption",
    "SavedFilter",
    "SlaCalendar",
    "SlaPause",
    "SlaState",
    "StatisticsMonth",
    "StatisticsWatermark",
    "sla_state",
]
