from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from regiohub.meldpunt.workflow import FINISHED, OPEN, Status

#: The open states, in a fixed order: the public map's partial index and its queries spell
#: the same list, so that SQLite too sees that the index holds what a query asks.
MAP_STATUSES = sorted(str(status) for status in OPEN)


class Channel(models.TextChoices):
    WEB = "web", _("Website")
    PHONE = "phone", _("Phone")
    DESK = "desk", _("Desk")
    EMAIL = "email", _("E-mail")
    CHAT = "chat", _("Chat")
    API = "api", _("App or API")


class PlaceSource(models.TextChoices):
    """How the place of a report was found: it tells how far the point can be trusted."""

    MAP = "map", _("Marked on the map")
    PHOTO = "photo", _("Position of the photo, confirmed by the reporter")
    ADDRESS = "address", _("Address found in the address register")
    STAFF = "staff", _("Set by staff")
    MUNICIPALITY = "municipality", _("Not known: the centre of the municipality")


class ReferenceSequence(models.Model):
    """The last reference number handed out per municipality and year (KOR-2026-000123)."""

    organisation = models.ForeignKey("core.Organisation", on_delete=models.CASCADE)
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "year"], name="reference_seq_unique")
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id}/{self.year}: {self.last_number}"


class ReportQuerySet(models.QuerySet["Report"]):
    def open(self) -> ReportQuerySet:
        return self.exclude(status__in=FINISHED)


