from .dataset import Access, Dataset, DatasetVersion, Licence, Theme
from .feed import Feed
from .load import FINAL_STATES, Load, LoadMode, LoadSource, LoadState

__all__ = [
    "FINAL_STATES",
    "Access",
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
