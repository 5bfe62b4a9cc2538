from django.db import models
from django.utils.translation import gettext_lazy as _


class IdempotencyKey(models.Model):
    """Marks a side effect as done, so a retried or duplicated task does it only once."""

    key = models.CharField(_("key"), max_length=200, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")

    def __str__(self) -> str:
        return self.key


class WorkerHeartbeat(models.Model):
    """A running ``regiohub worker``: its lease on the tasks it runs.

    The worker renews ``beat_at`` every few seconds from a background thread. A RUNNING task
    whose worker (the last id in its ``worker_ids``) has not beaten for
    ``REGIOHUB_TASK_LEASE_SECONDS`` is orphaned: any live worker puts it back in the queue
    (:func:`regiohub.core.tasks.requeue_orphaned`). A worker that stops cleanly deletes its row.
    """

    worker_id = models.CharField(_("worker id"), max_length=64, unique=True)
    hostname = models.CharField(_("host name"), max_length=255)
    pid = models.PositiveIntegerField(_("process id"))
    #: Queue names the worker serves; ``["*"]`` for all.
    queues = models.JSONField(_("queues"), default=list)
    started_at = models.DateTimeField(_("started at"))
    beat_at = models.DateTimeField(_("last heartbeat"), db_index=True)

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self) -> str:
        return f"{self.worker_id} ({self.hostname}:{self.pid})"
