from .category import Category, ClosingDay
from .conversation import Message, MessageKind, MessageTemplate
from .handover import ExternalBody, Handover
from .photo import Photo
from .report import Channel, ReferenceSequence, Report, SlaPause, SlaState, sla_state
from .saved_filter import SavedFilter

__all__ = [
    "Category",
    "Channel",
    "ClosingDay",
    "ExternalBody",
    "Handover",
    "Message",
    "MessageKind",
    "MessageTemplate",
    "Photo",
    "ReferenceSequence",
    "Report",
    "SavedFilter",
    "SlaPause",
    "SlaState",
    "sla_state",
]
