from .api_write import (
    BATCH_FINAL_STATES,
    ApiWrite,
    BatchedWrite,
    WriteBatch,
    WriteBatchState,
)
from .dataset import Access, Dataset, DatasetVersion, Licence, Theme, WriteBatching
from .feed import Feed
from .load import FINAL_STATES, Load, LoadMode, LoadSource, LoadState

__all__ = [
    "BATCH_FINAL_STATES",
    "FINAL_STATES",
    "Access",
    "ApiWrite",
    "BatchedWrite",
    "Dataset",
    "DatasetVersion",
    "Feed",
    "Licence",
    "Load",
    "LoadMode",
    "LoadSource",
    "LoadState",
    "Theme",
    "WriteBatch",
    "WriteBatchState",
    "WriteBatching",
]
