"""Who owns the problem: asset layers, routing rules per municipality, and each report's trace.

A layer (roads, waterways, street lights, areas) is imported from a file as a new version;
its features keep their geometry in Belgian Lambert 72 metres, so distances need no
conversion per feature. A municipality's rules say, per subject, which layer decides and
who the owner is. Every routing decision is kept with the report: which rule, which layer
version and feature, how far away, what the citizen answered (see ``meldpunt.routing``).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from regiohub.core.i18n import localised


class LayerKind(models.TextChoices):
    LINE = "line", _("Lines (roads, waterways)")
    POINT = "point", _("Points (street lights, bins)")
    AREA = "area", _("Areas")


#: Distances from practice: a road line (FixMyStreet's 15 m), a snap to a point asset, and
#: point-in-polygon for areas.
DEFAULT_DISTANCE_M = {LayerKind.LINE: 15, LayerKind.POINT: 50, LayerKind.AREA: 0}


class AssetLayer(models.Model):
    """A kind of asset someone owns: the regional roads, the waterways, the street lights."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name (Dutch)"), max_length=120)
    name_fr = models.CharField(_("name (French)"), max_length=120, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=LayerKind.choices)
    is_demo = models.BooleanField(
        _("demo data"),
        default=False,
        help_text=_("Approximate data for trying the product: every page that uses it says so."),
    )
    is_active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_(
            "A rule with an inactive layer sends its reports to the routing-uncertain queue."
        ),
    )
    current_version = models.ForeignKey(
        "meldpunt.LayerVersion",
        verbose_name=_("current version"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("asset layer")
        verbose_name_plural = _("asset layers")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return localised(self, "name")


class LayerFormat(models.TextChoices):
    GEOJSON = "geojson", _("GeoJSON")
    WEGENREGISTER = "wegenregister", _("Wegenregister (shapefile delivery)")


class LayerVersion(models.Model):
    """One import of a layer: where it came from, under which licence, and its features."""

    layer = models.ForeignKey(AssetLayer, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    file_format = models.CharField(_("format"), max_length=20, choices=LayerFormat.choices)
    source = models.CharField(_("source"), max_length=300)
    licence = models.CharField(_("licence"), max_length=200)
    attribution = models.CharField(_("attribution"), max_length=500, blank=True)
    sha256 = models.CharField(_("SHA-256 of the file"), max_length=64)
    feature_count = models.PositiveIntegerField(_("features"))
    imported_at = models.DateTimeField(_("imported at"), default=timezone.now)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )

    class Meta:
        verbose_name = _("layer version")
        verbose_name_plural = _("layer versions")
        ordering = ["layer", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["layer", "number"], name="layer_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.layer.code} v{self.number}"


class AssetFeature(models.Model):
    """One road segment, waterway stretch, light or area of a layer version."""

    version = models.ForeignKey(LayerVersion, on_delete=models.CASCADE, related_name="features")
    feature_id = models.CharField(_("feature id"), max_length=100)
    name = models.CharField(_("name"), max_length=200, blank=True)
    manager_code = models.CharField(_("manager code"), max_length=40, blank=True)
    manager_name = models.CharField(_("manager"), max_length=200, blank=True)
    #: A GeoJSON geometry in Lambert 72 (EPSG:31370) metres.
    geometry = models.JSONField()

    class Meta:
        verbose_name = _("asset")
        verbose_name_plural = _("assets")
        indexes = [models.Index(fields=["version", "feature_id"])]

    def __str__(self) -> str:
        return f"{self.feature_id} {self.name}".strip()


class OwnerKind(models.TextChoices):
    MANAGER = "manager", _("The asset's manager (from the layer)")
    EXTERNAL = "external", _("An external body")
    DEPARTMENT = "department", _("A department of the municipality")
    MUNICIPALITY = "municipality", _("The subject's own department")


_codes = RegexValidator(
    r"^[a-z0-9-]+(,[a-z0-9-]+)*$",
    _("Subject codes separated by commas, e.g. pothole,street-light."),
)
_manager_codes = RegexValidator(
    r"^[A-Za-z0-9*-]+(,[A-Za-z0-9*-]+)*$",
    _("Manager codes separated by commas; end a code with * for a prefix, e.g. AWV*."),
)


class RoutingRule(models.Model):
    """In ``organisation``, reports on these subjects near this layer's assets go to ``owner``.

    Rules are tried in order of ``position``; the first that applies decides. A rule
    without a layer always applies (waste goes to the intermunicipal company); with a layer
    it applies when an asset lies within ``max_distance_m`` of the report's point and, when
    ``manager_codes`` is set, the nearest asset's manager is one of them.
    """

    organisation = models.ForeignKey(
        "core.Organisation",
        verbose_name=_("municipality"),
        on_delete=models.CASCADE,
        limit_choices_to={"kind": "municipality"},
        related_name="routing_rules",
    )
    position = models.PositiveSmallIntegerField(_("order"), default=10)
    category_codes = models.CharField(
        _("subjects"),
        max_length=500,
        validators=[_codes],
        help_text=_("Subject codes separated by commas, e.g. pothole,street-light."),
    )
    layer = models.ForeignKey(
        AssetLayer,
        verbose_name=_("layer"),
        # A layer in use cannot be deleted: its rules would silently stop applying.
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text=_("Leave empty for a rule that applies wherever the place is."),
    )
    max_distance_m = models.PositiveIntegerField(
        _("maximum distance (m)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(500)],
        help_text=_("Empty: 15 m to a line, 50 m to a point, inside an area."),
    )
    manager_codes = models.CharField(
        _("only assets of these managers"),
        max_length=200,
        blank=True,
        validators=[_manager_codes],
        help_text=_("Manager codes from the layer, e.g. AWV* for the roads agency's districts."),
    )
    owner_kind = models.CharField(
        _("owner"), max_length=12, choices=OwnerKind.choices, default=OwnerKind.MANAGER
    )
    external_body = models.ForeignKey(
        "meldpunt.ExternalBody",
        verbose_name=_("external body"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    department = models.ForeignKey(
        "core.Department",
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    ask_citizen = models.BooleanField(
        _("ask the citizen"),
        default=True,
        help_text=_("Before sending, the web form asks whether the report is about this asset."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["organisation", "position", "id"]

    def __str__(self) -> str:
        return f"{self.organisation}: {self.category_codes} #{self.position}"

    @property
    def codes(self) -> set[str]:
        return {code for code in self.category_codes.split(",") if code}

    @property
    def distance_m(self) -> float:
        if self.max_distance_m is not None:
            return float(self.max_distance_m)
        return float(DEFAULT_DISTANCE_M[LayerKind(self.layer.kind)]) if self.layer else 0.0

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.owner_kind == OwnerKind.EXTERNAL and not self.external_body_id:
            errors["external_body"] = _("Choose the external body that owns these reports.")
        if self.owner_kind == OwnerKind.DEPARTMENT:
            if not self.department_id:
                errors["department"] = _("Choose the department that owns these reports.")
            elif self.department.organisation_id != self.organisation_id:
                errors["department"] = _("Choose a department of this municipality.")
        if self.owner_kind == OwnerKind.MANAGER and not self.layer_id:
            errors["layer"] = _("The asset's manager is known only from a layer: choose one.")
        if self.manager_codes and not self.layer_id:
            errors["manager_codes"] = _("Managers are known only from a layer: choose one.")
        if errors:
            raise ValidationError(errors)


class RoutingState(models.TextChoices):
    ROUTED = "routed", _("Routed by the rules")
    UNCERTAIN = "uncertain", _("Routing uncertain")
    CONFIRMED = "confirmed", _("Routed by staff")


class Answer(models.TextChoices):
    NOT_ASKED = "", _("Not asked")
    ON_ASSET = "on_asset", _("About this asset")
    ELSEWHERE = "elsewhere", _("About something else")


class RoutingDecision(models.Model):
    """How a report was routed, once: the trace an agent reads. The latest one holds."""

    report = models.ForeignKey(
        "meldpunt.Report", on_delete=models.CASCADE, related_name="routing_decisions"
    )
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    state = models.CharField(max_length=12, choices=RoutingState.choices)
    owner_kind = models.CharField(max_length=12, choices=OwnerKind.choices)
    owner_name = models.CharField(max_length=200, blank=True)
    external_body = models.ForeignKey(
        "meldpunt.ExternalBody", on_delete=models.SET_NULL, null=True, blank=True
    )
    department = models.ForeignKey(
        "core.Department", on_delete=models.SET_NULL, null=True, blank=True
    )
    rule = models.ForeignKey(RoutingRule, on_delete=models.SET_NULL, null=True, blank=True)
    rule_text = models.CharField(max_length=300, blank=True)
    layer_version = models.ForeignKey(
        LayerVersion, on_delete=models.SET_NULL, null=True, blank=True
    )
    layer_name = models.CharField(max_length=160, blank=True)
    feature_id = models.CharField(max_length=100, blank=True)
    feature_name = models.CharField(max_length=200, blank=True)
    manager_code = models.CharField(max_length=40, blank=True)
    distance_m = models.FloatField(null=True, blank=True)
    answer = models.CharField(max_length=12, choices=Answer.choices, blank=True)
    #: Why the routing is uncertain (a code from ``meldpunt.routing.Reason``), and its details.
    reason_code = models.CharField(max_length=40, blank=True)
    reason_params = models.JSONField(default=dict, blank=True)
    note = models.CharField(max_length=2000, blank=True)

    class Meta:
        ordering = ["report", "-at", "-id"]
        indexes = [models.Index(fields=["report", "-at"])]

    def __str__(self) -> str:
        return f"{self.report_id}: {self.state} {self.owner_name}"
