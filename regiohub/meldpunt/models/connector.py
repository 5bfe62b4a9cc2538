"""Back-office connectors: where a municipality's reports go, and what reached them."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ConnectorConfig(models.Model):
    """A municipality's back office for one category (or for all its categories).

    Without an active configuration, regiohub itself is the back office.
    """

    name = models.CharField(_("name"), max_length=120)
    organisation = models.ForeignKey(
        "core.Organisation",
        verbose_name=_("municipality"),
        on_delete=models.PROTECT,
        limit_choices_to={"kind": "municipality"},
        related_name="connector_configs",
    )
    category_code = models.CharField(
        _("category code"),
        max_length=50,
        blank=True,
        help_text=_("Leave empty for every category of the municipality."),
    )
    connector = models.CharField(
        _("connector"), max_length=40, help_text=_("webhook or topdesk (see docs/connectors.md).")
    )
    settings = models.JSONField(
        _("settings"),
        default=dict,
        blank=True,
        help_text=_("URL, secret or credentials, timeout: see docs/connectors.md."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("back-office connector")
        verbose_name_plural = _("back-office connectors")
        ordering = ["organisation", "category_code"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Secrets in the settings are stored sealed (``core.secrets``)."""
        from regiohub.core.secrets import seal_fields
        from regiohub.meldpunt.contrib.connectors import registry

        try:
            names = registry.get(self.connector).secret_settings
        except KeyError:
            names = ()
        self.settings = seal_fields(self.settings or {}, names)
        super().save(*args, **kwargs)


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed, will retry")
    DEAD = "dead", _("Dead (gave up)")


class Delivery(models.Model):
    """One report pushed to one connector. Those in state "dead" are the dead-letter list."""

    report = models.ForeignKey(
        "meldpunt.Report", on_delete=models.CASCADE, related_name="deliveries"
    )
    config = models.ForeignKey(
        ConnectorConfig, verbose_name=_("connector"), on_delete=models.PROTECT
    )
    external_id = models.CharField(_("id in the back office"), max_length=200, blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # Only our own wording (timeouts, HTTP status codes): never a response body.
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    replayed_at = models.DateTimeField(_("replayed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["report", "config"], name="delivery_once_per_config")
        ]
        indexes = [models.Index(fields=["config", "external_id"])]

    def __str__(self) -> str:
        return f"{self.report_id} -> {self.config_id} ({self.state})"
