from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from regiohub.core.i18n import localised
from regiohub.core.roles import Role


class OrganisationKind(models.TextChoices):
    REGION = "region", _("Region")
    MUNICIPALITY = "municipality", _("Municipality")
    INTERMUNICIPAL = "intermunicipal", _("Intermunicipal body")


class Organisation(models.Model):
    """A municipality, an intermunicipal body or the region that groups them."""

    kind = models.CharField(_("kind"), max_length=20, choices=OrganisationKind.choices)
    code = models.CharField(
        _("short code"),
        max_length=6,
        unique=True,
        validators=[RegexValidator(r"^[A-Z0-9]{2,6}$", _("Two to six capitals or digits."))],
        help_text=_("Used in reference numbers, e.g. KOR for Kortrijk."),
    )
    nis_code = models.CharField(
        _("NIS code"),
        max_length=5,
        unique=True,
        null=True,
        blank=True,
        validators=[RegexValidator(r"^\d{5}$", _("A NIS code has five digits."))],
    )
    name = models.CharField(_("name (Dutch)"), max_length=200)
    name_fr = models.CharField(_("name (French)"), max_length=200, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("part of"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    population = models.PositiveIntegerField(_("population"), null=True, blank=True)
    boundary = models.JSONField(
        _("boundary"),
        null=True,
        blank=True,
        help_text=_("GeoJSON geometry in WGS84 (Polygon or MultiPolygon)."),
    )
    website = models.URLField(_("website"), blank=True)
    email = models.EmailField(_("contact e-mail"), blank=True)
    phone = models.CharField(_("contact phone"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name in the active language: French where known and asked for, else Dutch."""
        return localised(self, "name")


class Department(models.Model):
    """A service within an organisation: Openbare werken, Mobiliteit, ICT, ..."""

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="departments",
    )
    name = models.CharField(_("name (Dutch)"), max_length=200)
    name_fr = models.CharField(_("name (French)"), max_length=200, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["organisation__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="department_unique_name_per_org"
            )
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.organisation.display_name})"

    @property
    def display_name(self) -> str:
        """The name in the active language where it is known, else the Dutch name."""
        return localised(self, "name")


class Membership(models.Model):
    """A person's role in an organisation, optionally within one department."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="memberships",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="memberships",
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(_("since"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["organisation__name", "user__full_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation", "department", "role"],
                name="membership_unique",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.get_role_display()} – {self.organisation}"