class Report(models.Model):
    """A citizen's report or question ("melding"), from any channel."""

    reference = models.CharField(_("reference"), max_length=20, unique=True)
    organisation = models.ForeignKey(
        "core.Organisation",
        verbose_name=_("municipality"),
        on_delete=models.PROTECT,
        related_name="reports",
    )
    category = models.ForeignKey(
        "meldpunt.Category", verbose_name=_("category"), on_delete=models.PROTECT
    )
    department = models.ForeignKey(
        "core.Department", verbose_name=_("department"), on_delete=models.PROTECT
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_reports",
    )
    status = models.CharField(
        _("status"), max_length=24, choices=Status.choices, default=Status.NEW
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    description = models.TextField(
        _("description"), max_length=5000, validators=[MaxLengthValidator(5000)]
    )
    latitude = models.FloatField(_("latitude"))
    longitude = models.FloatField(_("longitude"))
    address = models.CharField(_("address"), max_length=300, blank=True)
    location_is_approximate = models.BooleanField(
        _("location approximate"),
        default=False,
        help_text=_("Only the address and municipality were given; the point is the centre."),
    )
    location_source = models.CharField(
        _("place found by"),
        max_length=12,
        choices=PlaceSource.choices,
        default=PlaceSource.MAP,
    )
    address_register_id = models.CharField(
        _("address register id"),
        max_length=200,
        blank=True,
        help_text=_("The address in the Flemish address register, when the place was matched."),
    )
    district_code = models.CharField(
        _("district"),
        max_length=12,
        blank=True,
        db_index=True,
        help_text=_("The district (wijk) of the point; empty when the place is approximate."),
    )

    routing_state = models.CharField(
        _("routing"),
        max_length=12,
        blank=True,
        help_text=_("How the owner was found; see the report's routing trace."),
    )

    # The answers to the category's extra questions (CategoryAttribute), by code: checked by
    # meldpunt.attributes on filing, shown to staff only.
    attributes = models.JSONField(_("answers to the extra questions"), default=dict, blank=True)

    # Personal data: shown only to staff who handle the report; anonymised after retention.
    reporter_name = models.CharField(_("reporter's name"), max_length=200, blank=True)
    reporter_email = models.EmailField(_("reporter's e-mail"), blank=True)
    reporter_phone = models.CharField(_("reporter's phone"), max_length=40, blank=True)
    reporter_language = models.CharField(_("reporter's language"), max_length=5, default="nl")
    consent_at = models.DateTimeField(_("privacy notice accepted at"), null=True, blank=True)
    # The follow-up link's token is derived from this salt and the secret key (so mails can
    # repeat it); only its hash is looked up. Both are cleared when the report is anonymised.
    token_salt = models.CharField(max_length=32, blank=True, editable=False)
    token_hash = models.CharField(  # noqa: DJ001 - NULL: erased links must not collide
        max_length=64, unique=True, null=True, editable=False
    )
    # A random key the form sends along, so a double click or a resent form files once.
    client_key = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    anonymised_at = models.DateTimeField(_("contact details erased at"), null=True, blank=True)

    rating = models.PositiveSmallIntegerField(
        _("rating"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    rating_comment = models.TextField(_("comment with the rating"), max_length=2000, blank=True)
    rated_at = models.DateTimeField(_("rated at"), null=True, blank=True)

    # After resolution (models/satisfaction.py, ADR 0039): the facts the statistics count,
    # kept here so that counting a million reports reads this table only.
    first_resolved_at = models.DateTimeField(_("first resolved at"), null=True, blank=True)
    reopened_at = models.DateTimeField(
        _("first reopened at"),
        null=True,
        blank=True,
        help_text=_("The first time the report was reopened after it was resolved."),
    )
    satisfaction_asked_at = models.DateTimeField(_("satisfaction asked at"), null=True, blank=True)
    satisfied = models.BooleanField(_("satisfied"), null=True, blank=True)
    reopen_requested_at = models.DateTimeField(
        _("reopen first requested at"), null=True, blank=True
    )

    created_at = models.DateTimeField(_("reported at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("last change"), auto_now=True)
    responded_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    response_due_at = models.DateTimeField(_("response due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_reports",
    )
    split_from = models.ForeignKey(
        "self",
        verbose_name=_("split from"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="split_reports",
    )

    objects = ReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organisation", "status", "-created_at"]),
            models.Index(fields=["department", "status"]),
            models.Index(fields=["assignee", "status"]),
            models.Index(fields=["status", "resolution_due_at"]),
            models.Index(fields=["latitude", "longitude"]),
            models.Index(fields=["status", "response_due_at"]),
            models.Index(fields=["resolution_due_at", "id"], name="report_due_sort"),
            models.Index(fields=["closed_at"]),
            # The public map (views/public_map.py): open reports whose place is known, by
            # place; the category makes counting a view an index-only scan.
            models.Index(
                fields=["latitude", "longitude", "category"],
                condition=models.Q(status__in=MAP_STATUSES, location_is_approximate=False),
                name="report_open_map",
            ),
            # ... and newest first, for the map's list.
            models.Index(
                fields=["created_at", "id"],
                condition=models.Q(status__in=MAP_STATUSES, location_is_approximate=False),
                name="report_open_recent",
            ),
            models.Index(fields=["routing_state", "organisation"]),
            # The statistics find the months whose reports changed (ADR 0039).
            models.Index(fields=["updated_at"], name="report_updated"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def place_known(self) -> bool:
        """False when the point is only the municipality's centre: then it says nothing
        about where the problem is, and nothing may be measured from it."""
        return not self.location_is_approximate

    @property
    def is_anonymous(self) -> bool:
        return not (self.reporter_email or self.reporter_phone)

    @property
    def is_open(self) -> bool:
        return self.status not in FINISHED


class SlaPause(models.Model):
    """A stretch of time the SLA clock stood still (waiting for the reporter)."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="sla_pauses")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at"]

    def __str__(self) -> str:
        return f"{self.report_id}: {self.started_at} – {self.ended_at or '…'}"


class SlaState(models.TextChoices):
    ON_TIME = "on_time", _("On time")
    DUE_SOON = "due_soon", _("Due within a day")
    OVERDUE = "overdue", _("Overdue")
    PAUSED = "paused", _("Clock paused")
    DONE = "done", _("Finished")


def sla_state(report: Report, now=None) -> SlaState:
    """Where ``report`` stands against its SLA (the inbox filter uses the same rules)."""
    from datetime import timedelta

    from regiohub.meldpunt.workflow import SLA_PAUSED, UNANSWERED

    now = now or timezone.now()
    if report.status in FINISHED:
        return SlaState.DONE
    if report.status in SLA_PAUSED:
        return SlaState.PAUSED
    due = [report.resolution_due_at]
    if report.status in UNANSWERED:
        due.append(report.response_due_at)
    due = [d for d in due if d is not None]
    if not due:
        return SlaState.ON_TIME
    first = min(due)
    if first < now:
        return SlaState.OVERDUE
    if first < now + timedelta(days=1):
        return SlaState.DUE_SOON
    return SlaState.ON_TIME
