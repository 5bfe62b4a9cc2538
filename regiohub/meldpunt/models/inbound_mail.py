from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class InboundMailState(models.TextChoices):
    NEW = "new", _("To be taken in")
    THREADED = "threaded", _("Added to its report")
    CONVERTED = "converted", _("Filed as a report")
    DISCARDED = "discarded", _("Discarded")


class InboundMail(models.Model):
    """A mail to the contact point: a reply threaded onto its report, or a draft that an
    agent takes in as a report (see meldpunt.contrib.mail)."""

    message_id = models.CharField(max_length=300, unique=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    from_address = models.EmailField(_("from"))
    from_name = models.CharField(_("name"), max_length=200, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body = models.TextField(_("text"), max_length=20000, blank=True)
    state = models.CharField(
        _("state"), max_length=12, choices=InboundMailState.choices, default=InboundMailState.NEW
    )
    report = models.ForeignKey(
        "meldpunt.Report", on_delete=models.SET_NULL, null=True, blank=True, related_name="mails"
    )
    #: What intake could not read (an unknown character set, skipped parts, a mail it
    #: could not read at all); the agent then opens ``original``.
    intake_note = models.TextField(_("intake note"), blank=True)
    #: The message as received, kept when it could not be read fully.
    original = models.FileField(
        _("original message"), upload_to="meldpunt/mail/original/", max_length=200, blank=True
    )

    class Meta:
        verbose_name = _("incoming mail")
        verbose_name_plural = _("incoming mails")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.from_address}: {self.subject}"


class InboundAttachment(models.Model):
    """A photo that came with a mail, already re-encoded without metadata."""

    mail = models.ForeignKey(InboundMail, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="meldpunt/mail/", max_length=200)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.mail_id}/{self.pk}"
