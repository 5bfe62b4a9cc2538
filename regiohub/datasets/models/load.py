"""One attempt to put rows into a dataset: inspected, reviewed, validated, then committed
as a new version, or refused with an error report while the current version stays."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .dataset import Dataset, DatasetVersion


class LoadState(models.TextChoices):
    INSPECTING = "inspecting", _("Reading the file")
    REVIEW = "review", _("Waiting for the columns to be checked")
    #: A dry run: the worker works out what the load would do, then it waits for review.
    CHECKING = "checking", _("Working out what the load would do")
    QUEUED = "queued", _("Waiting to be loaded")
    LOADING = "loading", _("Loading")
    DONE = "done", _("Loaded")
    FAILED = "failed", _("Refused")
    CANCELLED = "cancelled", _("Cancelled")


#: States a load never leaves.
FINAL_STATES = frozenset({LoadState.DONE, LoadState.FAILED, LoadState.CANCELLED})


class LoadMode(models.TextChoices):
    APPEND = "append", _("Add the rows")
    UPSERT = "upsert", _("Add new rows, update rows with a known key")
    REPLACE = "replace", _("Replace all rows")


class LoadSource(models.TextChoices):
    UPLOAD = "upload", _("Upload")
    FEED = "feed", _("Feed")
    #: Rows sent to the write API (``POST /api/v1/datasets/<slug>/rows/``).
    API = "api", _("Write API")


class Load(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="loads")
    source = models.CharField(
        _("source"), max_length=10, choices=LoadSource.choices, default=LoadSource.UPLOAD
    )
    state = models.CharField(
        _("state"), max_length=12, choices=LoadState.choices, default=LoadState.INSPECTING
    )
    mode = models.CharField(
        _("mode"), max_length=10, choices=LoadMode.choices, default=LoadMode.APPEND
    )
    #: The uploaded file, relative to the uploads folder; removed once the load is final.
    file = models.CharField(max_length=300, blank=True)
    filename = models.CharField(_("file"), max_length=255, blank=True)
    size = models.PositiveBigIntegerField(_("size in bytes"), default=0)
    options = models.JSONField(default=dict, blank=True)  # sheet, delimiter, encoding, ...
    detected = models.JSONField(default=dict, blank=True)  # what the reader found
    schema = models.JSONField(_("columns"), default=list, blank=True)
    primary_key = models.JSONField(_("primary key"), default=list, blank=True)
    preview = models.JSONField(default=list, blank=True)  # first rows, as text
    rows_total = models.PositiveBigIntegerField(_("rows"), default=0)
    rows_done = models.PositiveBigIntegerField(_("rows done"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    error_count = models.PositiveIntegerField(_("number of errors"), default=0)
    #: The answer of the last dry run (``services.dry_run``): the counts, the first changed
    #: rows, or why the load would be refused. Nothing else of a dry run is kept.
    dry_run = models.JSONField(_("dry run"), default=dict, blank=True)
    message = models.CharField(_("message"), max_length=500, blank=True)
    #: The language of the person who started the load: its messages and error report are
    #: written in it (the work runs in the background, without their request).
    language = models.CharField(max_length=10, blank=True)
    version = models.OneToOneField(
        DatasetVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="load"
    )
    #: The number of the dataset's current version when the load started loading (0: the
    #: dataset had none; empty: not started). A requeued run keeps it: a load never
    #: publishes after a newer load started from the same base (see services.execute).
    base_version = models.PositiveIntegerField(_("base version"), null=True, blank=True)
    started_at = models.DateTimeField(_("loading since"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("load")
        verbose_name_plural = _("loads")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.dataset} load {self.pk} ({self.state})"

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def progress(self) -> int:
        """Percent done, for the progress bar."""
        if self.state in FINAL_STATES:
            return 100
        if not self.rows_total:
            return 0
        return min(99, int(100 * self.rows_done / self.rows_total))
