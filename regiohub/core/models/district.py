from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class District(models.Model):
    """A district (wijk) of a municipality: the level below it for counts and maps.

    The layout is "wijken voor omgevingsanalyse" of the Flemish provinces: unions of
    statistical sectors that never cross a municipal border, coded ``<NIS5>W<nn>``.
    """

    code = models.CharField(
        _("code"),
        max_length=12,
        unique=True,
        validators=[
            RegexValidator(r"^\d{5}W[0-9A-Z]{2,4}$", _("A district code looks like 34022W07."))
        ],
    )
    name = models.CharField(_("name"), max_length=200)
    organisation = models.ForeignKey(
        "core.Organisation",
        verbose_name=_("municipality"),
        on_delete=models.PROTECT,
        related_name="districts",
        limit_choices_to={"kind": "municipality"},
    )
    boundary = models.JSONField(
        _("boundary"),
        null=True,
        blank=True,
        help_text=_("GeoJSON geometry in WGS84 (Polygon or MultiPolygon)."),
    )

    class Meta:
        verbose_name = _("district")
        verbose_name_plural = _("districts")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name
