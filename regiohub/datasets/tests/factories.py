"""Datasets with rows, made through the services as a data steward would."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from regiohub.core.testing import run_tasks
from regiohub.datasets import services
from regiohub.datasets.models import Dataset, Load

COUNTS_CSV = (
    "Segment;Uur;Auto's;Fietsers;Snelheid (km/h)\n"
    "101;31/12/2025 14:00;1.234,5;12;48,5\n"
    "101;31/12/2025 15:00;987;8;51\n"
    "102;31/12/2025 14:00;15,25;0;\n"
)


def make_dataset(owner: Any, actor: Any = None, **fields: Any) -> Dataset:
    values = {
        "slug": "verkeerstellingen",
        "title": "Verkeerstellingen",
        "theme": "TRAN",
        "access": "internal",
        **fields,
    }
    return services.create_dataset(actor, owner=owner, **values)


def upload(
    dataset: Dataset,
    actor: Any,
    content: bytes | str,
    *,
    name: str = "tellingen.csv",
    mode: str = "append",
    primary_key: list[str] | None = None,
    confirm: bool = True,
    options: dict[str, str] | None = None,
) -> Load:
    """Upload, read, confirm the guessed columns and load; the load as it ended."""
    data = content.encode() if isinstance(content, str) else content
    load = services.start_upload(dataset, actor, SimpleUploadedFile(name, data), options=options)
    run_tasks()
    load.refresh_from_db()
    if confirm and load.state == "review":
        services.confirm(load, actor, columns=load.schema, primary_key=primary_key or [], mode=mode)
        run_tasks()
        load.refresh_from_db()
    return load
