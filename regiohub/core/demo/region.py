"""The demo region Zuid-West-Vlaanderen: its organisations, districts, departments and
people.

Idempotent: running it again updates what is there and adds what is missing.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from django.db import transaction

from regiohub.core import geo
from regiohub.core.models import Department, District, Membership, Organisation, User
from regiohub.core.models.organisation import OrganisationKind
from regiohub.core.roles import Role

BOUNDARIES = Path(__file__).parent / "data" / "zwvl-municipalities.geojson"
DISTRICTS = Path(__file__).parent / "data" / "zwvl-districts.geojson"
DEMO_PASSWORD = "regiohub-demo"  # noqa: S105 - the documented demo password
DEMO_DOMAIN = "demo.regiohub.localhost"

REGION = {"code": "ZWVL", "name": "Zuid-West-Vlaanderen", "name_fr": "Flandre occidentale du Sud"}

MUNICIPALITY_CODES = {
    "34002": "ANZ",
    "34003": "AVE",
    "34009": "DEE",
    "34013": "HAR",
    "34022": "KOR",
    "34023": "KUU",
    "34025": "LEN",
    "34027": "MEN",
    "33029": "WER",
    "34040": "WAR",
    "34041": "WEV",
    "34042": "ZWE",
    "34043": "SPI",
}

INTERMUNICIPAL: list[dict[str, Any]] = [
    {
        "code": "W13",
        "name": "W13",
        "name_fr": "W13",
        "website": "https://www.w13.be",
        "departments": [
            ("Zorg", "Soins", "Care"),
            ("Wonen", "Logement", "Housing"),
            ("Armoedebestrijding", "Lutte contre la pauvreté", "Tackling poverty"),
        ],
    },
    {
        "code": "LEI",
        "name": "Leiedal",
        "name_fr": "Leiedal",
        "website": "https://www.leiedal.be",
        "departments": [
            ("Ruimtelijke planning", "Aménagement du territoire", "Spatial planning"),
            ("Data en GIS", "Données et SIG", "Data and GIS"),
            ("ICT-samenwerking", "Coopération informatique", "ICT cooperation"),
        ],
    },
]

# (Dutch name, French name, English name, e-mail local part)
MUNICIPAL_DEPARTMENTS = [
    ("Openbare werken", "Travaux publics", "Public works", "openbarewerken"),
    ("Mobiliteit", "Mobilité", "Mobility", "mobiliteit"),
    ("Milieu", "Environnement", "Environment", "milieu"),
    ("Burgerzaken", "Population et état civil", "Civil affairs", "burgerzaken"),
    ("ICT", "Informatique", "ICT", "ict"),
]

# (e-mail local part, full name, organisation code, department or None, role)
PEOPLE = [
    ("regio", "Rita Regio", "ZWVL", None, Role.ADMIN),
    ("agent.kortrijk", "Karim Kortrijk", "KOR", None, Role.AGENT),
    ("openbarewerken.kortrijk", "Katrien Vandewalle", "KOR", "Openbare werken", Role.HANDLER),
    ("beheer.kortrijk", "Koen Beheer", "KOR", None, Role.ADMIN),
    ("agent.menen", "Mieke Menen", "MEN", None, Role.AGENT),
    ("openbarewerken.menen", "Marc Declercq", "MEN", "Openbare werken", Role.HANDLER),
    ("data.leiedal", "Lotte Leiedal", "LEI", "Data en GIS", Role.DATA_STEWARD),
    ("analist", "Arne Analist", "ZWVL", None, Role.ANALYST),
]


def _slug(name: str) -> str:
    return name.lower().replace(" ", "").replace("-", "")


@cache
def _district_features() -> tuple[dict[str, Any], ...]:
    """The districts file, parsed once per process (do not change what it returns)."""
    return tuple(json.loads(DISTRICTS.read_text())["features"])


def load_districts() -> int:
    """Create or update the districts of the municipalities there are, by code, in a few
    bulk queries; the district lookup of ``core.geo`` is rebuilt. Returns how many there are.
    """
    municipalities = dict(
        Organisation.objects.filter(
            kind=OrganisationKind.MUNICIPALITY, nis_code__isnull=False
        ).values_list("nis_code", "pk")
    )
    existing = {d.code: d for d in District.objects.all()}
    new: list[District] = []
    changed: list[District] = []
    for feature in _district_features():
        props = feature["properties"]
        organisation_id = municipalities.get(str(props["nis"]))
        if organisation_id is None:
            continue
        values = {
            "name": props["name"],
            "organisation_id": organisation_id,
            "boundary": feature["geometry"],
        }
        district = existing.get(props["code"])
        if district is None:
            new.append(District(code=props["code"], **values))
        elif any(getattr(district, field) != value for field, value in values.items()):
            for field, value in values.items():
                setattr(district, field, value)
            changed.append(district)
    District.objects.bulk_create(new)
    District.objects.bulk_update(changed, ["name", "organisation", "boundary"])
    if new or changed:
        geo.invalidate_districts()  # bulk queries send no signals
    return len(existing) + len(new)


@transaction.atomic
def load_region(out: Any = None) -> dict[str, int]:
    def say(text: str) -> None:
        if out is not None:
            out.write(text)

    region, _ = Organisation.objects.update_or_create(
        code=REGION["code"],
        defaults={
            "kind": OrganisationKind.REGION,
            "name": REGION["name"],
            "name_fr": REGION["name_fr"],
            "website": "https://www.zuidwestvlaanderen.be",
        },
    )
    features = json.loads(BOUNDARIES.read_text())["features"]
    for feature in features:
        props = feature["properties"]
        nis = str(props["nis"])
        organisation, _ = Organisation.objects.update_or_create(
            nis_code=nis,
            defaults={
                "kind": OrganisationKind.MUNICIPALITY,
                "code": MUNICIPALITY_CODES[nis],
                "name": props["name_nl"],
                "name_fr": props["name_fr"],
                "population": props["population"],
                "boundary": feature["geometry"],
                "parent": region,
                "email": f"meldpunt@{_slug(props['name_nl'])}.{DEMO_DOMAIN}",
            },
        )
        for name, name_fr, name_en, local in MUNICIPAL_DEPARTMENTS:
            Department.objects.update_or_create(
                organisation=organisation,
                name=name,
                defaults={"name_fr": name_fr, "name_en": name_en},
                create_defaults={
                    "name_fr": name_fr,
                    "name_en": name_en,
                    "email": f"{local}@{_slug(props['name_nl'])}.{DEMO_DOMAIN}",
                },
            )
    districts = load_districts()
    for body in INTERMUNICIPAL:
        organisation, _ = Organisation.objects.update_or_create(
            code=body["code"],
            defaults={
                "kind": OrganisationKind.INTERMUNICIPAL,
                "name": body["name"],
                "name_fr": body["name_fr"],
                "website": body["website"],
                "parent": region,
            },
        )
        for name, name_fr, name_en in body["departments"]:
            Department.objects.update_or_create(
                organisation=organisation,
                name=name,
                defaults={"name_fr": name_fr, "name_en": name_en},
            )

    admin, created = User.objects.get_or_create(
        email=f"admin@{DEMO_DOMAIN}",
        defaults={"full_name": "Demo Beheerder", "is_staff": True, "is_superuser": True},
    )
    if created:
        admin.set_password(DEMO_PASSWORD)
        admin.save()
    for local, full_name, org_code, department_name, role in PEOPLE:
        user, created = User.objects.get_or_create(
            email=f"{local}@{DEMO_DOMAIN}", defaults={"full_name": full_name}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        organisation = Organisation.objects.get(code=org_code)
        department = (
            Department.objects.get(organisation=organisation, name=department_name)
            if department_name
            else None
        )
        Membership.objects.get_or_create(
            user=user, organisation=organisation, department=department, role=role
        )
    counts = {
        "organisations": Organisation.objects.count(),
        "districts": districts,
        "departments": Department.objects.count(),
        "people": User.objects.count(),
    }
    say(
        f"Demo region {region.name}: {counts['organisations']} organisations, "
        f"{counts['departments']} departments, {counts['districts']} districts, "
        f"{counts['people']} people.\n"
    )
    return counts
