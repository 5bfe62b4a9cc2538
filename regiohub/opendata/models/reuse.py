"""What people built on a dataset: an app, a visualisation, an article. Anybody may tell the
portal; it shows once a steward of the publisher approved it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from regiohub.opendata.models.publication import Publication


class ReuseKind(models.TextChoices):
    APP = "app", _("App or website")
    VISUALISATION = "visualisation", _("Visualisation or map")
    ARTICLE = "article", _("Article or report")
    RESEARCH = "research", _("Research")
    OTHER = "other", _("Something else")


class ReuseState(models.TextChoices):
    PENDING = "pending", _("Waiting for a check")
    APPROVED = "approved", _("Shown")
    REJECTED = "rejected", _("Not shown")


class Reuse(models.Model):
    publication = models.ForeignKey(
        Publication, on_delete=models.CASCADE, related_name="reuses", verbose_name=_("dataset")
    )
    kind = models.CharField(_("what it is"), max_length=15, choices=ReuseKind.choices)
    title = models.CharField(_("title"), max_length=200)
    url = models.URLField(_("address"), max_length=500)
    description = models.TextField(_("what it does"), max_length=2000, blank=True)
    #: Personal data (GDPR: ``opendata.privacy``): only the stewards see it.
    submitter_name = models.CharField(_("your name"), max_length=200, blank=True)
    submitter_email = models.EmailField(_("your e-mail"), blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=ReuseState.choices, default=ReuseState.PENDING
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("reuse")
        verbose_name_plural = _("reuses")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["publication", "state"], name="opendata_reuse_state")]

    def __str__(self) -> str:
        return self.title
