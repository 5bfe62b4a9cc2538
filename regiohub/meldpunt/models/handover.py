from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from regiohub.core.i18n import localised


class ExternalBody(models.Model):
    """An organisation outside the region's municipalities that owns assets reports are
    about: the Flemish roads agency, the grid operator, the water company, De Lijn."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name (Dutch)"), max_length=120)
    name_fr = models.CharField(_("name (French)"), max_length=120, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    email = models.EmailField(_("e-mail for hand-overs"))
    description = models.CharField(_("what they handle"), max_length=300, blank=True)
    manager_codes = models.CharField(
        _("manager codes in asset layers"),
        max_length=300,
        blank=True,
        help_text=_(
            "The codes this body has in the layers' manager field, separated by commas "
            "(e.g. AWV312 for the roads agency's district Kortrijk; end with * for a prefix)."
        ),
    )
    acknowledge_days = models.PositiveSmallIntegerField(
        _("business days to acknowledge"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text=_(
            "A hand-over not acknowledged within this many business days (the "
            "municipality's SLA calendar) shows as overdue in the inbox."
        ),
    )
    tell_reporter_when_acknowledged = models.BooleanField(
        _("tell the reporter when acknowledged"),
        default=False,
        help_text=_(
            "The reporter always hears when the body solves the problem or sends the report "
            "back; with this on, also when it acknowledges the report."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("external body")
        verbose_name_plural = _("external bodies")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return localised(self, "name")


class HandoverState(models.TextChoices):
    """Where a hand-over to an external body stands (empty for one to a municipality)."""

    SENT = "sent", _("Sent, waiting for acknowledgement")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    REJECTED = "rejected", _("Sent back: not theirs")
    RESOLVED = "resolved", _("Resolved by the body")
    ENDED = "ended", _("Ended by the municipality")


#: The body can still answer a hand-over in these states.
ACTIVE_STATES = (HandoverState.SENT, HandoverState.ACKNOWLEDGED)


class Handover(models.Model):
    """The record of a report handed to another municipality or to an external body.

    A hand-over to an external body is followed until the body answers (ADR 0038): it
    acknowledges, sends the report back or resolves it, through its private link (only the
    link's hash is kept, as for the reporter's) or through Open311.
    """

    report = models.ForeignKey(
        "meldpunt.Report", on_delete=models.CASCADE, related_name="handovers"
    )
    from_organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    to_organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_external_body = models.ForeignKey(
        ExternalBody, on_delete=models.PROTECT, null=True, blank=True
    )
    reason = models.TextField(_("reason"), max_length=2000)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(_("mail sent at"), null=True, blank=True)

    state = models.CharField(
        _("state"), max_length=12, choices=HandoverState.choices, blank=True, default=""
    )
    acknowledge_due_at = models.DateTimeField(_("acknowledgement due"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledgement = models.TextField(_("note with the acknowledgement"), blank=True)
    answered_at = models.DateTimeField(
        _("answered at"),
        null=True,
        blank=True,
        help_text=_("When the body sent the report back or resolved it, or we took it back."),
    )
    answer = models.TextField(
        _("the body's answer"),
        blank=True,
        help_text=_("Why it is not theirs, or their message to the reporter."),
    )
    answered_by = models.CharField(_("answered by"), max_length=200, blank=True)
    # The body's private link: derived from this salt and the secret key, only its hash
    # is looked up (as for the reporter's follow-up link, ADR 0010).
    token_salt = models.CharField(max_length=32, blank=True, editable=False)
    token_hash = models.CharField(  # noqa: DJ001 - NULL: hand-overs without a link
        max_length=64, unique=True, null=True, editable=False
    )

    class Meta:
        verbose_name = _("hand-over")
        verbose_name_plural = _("hand-overs")
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(to_organisation__isnull=False, to_external_body__isnull=True)
                | models.Q(to_organisation__isnull=True, to_external_body__isnull=False),
                name="handover_one_target",
            )
        ]
        indexes = [
            # The inbox's "Hand-over overdue" filter and the daily digest.
            models.Index(
                fields=["acknowledge_due_at"],
                condition=models.Q(state="sent"),
                name="handover_waiting_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.report_id} -> {self.to_organisation_id or self.to_external_body_id}"

    @property
    def target_name(self) -> str:
        target = self.to_organisation or self.to_external_body
        return target.display_name if target else ""

    @property
    def is_active(self) -> bool:
        """The body can still answer (the report is with it)."""
        return self.state in ACTIVE_STATES

    def is_overdue(self, now: datetime | None = None) -> bool:
        """Sent, not acknowledged, and past its due date."""
        return (
            self.state == HandoverState.SENT
            and self.acknowledge_due_at is not None
            and self.acknowledge_due_at < (now or timezone.now())
        )

    @property
    def overdue(self) -> bool:
        """:meth:`is_overdue` now (for templates)."""
        return self.is_overdue()
