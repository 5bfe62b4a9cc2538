"""Background work of the dashboards: draw a public dashboard ahead, in every language,
for the period it opens on, so the first visitor after a load finds it drawn."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from regiohub.core.tasks import task


@task(queue_name="data")
def warm(dashboard_id: int) -> int:
    """Draw the public dashboard's figures for its default filters; how many were drawn.
    Harmless when run twice: the second run finds them in the cache."""
    from regiohub.dashboards import pages
    from regiohub.dashboards.figures import parse_filters
    from regiohub.dashboards.models import Audience, Dashboard
    from regiohub.dashboards.queries import read

    found = Dashboard.objects.filter(pk=dashboard_id, audience=Audience.PUBLIC).first()
    if found is None:
        return 0
    viewable = read(found)
    filters = parse_filters({}, today=timezone.localdate(), period=viewable.definition.period)
    drawn = 0
    for language, _name in settings.LANGUAGES:
        shown = pages.page(viewable, AnonymousUser(), filters, language=language)
        drawn += sum(1 for one in shown.drawn if one.figure is not None)
    return drawn
