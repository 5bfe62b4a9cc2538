"""Template helpers of the contact point's pages."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

from regiohub.meldpunt.models import Report

register = template.Library()


@register.simple_tag
def place_of(report: Report) -> str:
    """Where the problem is, in words for the reporter: the address as given, with the
    municipality when the address does not name it already. When only the address and the
    municipality were given (the point is the municipality's centre), it says so plainly."""
    address = report.address.strip()
    if not report.location_is_approximate:
        return address or _("Marked on the map")
    organisation = report.organisation
    municipality = organisation.display_name
    names = {organisation.name.lower(), organisation.name_fr.lower()} - {""}
    if not address:
        place = municipality
    elif any(name in address.lower() for name in names):
        place = address
    else:
        place = f"{address}, {municipality}"
    return _("%(place)s (not marked on a map)") % {"place": place}
