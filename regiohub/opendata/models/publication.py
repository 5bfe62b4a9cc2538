"""A dataset on the open data portal: what the catalogue, its search, the DCAT-AP feed and
the CKAN API show of it.

Two kinds. A **local** publication describes an open dataset of the data platform: the
portal keeps a copy of what the data platform's read door says of it (title, description,
licence, columns, current version), refreshed from its events, next to what only the
portal holds (keywords, contact point, update frequency, places; the steward's decision to
publish). A **harvested** one describes a dataset another catalogue publishes (decision
0027): its identifiers and links are the original ones, its data stays there.

The copy is never trusted to decide who may see a local dataset: every list and page asks
the data platform which datasets are open at that moment (``opendata.queries``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Source(models.TextChoices):
    LOCAL = "local", _("This platform")
    HARVESTED = "harvested", _("Another catalogue")


class State(models.TextChoices):
    DRAFT = "draft", _("Not published")
    PUBLISHED = "published", _("Published")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Frequency(models.TextChoices):
    """How often the data changes: the EU's frequency vocabulary (DCAT-AP's
    ``dct:accrualPeriodicity``), by its codes."""

    CONT = "CONT", _("Continuously")
    HOURLY = "HOURLY", _("Every hour")
    DAILY = "DAILY", _("Every day")
    WEEKLY = "WEEKLY", _("Every week")
    MONTHLY = "MONTHLY", _("Every month")
    QUARTERLY = "QUARTERLY", _("Every quarter")
    ANNUAL = "ANNUAL", _("Every year")
    IRREG = "IRREG", _("Irregularly")
    NEVER = "NEVER", _("Never (a closed series)")
    UNKNOWN = "UNKNOWN", _("Unknown")


class Publication(models.Model):
    source = models.CharField(
        _("source"), max_length=10, choices=Source.choices, default=Source.LOCAL
    )
    #: The data platform's dataset (local publications); not a foreign key: the portal
    #: reads the data platform only through its doors.
    dataset_id = models.PositiveIntegerField(null=True, blank=True, unique=True, editable=False)
    slug = models.SlugField(_("address"), max_length=120, unique=True)
    #: ``dct:identifier``: the original one for a harvested dataset.
    identifier = models.CharField(_("identifier"), max_length=500, blank=True)
    #: The dataset's URI in its own catalogue (harvested); empty: ours, built from the site.
    uri = models.URLField(_("URI"), max_length=1000, blank=True)
    landing_page = models.URLField(_("landing page"), max_length=1000, blank=True)
    harvest_source_id = models.PositiveIntegerField(null=True, blank=True, editable=False)
    publisher = models.ForeignKey(
        "core.Organisation",
        verbose_name=_("publisher"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)

    # --- What only the portal holds (a steward describes it) ------------------------------
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    contact_name = models.CharField(
        pgettext_lazy("a service people can ask about a dataset", "contact point"),
        max_length=200,
        blank=True,
        help_text=_("A service, not a person: e.g. Dienst Mobiliteit."),
    )
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    frequency = models.CharField(
        _("update frequency"),
        max_length=10,
        choices=Frequency.choices,
        default=Frequency.UNKNOWN,
    )
    #: Spatial coverage: NIS codes of the municipalities the data is about.
    places = models.JSONField(_("municipalities covered"), default=list, blank=True)

    # --- What the data platform says (refreshed from its events) --------------------------
    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    theme = models.CharField(_("theme"), max_length=4, blank=True)
    licence = models.CharField(_("licence"), max_length=40, blank=True)
    licence_uri = models.URLField(_("licence URI"), max_length=500, blank=True)
    attribution = models.CharField(_("attribution"), max_length=300, blank=True)
    #: The data platform's answer the last time it was asked: may anybody read it?
    open = models.BooleanField(default=False)
    version = models.PositiveIntegerField(null=True, blank=True)
    rows = models.PositiveBigIntegerField(default=0)
    columns = models.JSONField(default=list, blank=True)
    temporal_start = models.DateField(_("data from"), null=True, blank=True)
    temporal_end = models.DateField(_("data until"), null=True, blank=True)
    #: Harvested: the distributions as the source describes them (title, url, format,
    #: media type, licence).
    distributions = models.JSONField(default=list, blank=True)
    issued = models.DateTimeField(_("first published"), null=True, blank=True)
    modified = models.DateTimeField(_("last changed"), null=True, blank=True)

    downloads = models.PositiveBigIntegerField(_("downloads"), default=0)
    #: Title, description, keywords and column names, stemmed (``opendata.search``).
    search_text = models.TextField(blank=True, editable=False)

    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("publication")
        verbose_name_plural = _("publications")
        ordering = ["title", "pk"]
        indexes = [
            models.Index(fields=["state", "open", "modified"], name="opendata_listed"),
            models.Index(fields=["harvest_source_id", "identifier"], name="opendata_harvested"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def listed(self) -> bool:
        return self.state == State.PUBLISHED and (self.open or self.source == Source.HARVESTED)


class PublicationFacet(models.Model):
    """One value of a publication on one facet of the catalogue (publisher, theme,
    licence, format, place, frequency, keyword): the rows facets are counted on."""

    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="facets")
    facet = models.CharField(max_length=12)
    value = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["publication", "facet", "value"], name="opendata_facet_once"
            )
        ]
        indexes = [models.Index(fields=["facet", "value"], name="opendata_facet_value")]

    def __str__(self) -> str:
        return f"{self.facet}={self.value}"
