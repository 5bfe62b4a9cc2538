"""Other catalogues the portal harvests (decision 0031): a municipality's own DCAT-AP feed,
read on a schedule, whose datasets the portal lists as *harvested* publications with their
original identifiers and links (``Publication.harvest_source_id``).

A source is configured by an administrator (the Django admin); its runs are written by the
harvester only (``opendata.harvest``). The lease (``leased_until``, ``leased_by``) is what
keeps two workers from harvesting the same source at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class FeedFormat(models.TextChoices):
    """The RDF syntax of a feed whose answers do not say (``Content-Type``)."""

    AUTO = "auto", _("Recognise it")
    TURTLE = "turtle", _("Turtle")
    RDFXML = "rdfxml", _("RDF/XML")
    JSONLD = "jsonld", _("JSON-LD")


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    OK = "ok", _("Done")
    FAILED = "failed", _("Failed")


class HarvestSource(models.Model):
    name = models.CharField(_("name"), max_length=200)
    publisher = models.ForeignKey(
        "core.Organisation",
        verbose_name=_("publisher"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The municipality whose catalogue this is: the publisher of its datasets."),
    )
    url = models.URLField(
        _("feed address"),
        max_length=1000,
        help_text=_("The address of the catalogue's DCAT-AP feed (its first page)."),
    )
    format = models.CharField(
        _("format"),
        max_length=10,
        choices=FeedFormat.choices,
        default=FeedFormat.AUTO,
        help_text=_("Used when the feed's answers do not name their RDF syntax themselves."),
    )
    interval_hours = models.PositiveIntegerField(
        _("every (hours)"), default=24, help_text=_("How often the catalogue is read.")
    )
    enabled = models.BooleanField(_("enabled"), default=True)

    last_run_at = models.DateTimeField(_("last run"), null=True, blank=True, editable=False)
    last_ok_at = models.DateTimeField(
        _("last successful run"), null=True, blank=True, editable=False
    )
    #: Our short reason (HTTP status, what could not be read), never the remote body.
    last_error = models.CharField(_("last error"), max_length=500, blank=True, editable=False)
    last_created = models.PositiveIntegerField(_("created"), default=0, editable=False)
    last_updated = models.PositiveIntegerField(_("updated"), default=0, editable=False)
    last_withdrawn = models.PositiveIntegerField(_("withdrawn"), default=0, editable=False)
    last_unchanged = models.PositiveIntegerField(_("unchanged"), default=0, editable=False)

    #: Until when a run holds the source, and which run (a random token).
    leased_until = models.DateTimeField(null=True, blank=True, editable=False)
    leased_by = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("harvest source")
        verbose_name_plural = _("harvest sources")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    def is_due(self, now: datetime | None = None) -> bool:
        """Enabled, not held by a run, and its interval passed since the last run."""
        now = now or timezone.now()
        if not self.enabled or (self.leased_until is not None and self.leased_until > now):
            return False
        if self.last_run_at is None:
            return True
        return now - self.last_run_at >= timedelta(hours=self.interval_hours)


class HarvestRun(models.Model):
    """One run of a source: what it found and did, or why it failed (nothing changed then)."""

    source = models.ForeignKey(HarvestSource, on_delete=models.CASCADE, related_name="runs")
    #: Who started it: ``schedule``, ``command`` or ``admin``.
    trigger = models.CharField(_("started by"), max_length=20, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING
    )
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    pages = models.PositiveIntegerField(_("pages"), default=0)
    found = models.PositiveIntegerField(_("datasets found"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    withdrawn = models.PositiveIntegerField(_("withdrawn"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    #: Datasets of the feed that could not be taken (no identifier, a repeated one).
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    error = models.CharField(_("error"), max_length=500, blank=True)
    #: What the run noticed without failing (paging that looped back, skipped datasets).
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("harvest run")
        verbose_name_plural = _("harvest runs")
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["source", "-started_at"], name="opendata_harvest_runs")]

    def __str__(self) -> str:
        return f"{self.source} {self.started_at:%Y-%m-%d %H:%M} {self.status}"
