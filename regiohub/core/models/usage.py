"""How often something was used, per day: a dataset's page views, downloads per format and
version, API calls. Written in batches by ``core.usage``, never once per request."""

from __future__ import annotations

from django.db import models


class UsageCount(models.Model):
    #: What was used, as its module names it: ``dataset:12``, ``publication:5``.
    subject = models.CharField(max_length=80)
    #: ``view``, ``download``, ``api``.
    kind = models.CharField(max_length=20)
    #: What kind of use, when it matters: ``csv:v3`` for a download.
    detail = models.CharField(max_length=40, blank=True)
    day = models.DateField()
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "kind", "detail", "day"], name="usage_count_once"
            )
        ]
        indexes = [models.Index(fields=["subject", "day"], name="usage_subject_day")]

    def __str__(self) -> str:
        return f"{self.subject} {self.kind} {self.detail} {self.day}: {self.count}"
