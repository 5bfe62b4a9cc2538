"""Unpacking .zip and .gz uploads (and checking .xlsx, which is a zip) without bombs.

A "zip bomb" is a small file that unpacks into gigabytes. For a zip we check the sizes
its directory declares before anything is extracted; Python's zipfile never hands out
more bytes than an entry declares, so the declared sizes are a real limit. A gzip
stream declares nothing reliable, so it is unpacked in pieces and stopped at the limit.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path, PurePosixPath

from django.utils.translation import gettext as _

from .errors import IngestError

# More than this, unpacked, is refused: far more than any dataset we expect as an upload.
MAX_UNPACKED_BYTES = 1024**3
# Text compresses 5 to 20 times; a ratio above this is a bomb, not a dataset.
MAX_RATIO = 100
# Below this size an entry cannot hurt, whatever its ratio (tiny XML compresses well).
RATIO_CHECK_FROM_BYTES = 10 * 1024**2

_IGNORED_PREFIXES = ("__MACOSX/",)
_IGNORED_NAMES = (".DS_Store", "Thumbs.db", "desktop.ini")


def check_zip(path: Path) -> None:
    """Refuse a zip (or xlsx) that would unpack into too much data."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        raise IngestError(_("The zip file is damaged or incomplete.")) from None
    _check_sizes(infos)


def unzip_single(path: Path) -> tuple[str, bytes]:
    """The name and content of the one data file inside a zip."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = [info for info in archive.infolist() if _is_data_entry(info)]
            _check_sizes(infos)
            if not infos:
                raise IngestError(_("The zip file contains no file."))
            if len(infos) > 1:
                names = ", ".join(f"“{info.filename}”" for info in infos[:10])
                raise IngestError(
                    _("The zip file contains %(count)s files (%(names)s); put exactly one in it.")
                    % {"count": len(infos), "names": names}
                )
            info = infos[0]
            if info.flag_bits & 0x1:
                raise IngestError(_("The zip file is protected with a password."))
            content = archive.read(info)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error):
        raise IngestError(_("The zip file is damaged or incomplete.")) from None
    return PurePosixPath(info.filename).name, content


def gunzip(path: Path) -> bytes:
    """The content of a .gz file, refused when it unpacks into too much."""
    packed = path.stat().st_size
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    parts: list[bytes] = []
    unpacked = 0
    try:
        with path.open("rb") as file:
            while chunk := file.read(1024 * 1024):
                # Never let one step produce more than what is still allowed (plus one).
                piece = inflater.decompress(chunk, MAX_UNPACKED_BYTES - unpacked + 1)
                while True:
                    unpacked += len(piece)
                    parts.append(piece)
                    _check_totals(unpacked, packed)
                    if not inflater.unconsumed_tail:
                        break
                    piece = inflater.decompress(
                        inflater.unconsumed_tail, MAX_UNPACKED_BYTES - unpacked + 1
                    )
    except zlib.error:
        raise IngestError(_("The .gz file is damaged or incomplete.")) from None
    if not inflater.eof:
        raise IngestError(_("The .gz file is damaged or incomplete."))
    return b"".join(parts)


def _is_data_entry(info: zipfile.ZipInfo) -> bool:
    name = info.filename
    return not (
        info.is_dir()
        or name.startswith(_IGNORED_PREFIXES)
        or PurePosixPath(name).name in _IGNORED_NAMES
    )


def _check_sizes(infos: list[zipfile.ZipInfo]) -> None:
    unpacked = sum(info.file_size for info in infos)
    packed = sum(info.compress_size for info in infos)
    _check_totals(unpacked, packed)
    for info in infos:
        _check_totals(info.file_size, info.compress_size)


def _check_totals(unpacked: int, packed: int) -> None:
    if unpacked > MAX_UNPACKED_BYTES:
        raise IngestError(
            _("The file unpacks into more than %(gigabytes)s GB; that is more than we accept.")
            % {"gigabytes": MAX_UNPACKED_BYTES // 1024**3}
        )
    if unpacked >= RATIO_CHECK_FROM_BYTES and unpacked > MAX_RATIO * max(packed, 1):
        raise IngestError(
            _(
                "The file unpacks into %(ratio)s times its packed size. We refuse it, "
                "because a real data file does not compress that well (it looks like a "
                "“zip bomb”)."
            )
            % {"ratio": unpacked // max(packed, 1)}
        )
