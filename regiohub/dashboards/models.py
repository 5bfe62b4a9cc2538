"""A dashboard as saved: its definition text (what :mod:`.definitions` reads, the same for
a file and the admin) and what the platform needs to list and scope it without reading
the text again."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Audience(models.TextChoices):
    PUBLIC = "public", _("Public: everyone, also embedded on a website")
    INTERNAL = "internal", _("Internal: staff of the organisations named")


class Origin(models.TextChoices):
    FILE = "file", _("A file (<slug>.yaml)")
    ADMIN = "admin", _("The admin")


class Dashboard(models.Model):
    slug = models.SlugField(_("slug"), max_length=64, unique=True)
    #: The YAML as it was saved: always one the reader accepted (a broken edit is refused
    #: and never replaces it).
    definition = models.TextField(_("definition"))
    title = models.JSONField(_("title"), default=dict, help_text=_("In nl, fr and en."))
    audience = models.CharField(_("audience"), max_length=10, choices=Audience.choices)
    #: Who may see an internal dashboard (and everyone in the organisations below them).
    organisations = models.ManyToManyField(
        "core.Organisation",
        verbose_name=_("organisations"),
        blank=True,
        related_name="+",
    )
    #: The datasets its charts read: a new version of one of them renews its figures.
    datasets = models.JSONField(_("datasets"), default=list)
    origin = models.CharField(_("made in"), max_length=10, choices=Origin.choices)
    position = models.PositiveSmallIntegerField(_("position in the list"), default=100)
    #: Goes up with every save: part of every cached figure's key.
    revision = models.PositiveIntegerField(_("revision"), default=1)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("dashboard")
        verbose_name_plural = _("dashboards")
        ordering = ["position", "slug"]

    def __str__(self) -> str:
        return str(self.title.get("nl") or self.slug)
