from .history import HistoryEntry
from .organisation import Department, Membership, Organisation
from .tasks import IdempotencyKey
from .user import User

__all__ = ["Department", "HistoryEntry", "IdempotencyKey", "Membership", "Organisation", "User"]
