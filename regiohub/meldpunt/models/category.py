from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from regiohub.core.i18n import localised


class Category(models.Model):
    """What a report is about, in one municipality: its wording, department and SLA.

    Municipalities share ``code``s (``pothole``, ``street-light``, ...) so that a citizen
    picks a subject once and the location decides whose category it becomes.
    """

    organisation = models.ForeignKey(
        "core.Organisation",
        verbose_name=_("municipality"),
        on_delete=models.PROTECT,
        related_name="report_categories",
    )
    code = models.CharField(
        _("code"),
        max_length=50,
        validators=[RegexValidator(r"^[a-z0-9-]+$", _("Lower-case letters, digits and dashes."))],
        help_text=_("Shared across municipalities for the same subject, e.g. pothole."),
    )
    name = models.CharField(_("name (Dutch)"), max_length=120)
    name_fr = models.CharField(_("name (French)"), max_length=120, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    help_text = models.CharField(_("help (Dutch)"), max_length=300, blank=True)
    help_text_fr = models.CharField(_("help (French)"), max_length=300, blank=True)
    help_text_en = models.CharField(_("help (English)"), max_length=300, blank=True)
    department = models.ForeignKey(
        "core.Department",
        verbose_name=_("responsible department"),
        on_delete=models.PROTECT,
        related_name="report_categories",
    )
    response_days = models.DecimalField(
        _("response time (business days)"),
        max_digits=5,
        decimal_places=1,
        default=Decimal("2"),
        validators=[MinValueValidator(Decimal("0.5"))],
    )
    resolution_days = models.DecimalField(
        _("resolution time (business days)"),
        max_digits=5,
        decimal_places=1,
        default=Decimal("10"),
        validators=[MinValueValidator(Decimal("0.5"))],
    )
    allow_anonymous = models.BooleanField(_("anonymous reports allowed"), default=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["organisation__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "code"], name="category_code_per_org")
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.organisation})"

    @property
    def display_name(self) -> str:
        return localised(self, "name")

    @property
    def display_help(self) -> str:
        return localised(self, "help_text")


class ClosingDay(models.Model):
    """A weekday on which a municipality's services are closed; the SLA clock skips it."""

    organisation = models.ForeignKey(
        "core.Organisation",
        verbose_name=_("municipality"),
        on_delete=models.CASCADE,
        related_name="closing_days",
    )
    date = models.DateField(_("date"))
    description = models.CharField(_("description"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("closing day")
        verbose_name_plural = _("closing days")
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "date"], name="closing_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.organisation}: {self.date}"
