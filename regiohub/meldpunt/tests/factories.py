from __future__ import annotations

import factory

from regiohub.meldpunt.models import Report
from regiohub.meldpunt.services import submit_report

KORTRIJK_CENTRE = (50.8275, 3.2649)
MENEN_CENTRE = (50.7949, 3.1236)


def file_report(
    *, code: str = "pothole", where: tuple[float, float] = KORTRIJK_CENTRE, **kwargs
) -> Report:
    """A report filed through the service, as the public form does."""
    defaults = {
        "description": "Diep gat in het fietspad voor nummer 12.",
        "channel": "web",
        "reporter_email": "burger@example.org",
        "consent": True,
    }
    defaults.update(kwargs)
    return submit_report(
        category_code=code, latitude=where[0], longitude=where[1], **defaults
    ).report


class ReportFactory(factory.Factory):
    """Builds reports through the service; Traits name the states tests need."""

    class Meta:
        model = Report

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return file_report(**kwargs)
