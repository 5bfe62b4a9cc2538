from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from regiohub.core.i18n import localised

#: The most a category's place may be blurred on the public map: a 5 km square says little
#: more than the municipality.
MAP_GENERALISE_MAX_M = 5000


class Category(models.Model):
    """What a report is about, in one municipality: its wording, department and SLA.

    Municipalities share ``code``s (``pothole``, ``street-light``, ...) so that a citizen
    picks a subject once and the location decides whose category it becomes.
    """

    organisation = models.ForeignKey(
        "core.Organisation",
        verbose_name=_("municipality"),
        on_delete=models.PROTECT,
        related_name="report_categories",
    )
    code = models.CharField(
        _("code"),
        max_length=50,
        validators=[RegexValidator(r"^[a-z0-9-]+$", _("Lower-case letters, digits and dashes."))],
        help_text=_("Shared across municipalities for the same subject, e.g. pothole."),
    )
    name = models.CharField(_("name (Dutch)"), max_length=120)
    name_fr = models.CharField(_("name (French)"), max_length=120, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    help_text = models.CharField(_("help (Dutch)"), max_length=300, blank=True)
    help_text_fr = models.CharField(_("help (French)"), max_length=300, blank=True)
    help_text_en = models.CharField(_("help (English)"), max_length=300, blank=True)
    department = models.ForeignKey(
        "core.Department",
        verbose_name=_("responsible department"),
        on_delete=models.PROTECT,
        related_name="report_categories",
    )
    response_days = models.DecimalField(
        _("response time (business days)"),
        max_digits=5,
        decimal_places=1,
        default=Decimal("2"),
        validators=[MinValueValidator(Decimal("0.5"))],
    )
    resolution_days = models.DecimalField(
        _("resolution time (business days)"),
        max_digits=5,
        decimal_places=1,
        default=Decimal("10"),
        validators=[MinValueValidator(Decimal("0.5"))],
    )
    allow_anonymous = models.BooleanField(_("anonymous reports allowed"), default=True)
    is_active = models.BooleanField(_("active"), default=True)
    # The public map of open reports (views/public_map.py, ADR 0035).
    is_public_on_map = models.BooleanField(
        _("on the public map"),
        default=True,
        help_text=_(
            "Open reports of this subject are shown on the public map, without description, "
            "photos, contact details or house number. Switch it off for subjects about a "
            "person or a home."
        ),
    )
    map_generalise_m = models.PositiveIntegerField(
        _("blur on the public map (metres)"),
        default=0,
        validators=[MaxValueValidator(MAP_GENERALISE_MAX_M)],
        help_text=_(
            "0 shows the place as reported. Otherwise the public map shows the centre of a "
            "square of this many metres around it, and no street: for sensitive subjects "
            "such as noise."
        ),
    )

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["organisation__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "code"], name="category_code_per_org")
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.organisation})"

    @property
    def display_name(self) -> str:
        return localised(self, "name")

    @property
    def display_help(self) -> str:
        return localised(self, "help_text")


class AttributeType(models.TextChoices):
    """The kinds of answer a question takes: Open311's datatypes, under their own names."""

    STRING = "string", _("Short text (one line)")
    TEXT = "text", _("Longer text")
    NUMBER = "number", _("Number")
    DATETIME = "datetime", _("Date and time")
    SINGLE = "singlevaluelist", _("One answer from a list")
    MULTI = "multivaluelist", _("Any answers from a list")


#: The datatypes whose answers come from ``CategoryAttribute.values``.
LIST_TYPES = (AttributeType.SINGLE, AttributeType.MULTI)
#: The most answers a list may offer: a question, not a catalogue.
MAX_OPTIONS = 30
_OPTION_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,50}$")


@dataclass(frozen=True)
class Option:
    """One answer of a list: the ``key`` apps send and reports store, and its name."""

    key: str
    name: str


