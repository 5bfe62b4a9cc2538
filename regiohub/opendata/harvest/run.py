"""One harvest run of a source: read every page of its feed, then make the portal's
harvested publications of that source match it, in one transaction.

1. **Lease.** The run takes the source with one ``UPDATE ... WHERE`` the lease is free or
   expired (a compare-and-swap, decision 0020), so two workers never harvest one source at
   once. A run that outlives its lease (``REGIOHUB_OPENDATA_HARVEST_LEASE_MINUTES``) stops,
   and its final transaction checks it still holds the lease before it writes.
2. **Read.** Every page is fetched and parsed before anything is written, outside any
   transaction: ``hydra:next`` is followed until a page has none, up to
   ``REGIOHUB_OPENDATA_HARVEST_MAX_PAGES`` (more fails the run: a catalogue read in part
   would withdraw the rest). Paging that comes back to a page already read (an address, or
   the same content under another address, as ckanext-dcat checks) ends the catalogue there.
3. **Write**, all or nothing: each dataset, keyed by (source, ``dct:identifier``), is
   created or updated as a published harvested publication, re-indexed for search, its
   change recorded in its history and announced (``PublicationChanged``); a dataset the
   source no longer lists is withdrawn, never deleted. A dataset whose fields are as
   harvested before is left alone, so a second run changes nothing.

A failed run (an HTTP error, a page that is not RDF, an address that is not allowed)
changes no publication: it records its reason on the source and in its :class:`HarvestRun`.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.text import slugify
from django.utils.translation import gettext_noop

from regiohub.core import events, history
from regiohub.core.history import translated_when_shown
from regiohub.core.models import Organisation
from regiohub.opendata import services
from regiohub.opendata.events import Action, PublicationChanged
from regiohub.opendata.harvest import dcat
from regiohub.opendata.harvest.errors import (
    HarvestBusy,
    HarvestDataError,
    HarvestError,
    HarvestTemporaryError,
)
from regiohub.opendata.harvest.fetch import PageReader, normalised
from regiohub.opendata.models import HarvestRun, HarvestSource, Publication, Source, State
from regiohub.opendata.models.harvest import RunStatus

log = structlog.get_logger(__name__)

#: Who changed a harvested publication, in its history (shown translated).
HARVEST = translated_when_shown(gettext_noop("harvest"))
#: Why a harvested publication left the portal.
GONE = translated_when_shown(gettext_noop("no longer in the harvested catalogue"))
STOPPED = translated_when_shown(gettext_noop("its harvest source was stopped"))
#: Runs kept per source (the oldest are deleted as new ones finish).
KEEP_RUNS = 50
#: Fields compared and shown in full in a history entry; the long ones are only named.
SHORT_FIELDS = (
    "title",
    "uri",
    "landing_page",
    "theme",
    "licence",
    "licence_uri",
    "frequency",
    "contact_name",
    "contact_email",
    "temporal_start",
    "temporal_end",
    "issued",
    "modified",
    "publisher_id",
    "state",
)


@dataclass
class Outcome:
    """What a run read and did."""

    pages: int = 0
    found: int = 0
    created: int = 0
    updated: int = 0
    withdrawn: int = 0
    unchanged: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)


# --- Lease --------------------------------------------------------------------------------


def lease() -> timedelta:
    return timedelta(minutes=settings.OPENDATA_HARVEST_LEASE_MINUTES)


def claim(source_id: int, now: datetime | None = None) -> str | None:
    """Take the source's lease; its token, or ``None`` when another run holds it."""
    now = now or timezone.now()
    token = get_random_string(32)
    taken = (
        HarvestSource.objects.filter(pk=source_id)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lte=now))
        .update(leased_until=now + lease(), leased_by=token)
    )
    return token if taken else None


def release(source_id: int, token: str) -> None:
    HarvestSource.objects.filter(pk=source_id, leased_by=token).update(
        leased_until=None, leased_by=""
    )


