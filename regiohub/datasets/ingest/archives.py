"""Unpacking .zip and .gz uploads (and checking .xlsx, which is a zip) without bombs.

A "zip bomb" is a small file that unpacks into gigabytes. For a zip we check the sizes
its directory declares before anything is extracted; Python's zipfile never hands out
more bytes than an entry declares, so the declared sizes are a real limit. A gzip
stream declares nothing reliable, so it is unpacked in pieces and stopped at the limit.

The limit is the upload limit (``REGIOHUB_DATASETS_UPLOAD_MB``): a file may not unpack
into more than a data steward may upload unpacked. A big file is read in batches
(stream.py), so its unpacked content is never held in memory as a whole.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.utils.translation import gettext as _

from .errors import IngestError

#: More than this, unpacked, is refused; None: the upload limit (REGIOHUB_DATASETS_UPLOAD_MB).
MAX_UNPACKED_BYTES: int | None = None
# Text compresses 5 to 20 times; a ratio above this is a bomb, not a dataset.
MAX_RATIO = 100
# Below this size an entry cannot hurt, whatever its ratio (tiny XML compresses well).
RATIO_CHECK_FROM_BYTES = 10 * 1024**2

_IGNORED_PREFIXES = ("__MACOSX/",)
_IGNORED_NAMES = (".DS_Store", "Thumbs.db", "desktop.ini")


def max_unpacked_bytes() -> int:
    """The most bytes a file may hold, unpacked."""
    if MAX_UNPACKED_BYTES is not None:
        return MAX_UNPACKED_BYTES
    return int(settings.DATASETS_UPLOAD_MB) * 1024**2


def too_large(limit: int) -> IngestError:
    return IngestError(
        _("The file is larger than %(gigabytes)s GB; that is more than we accept.")
        % {"gigabytes": _gigabytes(limit)}
    )


def _gigabytes(limit: int) -> str:
    """The limit in GB as a person says it: 1, 5, 0.5."""
    return f"{limit / 1024**3:.1f}".removesuffix(".0")


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
            info = _single(archive)
            content = archive.read(info)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error):
        raise IngestError(_("The zip file is damaged or incomplete.")) from None
    return PurePosixPath(info.filename).name, content


def open_zip_single(path: Path) -> tuple[str, int, io.BufferedIOBase]:
    """The name, unpacked size and a stream of the one data file inside a zip (read in
    pieces; Python's zipfile never hands out more bytes than the entry declares)."""
    try:
        archive = zipfile.ZipFile(path)
        try:
            info = _single(archive)
            stream = _Guarded(archive.open(info), archive.close, _ZIP_ERRORS, damaged_zip)
        except BaseException:
            archive.close()
            raise
    except _ZIP_ERRORS:
        raise damaged_zip() from None
    return PurePosixPath(info.filename).name, info.file_size, stream


def _single(archive: zipfile.ZipFile) -> zipfile.ZipInfo:
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
    return info


_ZIP_ERRORS = (zipfile.BadZipFile, OSError, EOFError, zlib.error)


def damaged_zip() -> IngestError:
    return IngestError(_("The zip file is damaged or incomplete."))


def damaged_gzip() -> IngestError:
    return IngestError(_("The .gz file is damaged or incomplete."))


class _Guarded(io.RawIOBase):
    """A stream whose read errors of a damaged archive are an IngestError."""

    def __init__(self, stream, close, errors, damaged) -> None:
        self._stream, self._close, self._errors, self._damaged = stream, close, errors, damaged

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        try:
            return self._stream.read(size)
        except self._errors:
            raise self._damaged() from None

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
            self._close()
        super().close()


class GunzipStream(io.RawIOBase):
    """The content of a .gz file, unpacked piece by piece as it is read, and refused (an
    IngestError) as soon as it unpacks into too much or too well."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("rb")
        self._packed = path.stat().st_size
        self._inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        self._pending = b""
        self._unpacked = 0
        self._limit = max_unpacked_bytes()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:  # all of it (a small file read whole)
            parts = [self._pending]
            while not self._inflater.eof and (piece := self._next_piece()) is not None:
                parts.append(piece)
            self._pending = b""
            return b"".join(parts)
        while len(self._pending) < size and not self._inflater.eof:
            piece = self._next_piece()
            if piece is None:
                break
            self._pending += piece
        data, self._pending = self._pending[:size], self._pending[size:]
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _next_piece(self) -> bytes | None:
        allowed = self._limit - self._unpacked + 1
        try:
            if self._inflater.unconsumed_tail:
                piece = self._inflater.decompress(self._inflater.unconsumed_tail, allowed)
            else:
                chunk = self._file.read(1024 * 1024)
                if not chunk:
                    raise damaged_gzip()  # the stream ended before its end
                piece = self._inflater.decompress(chunk, allowed)
        except zlib.error:
            raise damaged_gzip() from None
        self._unpacked += len(piece)
        _check_totals(self._unpacked, self._packed, self._limit)
        return piece

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()


def gunzip(path: Path) -> bytes:
    """The content of a .gz file, refused when it unpacks into too much."""
    packed = path.stat().st_size
    limit = max_unpacked_bytes()
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    parts: list[bytes] = []
    unpacked = 0
    try:
        with path.open("rb") as file:
            while chunk := file.read(1024 * 1024):
                # Never let one step produce more than what is still allowed (plus one).
                piece = inflater.decompress(chunk, limit - unpacked + 1)
                while True:
                    unpacked += len(piece)
                    parts.append(piece)
                    _check_totals(unpacked, packed, limit)
                    if not inflater.unconsumed_tail:
                        break
                    piece = inflater.decompress(inflater.unconsumed_tail, limit - unpacked + 1)
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
    limit = max_unpacked_bytes()
    unpacked = sum(info.file_size for info in infos)
    packed = sum(info.compress_size for info in infos)
    _check_totals(unpacked, packed, limit)
    for info in infos:
        _check_totals(info.file_size, info.compress_size, limit)


def _check_totals(unpacked: int, packed: int, limit: int) -> None:
    if unpacked > limit:
        raise IngestError(
            _("The file unpacks into more than %(gigabytes)s GB; that is more than we accept.")
            % {"gigabytes": _gigabytes(limit)}
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
