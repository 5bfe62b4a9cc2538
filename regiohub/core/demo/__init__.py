"""Demo data of the core: the region, its organisations, districts, departments and people."""

from typing import Any

from regiohub.core.demo.region import load_region


def load(out: Any) -> None:
    load_region(out)