# --- A run --------------------------------------------------------------------------------


def harvest(
    source_id: int,
    *,
    trigger: str = "",
    reader: PageReader | None = None,
    raise_temporary: bool = False,
) -> HarvestRun:
    """Run the source now (see the module's docstring). Returns its run: ``ok`` or
    ``failed`` with the reason; with ``raise_temporary`` a failure that may pass (5xx, a
    timeout) is raised after it is recorded, so a task is tried again. Raises
    :class:`HarvestBusy` when another run holds the source (``HarvestSource.DoesNotExist``
    when there is none); any other exception than a :class:`HarvestError` is recorded and
    raised."""
    token = claim(source_id)
    if token is None:
        if not HarvestSource.objects.filter(pk=source_id).exists():
            raise HarvestSource.DoesNotExist(f"no harvest source {source_id}")
        raise HarvestBusy("another run is harvesting this source")
    started = time.monotonic()
    try:
        source = HarvestSource.objects.select_related("publisher").get(pk=source_id)
        # A run left "running" by a worker that died before it finished.
        HarvestRun.objects.filter(source=source, status=RunStatus.RUNNING).update(
            status=RunStatus.FAILED, error="interrupted: the run stopped before it finished"
        )
        run = HarvestRun.objects.create(source=source, trigger=trigger[:20])
        outcome = Outcome()
        try:
            if not source.enabled:
                raise HarvestDataError("the source is disabled")
            deadline = started + lease().total_seconds() * 0.9
            records = _read(source, outcome, reader, deadline)
            with transaction.atomic():
                # Only the source row is locked (not its organisation: no join).
                locked = HarvestSource.objects.select_for_update().get(pk=source_id)
                if locked.leased_by != token:
                    raise HarvestError("the run lost its lease to another; nothing changed")
                if not locked.enabled:
                    raise HarvestDataError("the source was disabled during the run")
                _apply(locked, records, outcome)
                _finish(locked, run, outcome, error="")
        except HarvestError as exc:
            _failed(source, run, outcome, str(exc))
            if raise_temporary and isinstance(exc, HarvestTemporaryError):
                raise
        except Exception as exc:
            _failed(source, run, outcome, f"unexpected error ({type(exc).__name__})")
            raise
        log.info(
            "harvest run",
            source=source_id,
            status=run.status,
            pages=run.pages,
            created=run.created,
            updated=run.updated,
            withdrawn=run.withdrawn,
            unchanged=run.unchanged,
            error=run.error,
            seconds=round(time.monotonic() - started, 2),
        )
        return run
    finally:
        release(source_id, token)


def _read(
    source: HarvestSource, outcome: Outcome, reader: PageReader | None, deadline: float
) -> list[dcat.Record]:
    """Every dataset of every page, or a :class:`HarvestError` (nothing written yet)."""
    reader = reader or PageReader(source.format, deadline=deadline)
    places = set(Organisation.objects.exclude(nis_code="").values_list("nis_code", flat=True))
    seen_urls: set[str] = set()
    seen_bodies: set[str] = set()
    by_identifier: dict[str, dcat.Record] = {}
    url: str | None = normalised(source.url)
    try:
        while url:
            if url in seen_urls:
                outcome.notes.append(
                    f"page {outcome.pages} leads back to a page already read; paging stopped there"
                )
                break
            if outcome.pages >= settings.OPENDATA_HARVEST_MAX_PAGES:
                raise HarvestDataError(
                    f"the catalogue has more than {settings.OPENDATA_HARVEST_MAX_PAGES} pages "
                    "(REGIOHUB_OPENDATA_HARVEST_MAX_PAGES); nothing changed"
                )
            seen_urls.add(url)
            page = reader.read(url, outcome.pages + 1)
            seen_urls.add(page.url)
            digest = hashlib.sha256(page.body).hexdigest()
            if digest in seen_bodies:
                outcome.notes.append(
                    f"page {page.number} is the same as a page already read; paging stopped there"
                )
                break
            seen_bodies.add(digest)
            outcome.pages += 1
            graph = dcat.parse(page)
            found = dcat.datasets(graph, places=places)
            for record in found.records:
                if record.identifier in by_identifier:
                    outcome.skipped += 1
                    outcome.notes.append(
                        f"page {page.number}: identifier {record.identifier[:80]!r} is repeated; "
                        "the first is kept"
                    )
                    continue
                by_identifier[record.identifier] = record
            for reason in found.skipped:
                outcome.skipped += 1
                outcome.notes.append(f"page {page.number}: skipped {reason}")
            url = dcat.next_page(graph, page.url)
            if url == page.url:  # a last page that names itself as the next
                url = None
    finally:
        reader.close()
    if not by_identifier:
        raise HarvestDataError(
            "the feed lists no dcat:Dataset; nothing was withdrawn (check the feed address)"
        )
    outcome.found = len(by_identifier)
    return [by_identifier[k] for k in sorted(by_identifier)]


