"""Demo datasets from the real files in ``../shared/data``: the two Telraam counters (one
dataset per device, through the file import) and Statbel's fiscal income per municipality
(through the same upload, review and load steps a data steward takes). Skipped with a note
when the files are not there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import transaction

from regiohub.core.demo.region import DEMO_DOMAIN
from regiohub.core.models import Organisation, User
from regiohub.datasets import services
from regiohub.datasets.models import Dataset, LoadState

SHARED = Path(settings.BASE_DIR).parent.parent / "shared" / "data"
STEWARD = f"data.leiedal@{DEMO_DOMAIN}"
TELRAAM = {
    "9000008311": "Telraam-teller 9000008311",
    "9000008322": "Telraam-teller 9000008322",
}
STATBEL = "TF_PSNL_INC_TAX_MUNTY.txt"
OPEN_DEVICE = "9000008311"


def load(out: Any) -> None:
    steward = User.objects.get(email=STEWARD)
    owner = Organisation.objects.get(code="LEI")
    telraam_dir = SHARED / "telraam"
    if telraam_dir.is_dir():
        for device, title in TELRAAM.items():
            _telraam(out, steward, owner, device, title, telraam_dir)
    else:
        out.write(f"Demo datasets: no Telraam files in {telraam_dir}, skipped.\n")
    statbel = SHARED / "statbel" / STATBEL
    if statbel.is_file():
        _statbel(out, steward, owner, statbel)
    else:
        out.write(f"Demo datasets: no Statbel file at {statbel}, skipped.\n")
    from regiohub.datasets.demo.municipal import load_exports  # generated, needs no files

    load_exports(out, steward, owner)


def _telraam(
    out: Any, steward: Any, owner: Organisation, device: str, title: str, folder: Path
) -> None:
    from regiohub.datasets.feeds.telraam import TelraamFeed, import_telraam_files

    slug = f"telraam-{device}"
    if Dataset.objects.filter(slug=slug).exists():
        return
    dataset = services.create_dataset(
        steward,
        slug=slug,
        title=title,
        description="Uurlijkse tellingen van voetgangers, fietsers, auto's en zwaar verkeer.",
        owner=owner,
        theme="TRAN",
        licence="CC-BY-NC-4.0",
        attribution="Telraam",
        # One counter is open data (on the portal), the other shared with the region only.
        access="open" if device == OPEN_DEVICE else "region",
    )
    rows = import_telraam_files(sorted((folder / f"device_{device}" / "hourly").glob("*.json")))
    schema = services.schema_from_arrow(
        TelraamFeed.schema, time_column=TelraamFeed.time_column, primary_key=TelraamFeed.primary_key
    )
    with transaction.atomic():
        services.publish(
            dataset,
            rows,
            mode="upsert",
            schema=schema,
            primary_key=list(TelraamFeed.primary_key),
            actor=steward,
            summary=f"{rows.num_rows} uren uit de Telraam-bestanden",
        )
    out.write(f"Demo dataset {slug}: {rows.num_rows} hours.\n")


def _statbel(out: Any, steward: Any, owner: Organisation, path: Path) -> None:
    slug = "fiscale-inkomens-per-gemeente"
    if Dataset.objects.filter(slug=slug).exists():
        return
    dataset = services.create_dataset(
        steward,
        slug=slug,
        title="Fiscale inkomens per gemeente",
        description="Netto belastbaar inkomen per gemeente, 2005–2013 (Statbel).",
        owner=owner,
        theme="ECON",
        licence="CC-BY-4.0",
        attribution="Statbel",
        access="open",
    )
    with path.open("rb") as handle:
        load_ = services.start_upload(dataset, steward, File(handle, name=path.name))
    services.inspect(load_)
    load_.refresh_from_db()
    services.confirm(
        load_,
        steward,
        columns=load_.schema,
        primary_key=["cd_year", "cd_munty_refnis"],
        mode="upsert",
    )
    load_.refresh_from_db()
    services.execute(load_)
    load_.refresh_from_db()
    if load_.state != LoadState.DONE:
        out.write(f"Demo dataset {slug}: not loaded ({load_.message}).\n")
        return
    out.write(f"Demo dataset {slug}: {load_.rows_done} rows.\n")
