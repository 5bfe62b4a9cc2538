from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from regiohub.meldpunt.workflow import Status


class MessageKind(models.TextChoices):
    NOTE = "note", _("Internal note")
    TO_REPORTER = "to_reporter", _("Message to the reporter")
    QUESTION = "question", _("Question to the reporter")
    FROM_REPORTER = "from_reporter", _("Message from the reporter")
    HANDOVER = "handover", _("Hand-over")


#: Kinds the citizen sees on the follow-up page. Internal notes and hand-overs never are.
PUBLIC_KINDS = frozenset({MessageKind.TO_REPORTER, MessageKind.QUESTION, MessageKind.FROM_REPORTER})


class Message(models.Model):
    """One line in the conversation about a report: a note between staff, or a message
    to or from the reporter."""

    report = models.ForeignKey("meldpunt.Report", on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(_("kind"), max_length=16, choices=MessageKind.choices)
    body = models.TextField(_("text"), max_length=5000)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("written at"), default=timezone.now)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["report", "created_at"])]

    def __str__(self) -> str:
        return f"{self.report_id} {self.kind} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_public(self) -> bool:
        return self.kind in PUBLIC_KINDS


class MessageTemplate(models.Model):
    """A ready answer for the reporter, with placeholders such as {reference}.

    A template of a municipality wins over a region-wide one (organisation empty); one
    for a status is offered when the report is in (or moves to) that status.
    """

    organisation = models.ForeignKey(
        "core.Organisation",
        verbose_name=_("municipality"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        help_text=_("Empty: offered in every municipality."),
    )
    status = models.CharField(
        _("status"), max_length=24, choices=Status.choices, blank=True,
        help_text=_("Empty: offered in every status."),
    )  # fmt: skip
    language = models.CharField(
        _("language"), max_length=5, choices=settings.LANGUAGES, default="nl"
    )
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(
        _("text"),
        max_length=5000,
        help_text=_(
            "Placeholders: {reference}, {category}, {municipality}, {status}, {address}, "
            "{name}, {date}."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title
