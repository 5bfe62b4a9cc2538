"""The open data portal's writes: the copy of what the data platform says of an open
dataset, a steward's description for the portal, publishing and withdrawing.

Each is one transaction that records history and publishes ``PublicationChanged`` where
the catalogue changed. The data platform is read only through its read door.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from regiohub.core import access, events, history
from regiohub.core.models import Organisation
from regiohub.datasets import queries as datasets
from regiohub.opendata import search
from regiohub.opendata.events import Action, PublicationChanged
from regiohub.opendata.models import (
    Frequency,
    Publication,
    PublicationFacet,
    Reuse,
    ReuseState,
    Source,
    State,
)
from regiohub.opendata.permissions import PUBLISH_OPEN_DATA

#: The door other modules may use (tests/test_module_walls.py checks it).
__all__ = [
    "DOWNLOAD_FORMATS",
    "Missing",
    "describe",
    "missing_metadata",
    "publish",
    "refresh",
    "refresh_all",
    "refresh_downloads",
    "review_reuse",
    "submit_reuse",
    "withdraw",
]

#: What every local dataset can be downloaded as (the data platform's downloads).
DOWNLOAD_FORMATS = ("CSV", "JSON", "NDJSON", "PARQUET", "XLSX")


# --- The copy of the data platform's description -----------------------------------------


def _temporal(info: datasets.DatasetInfo) -> tuple[date | None, date | None]:
    """The first and last day of the data, from its time column (``None`` without one)."""
    if info.current is None:
        return None, None
    column = next((c for c in info.current.columns if c.role == "time"), None)
    if column is None or column.type not in ("date", "timestamp"):
        return None, None
    try:
        _version, table, _cursor = datasets.rows(
            AnonymousUser(), info.slug, {"agg": f"min:{column.key},max:{column.key}"}
        )
    except (datasets.QueryError, datasets.QueryTimeout):
        return None, None
    values = table.to_pylist()[0] if table.num_rows else {}
    first, last = values.get(f"min_{column.key}"), values.get(f"max_{column.key}")

    def day(value: Any) -> date | None:
        if isinstance(value, datetime):
            return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
        return value if isinstance(value, date) else None

    return day(first), day(last)


def _facets(publication: Publication) -> list[tuple[str, str]]:
    formats = (
        [str(d.get("format", "")).upper() for d in publication.distributions if d.get("format")]
        if publication.source == Source.HARVESTED
        else list(DOWNLOAD_FORMATS)
    )
    roles = {c.get("role", "") for c in publication.columns}
    if publication.source == Source.LOCAL and {"latitude", "longitude"} <= roles:
        formats.append("GEOJSON")
    found = [
        ("publisher", publication.publisher.code),
        ("theme", publication.theme),
        ("licence", publication.licence),
        ("frequency", publication.frequency),
        *(("format", f) for f in formats),
        *(("place", str(p)) for p in publication.places),
        *(("keyword", search.fold(str(k))[:200]) for k in publication.keywords),
    ]
    return sorted({(facet, value) for facet, value in found if value})


def reindex(publication: Publication) -> None:
    """Search text and facets after a change (in the caller's transaction)."""
    parts = [
        publication.title,
        publication.description,
        " ".join(str(k) for k in publication.keywords),
        publication.publisher.name,
        *(
            " ".join(str(c.get(k, "")) for k in ("key", "label", "description"))
            for c in publication.columns
        ),
    ]
    publication.search_text = search.index_text(parts)
    Publication.objects.filter(pk=publication.pk).update(search_text=publication.search_text)
    search.store(publication.pk, publication.search_text)
    PublicationFacet.objects.filter(publication=publication).delete()
    PublicationFacet.objects.bulk_create(
        PublicationFacet(publication=publication, facet=facet, value=value)
        for facet, value in _facets(publication)
    )


def refresh(dataset_id: int, slug: str) -> Publication | None:
    """Read what the data platform says of a dataset now and keep it: a new open dataset
    gets a draft publication (a steward publishes it), a known one its new title,
    licence, columns and version; one that is no longer open is hidden at once (its
    description for the portal is kept). Idempotent: events may come twice."""
    info = datasets.dataset_info(AnonymousUser(), slug)
    with transaction.atomic():
        publication = Publication.objects.select_for_update().filter(dataset_id=dataset_id).first()
        if info is None or info.id != dataset_id:
            if publication is not None and publication.open:
                publication.open = False
                publication.save(update_fields=["open", "updated_at"])
                events.publish(_changed(publication))
            return publication
        owner = Organisation.objects.get(code=info.owner_code)
        if publication is None:
            publication = Publication(
                source=Source.LOCAL,
                dataset_id=info.id,
                slug=_free_slug(info.slug),
                publisher=owner,
                contact_email=owner.email,
            )
        was_listed = publication.pk is not None and publication.listed
        start, end = _temporal(info)
        publication.title = info.title
        publication.description = info.description
        publication.theme = info.theme
        publication.licence = info.licence.code
        publication.licence_uri = info.licence.uri
        publication.attribution = info.licence.attribution
        publication.publisher = owner
        publication.open = info.licence.open
        publication.identifier = publication.identifier or f"{info.owner_code}/{info.slug}"
        current = info.current
        publication.version = current.number if current else None
        publication.rows = current.rows if current else 0
        publication.columns = (
            [
                {
                    "key": c.key,
                    "label": c.label,
                    "type": c.type,
                    "unit": c.unit,
                    "description": c.description,
                    "role": c.role,
                }
                for c in current.columns
            ]
            if current
            else []
        )
        publication.temporal_start, publication.temporal_end = start, end
        publication.modified = current.published_at if current else info.updated_at
        publication.save()
        reindex(publication)
        if was_listed or publication.listed:
            events.publish(_changed(publication))
    return publication


def refresh_all() -> int:
    """Refresh every dataset the data platform has open, and hide the others."""
    seen = 0
    for info in datasets.catalogue(AnonymousUser()):
        refresh(info.id, info.slug)
        seen += 1
    open_ids = {info.id for info in datasets.catalogue(AnonymousUser())}
    for publication in Publication.objects.filter(source=Source.LOCAL, open=True).exclude(
        dataset_id__in=open_ids
    ):
        refresh(publication.dataset_id or 0, publication.slug)
    return seen


def refresh_downloads() -> int:
    """Copy each dataset's download total (``core.usage``) onto its publication, for the
    catalogue's "most downloaded" order; returns how many changed. Run by the scheduler."""
    from regiohub.core import usage

    local = dict(
        Publication.objects.filter(source=Source.LOCAL)
        .exclude(dataset_id=None)
        .values_list("dataset_id", "downloads")
    )
    totals = usage.totals([f"dataset:{i}" for i in local], "download")
    changed = 0
    for dataset_id, before in local.items():
        total = totals.get(f"dataset:{dataset_id}", 0)
        if total != before:
            changed += Publication.objects.filter(dataset_id=dataset_id).update(downloads=total)
    return changed


def _free_slug(slug: str) -> str:
    candidate, n = slug, 1
    while Publication.objects.filter(slug=candidate).exists():
        n += 1
        candidate = f"{slug[:110]}-{n}"
    return candidate


def _changed(publication: Publication) -> PublicationChanged:
    return PublicationChanged(
        publication_id=publication.pk,
        slug=publication.slug,
        state=publication.state if publication.listed else State.WITHDRAWN,
    )


# --- A steward's description, publishing, withdrawing -----------------------------------


@dataclass(frozen=True)
class Missing:
    """A piece of metadata DCAT-AP Vlaanderen asks for that the dataset lacks."""

    field: str
    message: str


_CHECKS: list[tuple[str, Any, Any]] = [
    ("title", lambda p: p.title.strip(), gettext_lazy("A title.")),
    (
        "description",
        lambda p: len(p.description.strip()) >= 20,
        gettext_lazy("A description of at least a sentence (20 characters)."),
    ),
    ("theme", lambda p: p.theme, gettext_lazy("A theme (EU data theme).")),
    (
        "licence",
        lambda p: p.licence_uri,
        gettext_lazy("An open licence (set it on the dataset in the data platform)."),
    ),
    ("keywords", lambda p: p.keywords, gettext_lazy("At least one keyword.")),
    (
        "contact_email",
        lambda p: p.contact_email,
        gettext_lazy("A contact point with an e-mail address."),
    ),
    (
        "frequency",
        lambda p: p.frequency != Frequency.UNKNOWN,
        gettext_lazy("How often the data is updated."),
    ),
    ("version", lambda p: p.version, gettext_lazy("Data: at least one published version.")),
    (
        "open",
        lambda p: p.open,
        gettext_lazy("The dataset must be open data (access “Open data” in the data platform)."),
    ),
]


def missing_metadata(publication: Publication) -> list[Missing]:
    """What must still be filled in before the dataset may be published."""
    return [Missing(name, str(text)) for name, ok, text in _CHECKS if not ok(publication)]


def _managed(actor: Any, slug: str) -> Publication:
    publication = (
        Publication.objects.select_for_update()
        .filter(slug=slug, source=Source.LOCAL)
        .select_related("publisher")
        .first()
    )
    if publication is None or publication.publisher_id not in access.organisation_ids(
        actor, PUBLISH_OPEN_DATA
    ):
        raise PermissionDenied
    return publication


FIELDS = ("keywords", "contact_name", "contact_email", "frequency", "places")


def describe(actor: Any, slug: str, **changes: Any) -> Publication:
    """A steward's description of a dataset for the portal (``FIELDS``)."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise TypeError(f"not a description field: {sorted(unknown)}")
    with transaction.atomic():
        publication = _managed(actor, slug)
        if "keywords" in changes:
            changes["keywords"] = _keywords(changes["keywords"])
        if "places" in changes:
            changes["places"] = _places(changes["places"])
        before = {k: getattr(publication, k) for k in changes}
        for name, value in changes.items():
            setattr(publication, name, value)
        publication.full_clean(exclude=["publisher", "title", "slug"])
        changed = {k: v for k, v in changes.items() if before[k] != v}
        if not changed:
            return publication
        publication.save()
        reindex(publication)
        history.record(
            publication,
            Action.DESCRIBED,
            actor=actor,
            organisation=publication.publisher_id,
            before={k: before[k] for k in changed},
            after=changed,
        )
        if publication.listed:
            events.publish(_changed(publication))
    return publication


def _keywords(value: Any) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value or [])
    found: dict[str, None] = {}
    for item in items:
        text = " ".join(str(item).replace("\x00", "").split())[:80]
        if text:
            found.setdefault(text, None)
    if len(found) > 30:
        raise ValidationError({"keywords": _("At most 30 keywords.")})
    return list(found)


def _places(value: Any) -> list[str]:
    codes = [str(v).strip() for v in (value or []) if str(v).strip()]
    known = set(Organisation.objects.filter(nis_code__in=codes).values_list("nis_code", flat=True))
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise ValidationError(
            {"places": _("Unknown NIS code: %(codes)s.") % {"codes": ", ".join(unknown[:5])}}
        )
    return sorted(set(codes))


def publish(actor: Any, slug: str) -> Publication:
    """Put a dataset on the portal; refused with the list of what is missing."""
    with transaction.atomic():
        publication = _managed(actor, slug)
        missing = missing_metadata(publication)
        if missing:
            raise ValidationError({m.field: m.message for m in missing})
        if publication.state == State.PUBLISHED:
            return publication
        now = timezone.now()
        before = publication.state
        publication.state = State.PUBLISHED
        publication.published_at = now
        publication.published_by = actor if getattr(actor, "is_authenticated", False) else None
        publication.issued = publication.issued or now
        publication.save()
        history.record(
            publication,
            Action.PUBLISHED,
            actor=actor,
            organisation=publication.publisher_id,
            before={"state": before},
            after={"state": State.PUBLISHED},
        )
        events.publish(_changed(publication))
    return publication


def withdraw(actor: Any, slug: str, reason: str) -> Publication:
    """Take a dataset off the portal (its data stays in the data platform)."""
    reason = " ".join(reason.replace("\x00", "").split())[:500]
    if not reason:
        raise ValidationError({"reason": _("Say why the dataset leaves the portal.")})
    with transaction.atomic():
        publication = _managed(actor, slug)
        if publication.state != State.PUBLISHED:
            return publication
        publication.state = State.WITHDRAWN
        publication.save()
        history.record(
            publication,
            Action.WITHDRAWN,
            actor=actor,
            organisation=publication.publisher_id,
            before={"state": State.PUBLISHED},
            after={"state": State.WITHDRAWN},
            reason=reason,
        )
        events.publish(_changed(publication))
    return publication


# --- Reuses ---------------------------------------------------------------------------


def submit_reuse(publication: Publication, **fields: Any) -> Reuse:
    """Somebody tells what they built on a listed dataset; shown after a steward's check."""
    clean = {
        k: " ".join(str(v).replace("\x00", "").split()) if k != "description" else str(v)
        for k, v in fields.items()
    }
    clean["description"] = clean.get("description", "").replace("\x00", "").strip()
    reuse = Reuse(publication=publication, **clean)
    reuse.full_clean()
    if not reuse.url.startswith(("https://", "http://")):
        raise ValidationError({"url": _("The address must start with https:// or http://.")})
    with transaction.atomic():
        reuse.save()
        history.record(
            reuse,
            Action.REUSE_SUBMITTED,
            actor_label=history.CITIZEN,
            organisation=publication.publisher_id,
            after={"title": reuse.title, "url": reuse.url, "kind": reuse.kind},
        )
    return reuse


def review_reuse(actor: Any, reuse_id: int, *, approve: bool) -> Reuse:
    """A steward of the dataset's publisher shows a reuse on the portal, or not."""
    with transaction.atomic():
        reuse = (
            Reuse.objects.select_for_update()
            .select_related("publication")
            .filter(pk=reuse_id)
            .first()
        )
        if reuse is None or reuse.publication.publisher_id not in access.organisation_ids(
            actor, PUBLISH_OPEN_DATA
        ):
            raise PermissionDenied
        state = ReuseState.APPROVED if approve else ReuseState.REJECTED
        if reuse.state == state:
            return reuse
        before = reuse.state
        reuse.state = state
        reuse.reviewed_by = actor
        reuse.reviewed_at = timezone.now()
        reuse.save()
        history.record(
            reuse,
            Action.REUSE_APPROVED if approve else Action.REUSE_REJECTED,
            actor=actor,
            organisation=reuse.publication.publisher_id,
            before={"state": before},
            after={"state": state},
        )
    return reuse
