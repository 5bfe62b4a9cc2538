from .api_write import ApiWrite
from .dataset import Access, Dataset, DatasetVersion, Licence, Theme
from .feed import Feed
from .load import FINAL_STATES, Load, LoadMode, LoadSource, LoadState

__all__ = [
    "FINAL_STATES",
    "Access",
    "ApiWrite",
    "Dataset",
    "DatasetVersion",
    "Feed",
    "Licence",
    "Load",
    "LoadMode",
    "LoadSource",
    "LoadState",
    "Theme",
]
