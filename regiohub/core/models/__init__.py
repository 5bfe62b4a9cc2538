from .api_token import ApiToken, TokenScope
from .district import District
from .history import HistoryEntry
from .organisation import Department, Membership, Organisation
from .tasks import IdempotencyKey, WorkerHeartbeat
from .usage import UsageCount
from .user import User

__all__ = [
    "ApiToken",
    "Department",
    "District",
    "HistoryEntry",
    "IdempotencyKey",
    "Membership",
    "Organisation",
    "TokenScope",
    "UsageCount",
    "User",
    "WorkerHeartbeat",
]
