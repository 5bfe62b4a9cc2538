"""Photos waiting for the second step of the report form.

When the form asks the citizen something before filing ("Did you mean Grote Markt 1,
8500 Kortrijk?", "Use the place where your photo was taken?"), the browser forgets the
photos it sent: a file input never keeps its files. So that nobody chooses them again,
the photos, already cleaned (``photos.process_photo``: re-encoded, no metadata, no
position), wait in storage under ``pending/<random>/`` and the form carries a signed
reference to them. They are read again when the form comes back and removed by the daily
sweep after :data:`KEEP`; a report that is filed stores its own copies.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from regiohub.meldpunt.photos import ProcessedPhoto

KEEP = timedelta(hours=6)
_SALT = "regiohub.meldpunt.pending-photos"
_NAME = re.compile(r"^(\d)-(\d{1,5})x(\d{1,5})\.jpg$")


def keep(photos: Sequence[ProcessedPhoto]) -> str:
    """Store cleaned photos for the form's next step; returns the signed reference for a
    hidden field ("" when there are none)."""
    if not photos:
        return ""
    folder = secrets.token_hex(16)
    for number, photo in enumerate(photos):
        name = f"pending/{folder}/{number}-{photo.width}x{photo.height}.jpg"
        default_storage.save(name, ContentFile(photo.content))
    return signing.dumps(folder, salt=_SALT)


def take(reference: str) -> list[ProcessedPhoto]:
    """The photos kept under ``reference``, in order; [] when it is not ours, too old or
    swept."""
    if not reference:
        return []
    try:
        folder = signing.loads(reference, salt=_SALT, max_age=KEEP)
    except signing.BadSignature:
        return []
    if not re.fullmatch(r"[0-9a-f]{32}", str(folder)):
        return []
    try:
        _dirs, files = default_storage.listdir(f"pending/{folder}")
    except FileNotFoundError:
        return []
    photos = []
    for name in sorted(files):
        match = _NAME.match(name)
        if not match:
            continue
        with default_storage.open(f"pending/{folder}/{name}", "rb") as handle:
            content = handle.read()
        photos.append(
            ProcessedPhoto(
                content=content,
                content_type="image/jpeg",
                width=int(match.group(2)),
                height=int(match.group(3)),
                sha256=hashlib.sha256(content).hexdigest(),
            )
        )
    return photos


def sweep(now: datetime | None = None) -> int:
    """Remove photos older than :data:`KEEP`; returns how many folders went."""
    cutoff = (now or timezone.now()) - KEEP
    try:
        folders, _files = default_storage.listdir("pending")
    except FileNotFoundError:
        return 0
    removed = 0
    for folder in folders:
        path = f"pending/{folder}"
        _dirs, files = default_storage.listdir(path)
        times = [default_storage.get_modified_time(f"{path}/{name}") for name in files]
        if times and max(times) >= cutoff:
            continue
        for name in files:
            default_storage.delete(f"{path}/{name}")
        default_storage.delete(path)
        removed += 1
    return removed
