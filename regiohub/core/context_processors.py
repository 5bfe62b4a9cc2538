from typing import Any

from django.conf import settings
from django.http import HttpRequest

from regiohub.core import access, modules


def site(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)

    def may(capability: Any) -> bool:
        return bool(access.organisation_ids(user, capability))

    staff = user is not None and user.is_authenticated
    return {
        "public_menu": modules.menu("public"),
        "staff_menu": modules.menu("staff", may) if staff else [],
        "home_actions": modules.menu("home"),
        "REGION_NAME": settings.REGION_NAME,
        "MAP_TILE_URL": settings.MAP_TILE_URL,
        "MAP_ATTRIBUTION": settings.MAP_ATTRIBUTION,
        # Whether addresses are looked up (core.geocoding): forms offer matches, maps name
        # the street of a tapped point.
        "GEOCODING": bool(getattr(settings, "GEOCODER", "")),
    }
