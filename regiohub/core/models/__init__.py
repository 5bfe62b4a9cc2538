from .district import District
from .history import HistoryEntry
from .organisation import Department, Membership, Organisation
from .tasks import IdempotencyKey, WorkerHeartbeat
from .user import User

__all__ = [
    "Department",
    "District",
    "HistoryEntry",
    "IdempotencyKey",
    "Membership",
    "Organisation",
    "User",
    "WorkerHeartbeat",
]
