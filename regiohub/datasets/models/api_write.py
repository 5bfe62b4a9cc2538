"""Calls of the write API kept in the database.

:class:`ApiWrite`: a call that came with an ``Idempotency-Key``, kept with its answer, so
that the same call sent again (a client that lost the answer) is answered the same instead
of loading its rows twice. Kept for ``REGIOHUB_DATASETS_WRITE_KEY_HOURS``.

:class:`WriteBatch` and :class:`BatchedWrite`: for a dataset that gathers write API calls
(``Dataset.write_batch_seconds``), the calls of one interval, each converted and checked
when it came and staged as a file, published at the batch's due time as one load and one
version (``datasets.writing``; docs/decisions/0025, its addendum).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .dataset import Dataset
from .load import Load, LoadMode


class ApiWrite(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    #: The prefix of the API token the call came with; empty for a logged-in session.
    token_prefix = models.CharField(max_length=16, blank=True)
    key = models.CharField(_("idempotency key"), max_length=200)
    #: SHA-256 of what was sent (body, content type, mode): the same key with another
    #: body is refused rather than answered with the first call's answer.
    fingerprint = models.CharField(max_length=64)
    #: The answer's HTTP status and body; no status yet while the call runs.
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    answer = models.JSONField(default=dict, blank=True)
    load = models.ForeignKey(
        Load, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("API write")
        verbose_name_plural = _("API writes")
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "user", "token_prefix", "key"], name="api_write_key_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.dataset_id} {self.key}"


class WriteBatchState(models.TextChoices):
    #: Taking calls until ``due_at``.
    OPEN = "open", _("Gathering calls")
    #: Takes no more calls; being published (or waiting for a worker to publish it).
    CLOSED = "closed", _("Being published")
    PUBLISHED = "published", _("Published")
    REFUSED = "refused", _("Refused")


#: States a batch never leaves.
BATCH_FINAL_STATES = frozenset({WriteBatchState.PUBLISHED, WriteBatchState.REFUSED})


class WriteBatch(models.Model):
    """Write API calls to one dataset, gathered to be published as one version."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="write_batches")
    state = models.CharField(
        _("state"), max_length=10, choices=WriteBatchState.choices, default=WriteBatchState.OPEN
    )
    #: One mode per batch: a call with another mode closes the open batch and starts one.
    mode = models.CharField(_("mode"), max_length=10, choices=LoadMode.choices)
    #: The current version's columns and key when the batch opened: its calls were
    #: converted to them, and it is refused if the dataset's columns changed since.
    schema = models.JSONField(_("columns"), default=list)
    primary_key = models.JSONField(_("primary key"), default=list, blank=True)
    #: When the batch is published; it takes calls until then.
    due_at = models.DateTimeField(_("due at"), db_index=True)
    calls = models.PositiveIntegerField(_("calls"), default=0)
    rows = models.PositiveBigIntegerField(_("rows"), default=0)
    #: The bytes of rows its calls sent (as NDJSON): a batch takes calls up to the size
    #: of an upload (REGIOHUB_DATASETS_UPLOAD_MB).
    size = models.PositiveBigIntegerField(_("size in bytes"), default=0)
    #: Runs of its task that started publishing it: the last one the task may make
    #: (REGIOHUB_TASK_MAX_ATTEMPTS) refuses it when it fails too, so that the batches
    #: after it, which wait for it, are published.
    attempts = models.PositiveSmallIntegerField(default=0)
    #: The language of its first call: the messages of its publishing are written in it.
    language = models.CharField(max_length=10, blank=True)
    #: The load of source ``api`` that published the batch (or was refused).
    load = models.OneToOneField(
        Load, on_delete=models.SET_NULL, null=True, blank=True, related_name="write_batch"
    )
    message = models.CharField(_("message"), max_length=500, blank=True)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    error_count = models.PositiveIntegerField(_("number of errors"), default=0)
    created_at = models.DateTimeField(_("opened at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("write API batch")
        verbose_name_plural = _("write API batches")
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.dataset} batch {self.pk} ({self.state})"

    @property
    def is_final(self) -> bool:
        return self.state in BATCH_FINAL_STATES

    @property
    def folder(self) -> str:
        """Where its rows are merged while it is published, relative to the uploads."""
        return f"write-batch-{self.pk}"


class BatchedWrite(models.Model):
    """One call of a batch: its converted rows, staged in a Parquet file."""

    batch = models.ForeignKey(WriteBatch, on_delete=models.CASCADE, related_name="writes")
    #: Its place in the batch, from 1: later calls win per key (upsert).
    number = models.PositiveIntegerField(_("call"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    #: The prefix of the API token the call came with; empty for a logged-in session.
    token_prefix = models.CharField(max_length=16, blank=True)
    #: The staged rows, relative to the uploads folder; removed once the batch is final.
    file = models.CharField(max_length=300)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    size = models.PositiveBigIntegerField(_("size in bytes"), default=0)
    #: Column names as sent, by the column's name: errors name them as the call did.
    columns = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        verbose_name = _("batched write API call")
        verbose_name_plural = _("batched write API calls")
        ordering = ["batch", "number"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "number"], name="batched_write_once")
        ]

    def __str__(self) -> str:
        return f"batch {self.batch_id} call {self.number}"
