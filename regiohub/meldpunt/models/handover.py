from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from regiohub.core.i18n import localised


class ExternalBody(models.Model):
    """An organisation outside the region's municipalities that owns assets reports are
    about: the Flemish roads agency, the grid operator, the water company, De Lijn."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name (Dutch)"), max_length=120)
    name_fr = models.CharField(_("name (French)"), max_length=120, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    email = models.EmailField(_("e-mail for hand-overs"))
    description = models.CharField(_("what they handle"), max_length=300, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("external body")
        verbose_name_plural = _("external bodies")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return localised(self, "name")


class Handover(models.Model):
    """The record of a report handed to another municipality or to an external body."""

    report = models.ForeignKey(
        "meldpunt.Report", on_delete=models.CASCADE, related_name="handovers"
    )
    from_organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    to_organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_external_body = models.ForeignKey(
        ExternalBody, on_delete=models.PROTECT, null=True, blank=True
    )
    reason = models.TextField(_("reason"), max_length=2000)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(_("mail sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("hand-over")
        verbose_name_plural = _("hand-overs")
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(to_organisation__isnull=False, to_external_body__isnull=True)
                | models.Q(to_organisation__isnull=True, to_external_body__isnull=False),
                name="handover_one_target",
            )
        ]

    def __str__(self) -> str:
        return f"{self.report_id} -> {self.to_organisation_id or self.to_external_body_id}"

    @property
    def target_name(self) -> str:
        target = self.to_organisation or self.to_external_body
        return target.display_name if target else ""
