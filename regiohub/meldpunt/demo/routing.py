"""The demo region's owners, asset layers and routing rules.

The layers are APPROXIMATE: a few points along the main regional roads (R8, N43, N50, N8)
and the waterways (the Leie, the Bossuit–Kortrijk canal), drawn for trying the product and
marked as demo data wherever they are used. A real installation imports the Wegenregister
(``regiohub meldpunt_import_layer roads Wegenregister.zip``) and the waterways' own data.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction

from regiohub.core.models import Organisation
from regiohub.core.models.organisation import OrganisationKind
from regiohub.meldpunt import layers
from regiohub.meldpunt.models import (
    AssetLayer,
    ExternalBody,
    LayerKind,
    OwnerKind,
    RoutingRule,
)

# code, name nl, fr, en, e-mail, what they handle, manager codes in the layers
OWNERS = [
    ("awv", "Agentschap Wegen en Verkeer - District Kortrijk",
     "Agence flamande Routes et Circulation - District de Courtrai",
     "Flemish roads agency - District Kortrijk", "awv@external.demo.regiohub.localhost",
     "Gewestwegen (N-wegen, R8) en hun verlichting", "AWV312"),
    ("de-vlaamse-waterweg", "De Vlaamse Waterweg", "De Vlaamse Waterweg",
     "De Vlaamse Waterweg (waterways)", "meldingen@dvw.demo.regiohub.localhost",
     "De Leie, het kanaal Bossuit-Kortrijk, jaagpaden en oevers", "V0012"),
    ("imog", "Imog", "Imog", "Imog (waste)", "info@imog.demo.regiohub.localhost",
     "Afvalophaling en recyclageparken", ""),
    ("mirom", "Mirom Menen", "Mirom Menen", "Mirom Menen (waste)",
     "info@mirom.demo.regiohub.localhost", "Afvalophaling en recyclageparken", ""),
    ("ivio", "IVIO", "IVIO", "IVIO (waste)", "info@ivio.demo.regiohub.localhost",
     "Afvalophaling en recyclageparken", ""),
]  # fmt: skip

WASTE = {
    "ANZ": "imog", "AVE": "imog", "DEE": "imog", "HAR": "imog", "KOR": "imog", "KUU": "imog",
    "SPI": "imog", "WAR": "imog", "ZWE": "imog", "MEN": "mirom", "WEV": "mirom",
    "WER": "mirom", "LEN": "ivio",
}  # fmt: skip

# (id, name, manager code, manager name, [(lon, lat), ...]): approximate, for the demo only.
ROADS = [
    ("R8-demo", "R8", "AWV312", "AWV District Kortrijk",
     [(3.2649, 50.8435), (3.2830, 50.8390), (3.2910, 50.8275), (3.2830, 50.8160),
      (3.2649, 50.8115), (3.2470, 50.8160), (3.2390, 50.8275), (3.2470, 50.8390),
      (3.2649, 50.8435)]),
    ("N43-demo", "N43", "AWV312", "AWV District Kortrijk",
     [(3.2830, 50.8390), (3.2950, 50.8450), (3.3100, 50.8530), (3.3400, 50.8650),
      (3.3900, 50.8880), (3.4300, 50.9050)]),
    ("N50-demo", "N50", "AWV312", "AWV District Kortrijk",
     [(3.2700, 50.8125), (3.2850, 50.7950), (3.3100, 50.7750), (3.3300, 50.7400),
      (3.3450, 50.7100)]),
    ("N8-demo", "N8", "AWV312", "AWV District Kortrijk",
     [(3.2400, 50.8180), (3.2000, 50.8050), (3.1600, 50.8000), (3.1236, 50.7960),
      (3.0800, 50.7900), (3.0400, 50.7800)]),
]  # fmt: skip
WATERWAYS = [
    ("leie-demo", "Leie", "V0012", "De Vlaamse Waterweg",
     [(3.0200, 50.7750), (3.0600, 50.7850), (3.1200, 50.8010), (3.1800, 50.8100),
      (3.2300, 50.8200), (3.2650, 50.8320), (3.2900, 50.8420), (3.3100, 50.8560),
      (3.3500, 50.8750), (3.4000, 50.9000)]),
    ("kanaal-bk-demo", "Kanaal Bossuit-Kortrijk", "V0012", "De Vlaamse Waterweg",
     [(3.2800, 50.8300), (3.3100, 50.8150), (3.3400, 50.8050), (3.3700, 50.7850),
      (3.3900, 50.7650), (3.4050, 50.7450)]),
]  # fmt: skip

LAYERS = [
    ("regional-roads", "Gewestwegen (demo)", "Routes régionales (démo)", "Regional roads (demo)",
     ROADS),
    ("waterways", "Waterwegen (demo)", "Voies navigables (démo)", "Waterways (demo)", WATERWAYS),
]  # fmt: skip


def _geojson(features: list[tuple[str, str, str, str, list[tuple[float, float]]]]) -> bytes:
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {
                        "id": fid,
                        "name": name,
                        "manager": code,
                        "manager_name": manager,
                    },
                    "geometry": {"type": "LineString", "coordinates": [list(p) for p in line]},
                }
                for fid, name, code, manager, line in features
            ],
        }
    ).encode()


@transaction.atomic
def load_routing() -> dict[str, Any]:
    """Owners, the two demo layers and every municipality's rules (idempotent)."""
    bodies = {}
    for code, nl, fr, en, email, description, managers in OWNERS:
        bodies[code], _ = ExternalBody.objects.update_or_create(
            code=code,
            defaults={"name": nl, "name_fr": fr, "name_en": en, "email": email,
                      "description": description, "manager_codes": managers},
        )  # fmt: skip
    made: dict[str, AssetLayer] = {}
    for code, nl, fr, en, features in LAYERS:
        layer, _ = AssetLayer.objects.get_or_create(
            code=code,
            defaults={"name": nl, "name_fr": fr, "name_en": en, "kind": LayerKind.LINE,
                      "is_demo": True},
        )  # fmt: skip
        if layer.current_version_id is None:
            layers.import_layer(
                layer, _geojson(features), file_format="geojson",
                source="regiohub demo: approximate lines, not survey data",
                licence="CC0-1.0",
                attribution="regiohub demo data (approximate)",
                manager_name_property="manager_name",
            )  # fmt: skip
        made[code] = layer
    fluvius = ExternalBody.objects.filter(code="fluvius").first()  # from the reference data
    for municipality in Organisation.objects.filter(kind=OrganisationKind.MUNICIPALITY):
        if municipality.routing_rules.exists():
            continue
        rules = [
            RoutingRule(position=10, category_codes="pothole,traffic-sign,street-light",
                        layer=made["regional-roads"], owner_kind=OwnerKind.MANAGER),
            RoutingRule(position=20, category_codes="street-light",
                        owner_kind=OwnerKind.EXTERNAL, external_body=fluvius),
            RoutingRule(position=30, category_codes="illegal-dumping",
                        layer=made["waterways"], owner_kind=OwnerKind.MANAGER),
        ]  # fmt: skip
        waste = WASTE.get(municipality.code)
        if waste:
            rules.append(
                RoutingRule(position=40, category_codes="waste-collection",
                            owner_kind=OwnerKind.EXTERNAL, external_body=bodies[waste])
            )  # fmt: skip
        for rule in rules:
            if rule.owner_kind == OwnerKind.EXTERNAL and rule.external_body is None:
                continue
            rule.organisation = municipality
            rule.full_clean()
            rule.save()
    return {"layers": len(made), "rules": RoutingRule.objects.count()}
