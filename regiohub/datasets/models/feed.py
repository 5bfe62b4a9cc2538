"""A dataset kept up to date from an outside source on a schedule (``datasets.feeds``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .dataset import Dataset


class Feed(models.Model):
    dataset = models.OneToOneField(Dataset, on_delete=models.CASCADE, related_name="feed")
    kind = models.CharField(_("kind"), max_length=40, help_text=_("e.g. telraam"))
    settings = models.JSONField(_("settings"), default=dict, blank=True)
    #: Where the feed stopped: only advanced together with a committed version.
    cursor = models.JSONField(default=dict, blank=True)
    interval_minutes = models.PositiveIntegerField(_("every (minutes)"), default=60)
    is_active = models.BooleanField(_("active"), default=True)
    last_run_at = models.DateTimeField(_("last run"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("feed")
        verbose_name_plural = _("feeds")

    def __str__(self) -> str:
        return f"{self.kind}: {self.dataset}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Secrets in the settings (an API key) are stored sealed (``core.secrets``)."""
        from regiohub.core.secrets import seal_fields
        from regiohub.datasets.feeds import registry

        try:
            names = registry.get(self.kind).secret_settings()
        except KeyError:
            names = ()
        self.settings = seal_fields(self.settings or {}, names)
        super().save(*args, **kwargs)

    def is_due(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        if not self.is_active:
            return False
        if self.last_run_at is None:
            return True
        return (now - self.last_run_at).total_seconds() >= self.interval_minutes * 60
