"""The portal's background work that is not the harvest's (``harvest/tasks.py``)."""

from __future__ import annotations

from regiohub.core.tasks import task


@task(queue_name="data")
def refresh_downloads() -> str:
    """The catalogue's "most downloaded" order takes the latest download counts."""
    from regiohub.opendata import services

    return f"{services.refresh_downloads()} publications changed"
