"""A call of the write API that came with an ``Idempotency-Key``: kept with its answer, so
that the same call sent again (a client that lost the answer) is answered the same instead
of loading its rows twice. Kept for ``REGIOHUB_DATASETS_WRITE_KEY_HOURS``."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .dataset import Dataset
from .load import Load


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
