"""Open datasets made through the data platform's services, described and published on
the portal through the portal's, as a data steward would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
from django.db import transaction

from regiohub.core.models import Organisation
from regiohub.core.models.organisation import OrganisationKind
from regiohub.core.roles import Role
from regiohub.core.testing import run_tasks
from regiohub.core.tests.factories import MembershipFactory
from regiohub.datasets import services as datasets
from regiohub.opendata import services
from regiohub.opendata.models import Publication

TOWNS = {"KOR": ("Kortrijk", "34022"), "WAR": ("Waregem", "34040"), "MEN": ("Menen", "34027")}


def town(code: str = "KOR") -> Organisation:
    name, nis = TOWNS[code]
    found, _ = Organisation.objects.get_or_create(
        code=code,
        defaults={
            "kind": OrganisationKind.MUNICIPALITY,
            "name": name,
            "nis_code": nis,
            "email": f"data@{name.lower()}.example",
        },
    )
    return found


def steward(organisation: Organisation) -> Any:
    return MembershipFactory(organisation=organisation, role=Role.DATA_STEWARD).user


def counts(hours: int = 48) -> pa.Table:
    start = datetime(2025, 3, 1, tzinfo=UTC)
    return pa.table(
        {
            "segment_id": pa.array([9000001] * hours, pa.int64()),
            "hour": pa.array(
                [start + timedelta(hours=h) for h in range(hours)], pa.timestamp("us", tz="UTC")
            ),
            "car": pa.array([float(h % 24) for h in range(hours)]),
        }
    )


def open_dataset(
    owner: Organisation,
    slug: str = "verkeerstellingen",
    *,
    title: str = "Verkeerstellingen",
    description: str = "Uurlijkse tellingen van auto's en fietsers per straatsegment.",
    access: str = "open",
    licence: str = "CC-BY-4.0",
    rows: pa.Table | None = None,
) -> Any:
    """A dataset of the data platform with one version, the portal's copy made."""
    dataset = datasets.create_dataset(
        None,
        owner=owner,
        slug=slug,
        title=title,
        description=description,
        theme="TRAN",
        access=access,
        licence=licence,
        attribution=f"{owner.name}",
    )
    table = rows if rows is not None else counts()
    schema = datasets.schema_from_arrow(table.schema, time_column="hour")
    with transaction.atomic():
        datasets.publish(
            dataset,
            table,
            mode="replace",
            schema=schema,
            primary_key=[],
            actor_label="test",
            summary="rows",
        )
    run_tasks()
    return dataset


def published(
    owner: Organisation, slug: str = "verkeerstellingen", actor: Any = None, **fields: Any
) -> Publication:
    """An open dataset, described and published on the portal."""
    keywords = fields.pop("keywords", ["verkeer", "fietsers"])
    open_dataset(owner, slug, **fields)
    actor = actor or steward(owner)
    services.describe(
        actor,
        slug,
        keywords=keywords,
        contact_name="Dienst Mobiliteit",
        contact_email="mobiliteit@example.org",
        frequency="DAILY",
        places=[owner.nis_code],
    )
    return services.publish(actor, slug)
