"""The demo region's open data portal: every open dataset of the data platform described
and published by the data steward who loaded it, as a steward would on /staff/open/."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from regiohub.core.demo.region import DEMO_DOMAIN
from regiohub.core.models import Organisation, User
from regiohub.opendata import services
from regiohub.opendata.models import Publication, State

STEWARD = f"data.leiedal@{DEMO_DOMAIN}"
#: What the steward says of each demo dataset (keywords, contact point, frequency).
DESCRIPTIONS = {
    "fiscale-inkomens-per-gemeente": (
        ["inkomen", "belastingen", "statbel", "gemeenten"],
        "ANNUAL",
    ),
    "telraam-9000008311": (["verkeer", "fietsers", "telraam", "tellingen"], "DAILY"),
}


def load(out: Any) -> None:
    services.refresh_all()  # the worker would do this from the data platform's events
    steward = User.objects.get(email=STEWARD)
    towns = list(
        Organisation.objects.filter(kind="municipality")
        .exclude(nis_code=None)
        .values_list("nis_code", flat=True)
    )
    for slug, (keywords, frequency) in DESCRIPTIONS.items():
        publication = Publication.objects.filter(slug=slug).first()
        if publication is None or publication.state == State.PUBLISHED:
            continue
        places = towns if slug.startswith("fiscale") else ["34022"]  # Kortrijk
        services.describe(
            steward,
            slug,
            keywords=keywords,
            contact_name="Leiedal, team data",
            contact_email=f"data@{DEMO_DOMAIN}",
            frequency=frequency,
            places=places,
        )
        try:
            services.publish(steward, slug)
        except ValidationError as exc:
            out.write(f"Demo open data {slug}: not published ({'; '.join(exc.messages)}).\n")
            continue
        out.write(f"Demo open data: {slug} published on the portal.\n")
