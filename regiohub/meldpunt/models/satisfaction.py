"""What the reporter says once their report is resolved: the standard answers a
municipality offers, the answer given, and a request to look at the report again.

The report itself keeps the few facts the statistics count (``Report.first_resolved_at``,
``satisfaction_asked_at``, ``satisfied``, ``reopen_requested_at``, ``reopened_at``), so
that counting a million reports reads one table; the rows here hold the details an agent
reads (see ADR 0039).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from regiohub.core.i18n import localised


class SatisfactionOption(models.Model):
    """One standard answer to "Are you satisfied with how we handled your report?".

    A municipality with active answers of its own offers those; the others offer the
    region-wide ones (organisation empty)."""

    organisation = models.ForeignKey(
        "core.Organisation",
        verbose_name=_("municipality"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="satisfaction_options",
        help_text=_("Empty: offered in every municipality without answers of its own."),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    text = models.CharField(_("answer (Dutch)"), max_length=200)
    text_fr = models.CharField(_("answer (French)"), max_length=200, blank=True)
    text_en = models.CharField(_("answer (English)"), max_length=200, blank=True)
    satisfied = models.BooleanField(
        _("means satisfied"),
        help_text=_("Counted as a satisfied reporter in the statistics."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("satisfaction answer")
        verbose_name_plural = _("satisfaction answers")
        ordering = ["organisation_id", "position", "pk"]

    def __str__(self) -> str:
        return self.display_text

    @property
    def display_text(self) -> str:
        return localised(self, "text")


def options_for(organisation_id: int) -> list[SatisfactionOption]:
    """The answers offered to a reporter of this municipality, in their order."""
    own = list(SatisfactionOption.objects.filter(organisation_id=organisation_id, is_active=True))
    if own:
        return own
    return list(SatisfactionOption.objects.filter(organisation__isnull=True, is_active=True))


class SatisfactionAnswer(models.Model):
    """The reporter's one answer about one report (asked once, answered once)."""

    report = models.OneToOneField(
        "meldpunt.Report",
        verbose_name=_("report"),
        on_delete=models.CASCADE,
        related_name="satisfaction_answer",
    )
    option = models.ForeignKey(
        SatisfactionOption,
        verbose_name=_("answer"),
        on_delete=models.SET_NULL,  # the answer's meaning is kept in ``satisfied``
        null=True,
        blank=True,
    )
    #: The option's text as the reporter read it (an administrator may reword it later).
    text = models.CharField(_("answer as shown"), max_length=200, blank=True)
    satisfied = models.BooleanField(_("satisfied"))
    comment = models.TextField(_("comment"), max_length=2000, blank=True)
    answered_at = models.DateTimeField(_("answered at"), default=timezone.now)

    class Meta:
        verbose_name = _("satisfaction answer of a reporter")
        verbose_name_plural = _("satisfaction answers of reporters")

    def __str__(self) -> str:
        return f"{self.report_id}: {'+' if self.satisfied else '-'}"


class ReopenDecision(models.TextChoices):
    PENDING = "pending", _("Waiting for an agent")
    REOPENED = "reopened", _("Reopened")
    DECLINED = "declined", _("Declined")


class ReopenRequest(models.Model):
    """The reporter asks to look at a resolved report again. It waits for an agent, who
    reopens the report (a status change) or declines with a message to the reporter."""

    report = models.ForeignKey(
        "meldpunt.Report",
        verbose_name=_("report"),
        on_delete=models.CASCADE,
        related_name="reopen_requests",
    )
    reason = models.TextField(_("reason"), max_length=2000)
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    decision = models.CharField(
        _("decision"),
        max_length=10,
        choices=ReopenDecision.choices,
        default=ReopenDecision.PENDING,
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )

    class Meta:
        verbose_name = _("request to reopen")
        verbose_name_plural = _("requests to reopen")
        ordering = ["requested_at", "pk"]
        constraints = [
            # One waiting request per report: a second click asks nothing new. The inbox's
            # "Reopen requested" filter reads this (partial) index.
            models.UniqueConstraint(
                fields=["report"],
                condition=models.Q(decision="pending"),
                name="reopen_request_one_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.report_id}: {self.decision}"


class StatisticsMonth(models.Model):
    """The statistics of the reports of one municipality and category filed in one local
    month, counted ahead so that the statistics page reads a few thousand rows instead of
    a million reports (ADR 0039). ``meldpunt.statistics`` fills it from the reports that
    changed; nothing else writes it.

    The counts add up over months. The median does not: the cell keeps the lead times it
    is taken from, packed (little-endian), so any grouping of cells gives the exact median.
    "First time right" is judged 30 days after a report's first resolution, at the moment
    of the question: the cell counts the reports judged when it was counted, and keeps the
    first resolutions of the reports not judged yet then."""

    organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    category = models.ForeignKey("meldpunt.Category", on_delete=models.CASCADE, related_name="+")
    month = models.DateField()  # the first day of the local month the reports were filed in
    filed = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    asked = models.PositiveIntegerField(default=0)
    answered = models.PositiveIntegerField(default=0)
    satisfied = models.PositiveIntegerField(default=0)
    reopen_requested = models.PositiveIntegerField(default=0)
    reopened = models.PositiveIntegerField(default=0)
    resolved_now = models.PositiveIntegerField(default=0)
    on_time = models.PositiveIntegerField(default=0)
    #: First resolved FIRST_TIME_RIGHT_DAYS or more before ``counted_at`` ...
    judged = models.PositiveIntegerField(default=0)
    #: ... and of those, reopened within FIRST_TIME_RIGHT_DAYS of that first resolution.
    judged_reopened_soon = models.PositiveIntegerField(default=0)
    #: Seconds from filing to resolution of each report resolved or closed now (uint32).
    lead_seconds = models.BinaryField(default=b"")
    #: The first resolution (Unix seconds, int64) of each report first resolved later than
    #: FIRST_TIME_RIGHT_DAYS before ``counted_at``: judged when the question is asked ...
    first_resolved = models.BinaryField(default=b"")
    #: ... and of those reopened within FIRST_TIME_RIGHT_DAYS of it.
    reopened_soon = models.BinaryField(default=b"")
    counted_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "organisation", "category"], name="statistics_month_cell"
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.organisation_id}/{self.category_id}: {self.filed}"


class StatisticsWatermark(models.Model):
    """When the last complete count of the changed months began (one row). The next count
    looks at the reports changed since then, less a margin for filings still committing,
    so a worker stopped for hours, or killed halfway through a count, misses nothing."""

    began_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.began_at:%Y-%m-%d %H:%M}"
