"""A dataset and its published versions: metadata in the database, rows in a Delta table."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from regiohub.core import access
from regiohub.datasets.permissions import MANAGE_DATA, VIEW_DATA


class Access(models.TextChoices):
    INTERNAL = "internal", _("Internal to the owner")
    REGION = "region", _("Shared with the region")
    OPEN = "open", _("Open data")


class Theme(models.TextChoices):
    """The EU data themes (DCAT-AP's ``dcat:theme`` vocabulary), by their codes."""

    AGRI = "AGRI", _("Agriculture, fisheries, forestry and food")
    ECON = "ECON", _("Economy and finance")
    EDUC = "EDUC", _("Education, culture and sport")
    ENER = "ENER", _("Energy")
    ENVI = "ENVI", _("Environment")
    GOVE = "GOVE", _("Government and public sector")
    HEAL = "HEAL", _("Health")
    INTR = "INTR", _("International issues")
    JUST = "JUST", _("Justice, legal system and public safety")
    REGI = "REGI", _("Regions and cities")
    SOCI = "SOCI", _("Population and society")
    TECH = "TECH", _("Science and technology")
    TRAN = "TRAN", _("Transport")


class Licence(models.TextChoices):
    CC0 = "CC0-1.0", _("CC0 1.0 (public domain)")
    CC_BY = "CC-BY-4.0", _("CC BY 4.0 (attribution)")
    CC_BY_NC = "CC-BY-NC-4.0", _("CC BY-NC 4.0 (attribution, non-commercial)")
    MODEL_FREE = "MLGH", _("Flemish model licence for free reuse")
    INTERNAL = "internal", _("Not licensed for reuse")


class WriteBatching(models.IntegerChoices):
    """How long the write API gathers calls into one version (``Dataset.write_batch_seconds``):
    off (each call is a version, loaded in the request) or an interval."""

    OFF = 0, _("Off: each call is a new version")
    MINUTE = 60, _("1 minute")
    FIVE_MINUTES = 300, _("5 minutes")
    QUARTER = 900, _("15 minutes")
    HOUR = 3600, _("1 hour")


class DatasetQuerySet(models.QuerySet["Dataset"]):
    def visible_to(self, user: Any) -> QuerySet[Dataset]:
        """Open datasets for everyone; region-wide ones for anyone who may query data in
        some organisation; internal ones for those who may query the owner's data."""
        visible = Q(access=Access.OPEN)
        data_orgs = access.organisation_ids(user, VIEW_DATA)
        if data_orgs:
            visible |= Q(access=Access.REGION) | Q(owner_id__in=data_orgs)
        return self.filter(visible)

    def manageable_by(self, user: Any) -> QuerySet[Dataset]:
        return access.scope(self, user, via="owner", capability=MANAGE_DATA)


class Dataset(models.Model):
    """What a data steward loads once for the whole region."""

    slug = models.SlugField(
        _("short name"),
        max_length=80,
        unique=True,
        validators=[RegexValidator(r"^[a-z0-9][a-z0-9-]*$")],
        help_text=_("Lower-case letters, digits and dashes; part of its web address."),
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    owner = models.ForeignKey(
        "core.Organisation",
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="datasets",
    )
    theme = models.CharField(_("theme"), max_length=4, choices=Theme.choices)
    licence = models.CharField(
        _("licence"), max_length=20, choices=Licence.choices, default=Licence.CC_BY
    )
    attribution = models.CharField(
        _("attribution"),
        max_length=200,
        blank=True,
        help_text=_("Whom to credit when the data is reused, e.g. Telraam."),
    )
    access = models.CharField(
        _("access"), max_length=10, choices=Access.choices, default=Access.INTERNAL
    )
    write_batch_seconds = models.PositiveIntegerField(
        _("gather write API calls"),
        choices=WriteBatching.choices,
        default=WriteBatching.OFF,
        help_text=_(
            "Rows sent through the write API are checked at once and published together, "
            "as one version per interval; off, each call is a version of its own."
        ),
    )
    #: Where the Delta table lives, relative to REGIOHUB_DATASETS_URI; never changes.
    chart = models.JSONField(
        _("default chart"),
        default=dict,
        blank=True,
        help_text=_(
            "The quick chart of the dataset's page: x, measure, aggregation and grouping; "
            "empty for a chart chosen from the columns."
        ),
    )
    storage_key = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = DatasetQuerySet.as_manager()

    class Meta:
        verbose_name = _("dataset")
        verbose_name_plural = _("datasets")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.storage_key:
            self.storage_key = f"{self.slug[:20]}-{uuid.uuid4().hex}"
        super().save(*args, **kwargs)

    @property
    def feed_or_none(self) -> Any:
        from regiohub.datasets.models.feed import Feed

        return Feed.objects.filter(dataset=self).first()

    @property
    def current_version(self) -> DatasetVersion | None:
        return self.versions.order_by("-number").first()


class DatasetVersion(models.Model):
    """One published state of a dataset's rows: a Delta table version. Older versions stay
    queryable and downloadable ("time travel")."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    #: The Delta table version holding it (may differ from ``number``: the database, not
    #: the table log, says which table versions are published).
    delta_version = models.PositiveIntegerField()
    schema = models.JSONField(_("columns"), default=list)
    primary_key = models.JSONField(_("primary key"), default=list, blank=True)
    row_count = models.PositiveBigIntegerField(_("rows"), default=0)
    rows_added = models.PositiveBigIntegerField(_("rows added"), default=0)
    rows_updated = models.PositiveBigIntegerField(_("rows updated"), default=0)
    rows_unchanged = models.PositiveBigIntegerField(_("rows unchanged"), default=0)
    rows_removed = models.PositiveBigIntegerField(_("rows removed"), default=0)
    #: The number of the version whose rows this one restored (``services.restore``).
    restored_from = models.PositiveIntegerField(_("restored from version"), null=True, blank=True)
    summary = models.CharField(_("what changed"), max_length=300, blank=True)
    #: Column statistics, computed the first time someone looks (``datasets.stats``).
    stats = models.JSONField(default=dict, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(_("loaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("dataset version")
        verbose_name_plural = _("dataset versions")
        ordering = ["dataset", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "number"], name="dataset_version_once")
        ]

    def __str__(self) -> str:
        return f"{self.dataset} v{self.number}"

    def column(self, key: str) -> dict[str, Any] | None:
        return next((c for c in self.schema if c["key"] == key), None)