def _apply(source: HarvestSource, records: list[dcat.Record], outcome: Outcome) -> None:
    now = timezone.now()
    existing = {
        p.identifier: p
        for p in Publication.objects.select_for_update().filter(
            source=Source.HARVESTED, harvest_source_id=source.pk
        )
    }
    for record in records:
        publication = existing.get(record.identifier)
        if publication is None:
            _create(source, record, now)
            outcome.created += 1
        elif _update(source, publication, record, now):
            outcome.updated += 1
        else:
            outcome.unchanged += 1
    wanted = {r.identifier for r in records}
    for identifier, publication in sorted(existing.items()):
        if identifier not in wanted and publication.state == State.PUBLISHED:
            _withdraw(publication, reason=GONE, source_id=source.pk)
            outcome.withdrawn += 1


def _create(source: HarvestSource, record: dcat.Record, now: datetime) -> Publication:
    publication = Publication(
        source=Source.HARVESTED,
        harvest_source_id=source.pk,
        identifier=record.identifier,
        slug=_free_slug(source.publisher.code, record.title),
        publisher=source.publisher,
        state=State.PUBLISHED,
        published_at=now,
        **record.fields(),
    )
    publication.save()
    services.reindex(publication)
    history.record(
        publication,
        Action.HARVESTED,
        actor_label=HARVEST,
        organisation=publication.publisher_id,
        before=None,
        after={
            "harvest_source": source.pk,
            "identifier": record.identifier,
            **_shown(publication, SHORT_FIELDS),
        },
    )
    events.publish(_changed(publication))
    return publication


def _update(
    source: HarvestSource, publication: Publication, record: dcat.Record, now: datetime
) -> bool:
    """Bring a publication in line with its record; False when nothing differs."""
    values = {**record.fields(), "publisher_id": source.publisher_id}
    changed = [name for name, value in values.items() if getattr(publication, name) != value]
    relisted = publication.state != State.PUBLISHED
    if not changed and not relisted:
        return False
    before = _shown(publication, SHORT_FIELDS)
    for name, value in values.items():
        setattr(publication, name, value)
    if relisted:
        publication.state = State.PUBLISHED
        publication.published_at = now
        changed.append("state")
    publication.publisher = source.publisher
    publication.save()
    services.reindex(publication)
    after = _shown(publication, SHORT_FIELDS)
    keys = [k for k in SHORT_FIELDS if before.get(k) != after.get(k)]
    history.record(
        publication,
        Action.HARVESTED,
        actor_label=HARVEST,
        organisation=publication.publisher_id,
        before={k: before[k] for k in keys},
        after={
            **{k: after[k] for k in keys},
            "harvest_source": source.pk,
            "fields": sorted(set(changed)),
        },
    )
    events.publish(_changed(publication))
    return True