class CategoryAttribute(models.Model):
    """An extra question of a category ("Lamp number", "Is the road blocked?"): asked on the
    public form and in the agent intake, and in Open311 as a service attribute.

    The answers are stored on the report (``Report.attributes``, by ``code``) and shown to
    staff only. ``values`` holds a list's answers, one per line: ``key | Dutch | French |
    English`` (French and English may be left out).
    """

    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        on_delete=models.CASCADE,
        related_name="attributes",
    )
    code = models.CharField(
        _("code"),
        max_length=50,
        validators=[
            RegexValidator(
                r"^[a-z0-9][a-z0-9_-]*$",
                _("Lower-case letters, digits, dashes and underscores."),
            )
        ],
        help_text=_("What apps send and reports store, e.g. lamp-number. Keep it once in use."),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=1)
    datatype = models.CharField(
        _("kind of answer"),
        max_length=16,
        choices=AttributeType.choices,
        default=AttributeType.STRING,
    )
    required = models.BooleanField(_("required"), default=False)
    label = models.CharField(_("question (Dutch)"), max_length=200)
    label_fr = models.CharField(_("question (French)"), max_length=200, blank=True)
    label_en = models.CharField(_("question (English)"), max_length=200, blank=True)
    help_text = models.CharField(_("help (Dutch)"), max_length=300, blank=True)
    help_text_fr = models.CharField(_("help (French)"), max_length=300, blank=True)
    help_text_en = models.CharField(_("help (English)"), max_length=300, blank=True)
    values = models.TextField(
        _("answers to choose from"),
        blank=True,
        help_text=_(
            "Only for the two list kinds: one answer per line, as key | Dutch | French | "
            "English, e.g. yes | Ja | Oui | Yes. The key is what apps send and reports store."
        ),
    )

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["category", "code"], name="attribute_code_per_category")
        ]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        errors = self.values_errors()
        if errors:
            raise ValidationError({"values": errors})

    def values_errors(self) -> list[str]:
        """What is wrong with ``values`` for this datatype (empty when it is right)."""
        lines = [line for line in self.values.splitlines() if line.strip()]
        if self.datatype not in LIST_TYPES:
            return [_("Only the list kinds have answers to choose from.")] if lines else []
        if not lines:
            return [_("Give at least one answer to choose from.")]
        if len(lines) > MAX_OPTIONS:
            return [_("At most %(count)d answers.") % {"count": MAX_OPTIONS}]
        errors, keys = [], set()
        for number, line in enumerate(lines, start=1):
            parts = [part.strip() for part in line.split("|")]
            if len(parts) < 2 or len(parts) > 4 or not parts[1] or not _OPTION_KEY.match(parts[0]):
                errors.append(
                    _("Line %(number)d: write key | Dutch | French | English.") % {"number": number}
                )
            elif parts[0] in keys:
                errors.append(
                    _("Line %(number)d: the key %(key)s is used twice.")
                    % {"number": number, "key": parts[0]}
                )
            keys.add(parts[0])
        return errors

    @property
    def display_label(self) -> str:
        return localised(self, "label")

    @property
    def display_help(self) -> str:
        return localised(self, "help_text")

    def options(self) -> list[Option]:
        """The answers of a list, named in the active language (Dutch when not translated)."""
        if self.datatype not in LIST_TYPES:
            return []
        column = {"fr": 2, "en": 3}.get((get_language() or "nl")[:2], 1)
        found: list[Option] = []
        for line in self.values.splitlines():
            parts = [part.strip() for part in line.split("|")]
            if len(parts) < 2 or not _OPTION_KEY.match(parts[0]):
                continue
            name = parts[column] if column < len(parts) and parts[column] else parts[1]
            found.append(Option(parts[0], name))
        return found


class ClosingDay(models.Model):
    """A day on which a municipality's services are closed; the SLA clock skips it.

    Whole days only. ``repeats_yearly`` closes the same day of the month every year from
    ``date`` on (2 January, 26 December); a yearly 29 February closes in leap years only.
    """

    organisation = models.ForeignKey(
        "core.Organisation",
        verbose_name=_("municipality"),
        on_delete=models.CASCADE,
        related_name="closing_days",
    )
    date = models.DateField(_("date"))
    description = models.CharField(_("description"), max_length=120, blank=True)
    repeats_yearly = models.BooleanField(
        _("every year"),
        default=False,
        help_text=_(
            "Closed on this day every year from this date on. A yearly 29 February closes "
            "in leap years only."
        ),
    )

    class Meta:
        verbose_name = _("closing day")
        verbose_name_plural = _("closing days")
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "date"], name="closing_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.organisation}: {self.date}"


class SlaCalendar(models.Model):
    """How one organisation's SLA calendar differs from the Belgian public holidays.

    Without a row an organisation keeps the defaults: every municipality of the region is
    a Flemish administration, closed on 11 July.
    """

    organisation = models.OneToOneField(
        "core.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="sla_calendar",
    )
    flemish_community_holiday = models.BooleanField(
        _("closed on 11 July"),
        default=True,
        help_text=_(
            "The holiday of the Flemish Community: a day off for administrations in "
            "Flanders. The SLA clock does not run that day."
        ),
    )

    class Meta:
        verbose_name = _("SLA calendar")
        verbose_name_plural = _("SLA calendars")

    def __str__(self) -> str:
        return str(self.organisation)
