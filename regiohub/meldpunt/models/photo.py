from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def photo_path(photo: Photo, filename: str) -> str:
    # Never the uploaded name: it can hold personal data or path tricks.
    return f"meldpunt/photos/{photo.report.organisation_id}/{uuid.uuid4().hex}.jpg"


class Photo(models.Model):
    """A photo of a report, re-encoded and stripped of metadata (see meldpunt.photos).

    Files live outside the public static area and are served by views that check the
    follow-up token or the staff member's access.
    """

    report = models.ForeignKey("meldpunt.Report", on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(upload_to=photo_path, max_length=200)
    content_type = models.CharField(max_length=40, default="image/jpeg")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    by_reporter = models.BooleanField(_("added by the reporter"), default=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.report_id}/{self.pk}"