def _withdraw(publication: Publication, *, reason: str, source_id: int, actor: Any = None) -> None:
    publication.state = State.WITHDRAWN
    publication.save(update_fields=["state", "updated_at"])
    history.record(
        publication,
        Action.WITHDRAWN,
        actor=actor,
        actor_label=None if actor is not None else HARVEST,
        organisation=publication.publisher_id,
        before={"state": State.PUBLISHED},
        after={"state": State.WITHDRAWN, "harvest_source": source_id},
        reason=reason,
    )
    events.publish(_changed(publication))


def _shown(publication: Publication, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(publication, name) for name in names}


def _changed(publication: Publication) -> PublicationChanged:
    return PublicationChanged(
        publication_id=publication.pk,
        slug=publication.slug,
        state=publication.state if publication.listed else State.WITHDRAWN,
    )


def _free_slug(publisher_code: str, title: str) -> str:
    """``<publisher code>-<title>``, lower case, made unique with ``-2``, ``-3`` ..."""
    prefix = slugify(publisher_code) or "harvested"
    base = f"{prefix}-{slugify(title)}".strip("-")[:110].strip("-") or f"{prefix}-dataset"
    candidate, n = base, 1
    while Publication.objects.filter(slug=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _finish(source: HarvestSource, run: HarvestRun, outcome: Outcome, *, error: str) -> None:
    now = timezone.now()
    failed = bool(error)
    source.last_run_at = now
    if not failed:
        source.last_ok_at = now
    source.last_error = error[:500]
    source.last_created = outcome.created
    source.last_updated = outcome.updated
    source.last_withdrawn = outcome.withdrawn
    source.last_unchanged = outcome.unchanged
    source.save(
        update_fields=[
            "last_run_at",
            "last_ok_at",
            "last_error",
            "last_created",
            "last_updated",
            "last_withdrawn",
            "last_unchanged",
        ]
    )
    run.status = RunStatus.FAILED if failed else RunStatus.OK
    run.finished_at = now
    run.error = error[:500]
    run.notes = "\n".join(outcome.notes)[:10_000]
    for name in ("pages", "found", "created", "updated", "withdrawn", "unchanged", "skipped"):
        setattr(run, name, getattr(outcome, name))
    run.save()
    old = list(
        HarvestRun.objects.filter(source=source)
        .order_by("-started_at", "-pk")[KEEP_RUNS:]
        .values_list("pk", flat=True)
    )
    if old:
        HarvestRun.objects.filter(pk__in=old).delete()


def _failed(source: HarvestSource, run: HarvestRun, outcome: Outcome, error: str) -> None:
    """Record a failed run: nothing it read was written, so its counts are zero."""
    read = Outcome(
        pages=outcome.pages, found=outcome.found, skipped=outcome.skipped, notes=outcome.notes
    )
    with transaction.atomic():
        _finish(source, run, read, error=error or "failed")


# --- Several sources ----------------------------------------------------------------------


def due_sources(now: datetime | None = None) -> list[int]:
    """The sources whose interval has passed (enabled and not held by a run)."""
    now = now or timezone.now()
    return [s.pk for s in HarvestSource.objects.filter(enabled=True) if s.is_due(now)]


def stop(source_id: int, actor: Any = None) -> int:
    """Disable a source and withdraw every dataset harvested from it (an administrator
    stops showing a catalogue); returns how many left the portal."""
    with transaction.atomic():
        source = HarvestSource.objects.select_for_update().get(pk=source_id)
        source.enabled = False
        source.save(update_fields=["enabled"])
        withdrawn = 0
        for publication in Publication.objects.select_for_update().filter(
            source=Source.HARVESTED, harvest_source_id=source_id, state=State.PUBLISHED
        ):
            _withdraw(publication, reason=STOPPED, source_id=source_id, actor=actor)
            withdrawn += 1
    return withdrawn
