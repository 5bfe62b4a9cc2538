"""read_raw: any supported upload to a RawTable of text columns."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.utils.translation import gettext as _

from .archives import gunzip, max_unpacked_bytes, too_large, unzip_single
from .errors import IngestError
from .read_csv import read_csv
from .read_excel import read_excel
from .read_json import read_json, read_ndjson
from .read_parquet import read_parquet
from .sniff import detect_format
from .types import RawTable, ReadOptions


def read_raw(path: Path, *, filename: str, options: ReadOptions | None = None) -> RawTable:
    """Read the file at `path` as text columns, detecting format, encoding and delimiter.

    `filename` is the name the user uploaded (the path may be a temporary file); its
    extension is used only where the content does not say what the file is. Raises
    IngestError with a translated message when the file cannot be read as a table.
    """
    options = options or ReadOptions()
    raw = _read_file(Path(path), filename, options)
    if options.exclude_rows:  # total rows, and rows the steward left out
        raw = raw.without_rows(options.exclude_rows)
    return raw


def _read_file(path: Path, filename: str, options: ReadOptions) -> RawTable:
    size = path.stat().st_size
    if size == 0:
        raise IngestError(_("The file is empty (0 bytes). Choose the file again."))
    with path.open("rb") as file:
        head = file.read(16)
    kind = detect_format(head, filename)
    if size > max_unpacked_bytes() and kind not in ("zip", "gzip"):  # those: what they unpack
        raise too_large(max_unpacked_bytes())
    if kind == "xlsx":
        return read_excel(path, options)
    if kind == "parquet":
        return read_parquet(path, options)
    if kind == "zip":
        inner_name, content = unzip_single(path)
        return _read_bytes(content, inner_name, options, packed=True)
    if kind == "gzip":
        inner_name = filename[:-3] if filename.lower().endswith(".gz") else filename
        return _read_bytes(gunzip(path), inner_name, options, packed=True)
    return _read_text(path.read_bytes(), kind, options)


def _read_bytes(data: bytes, filename: str, options: ReadOptions, packed: bool) -> RawTable:
    if not data:
        raise IngestError(_("The file inside the archive is empty (0 bytes)."))
    kind = detect_format(data[:16], filename)
    if kind in ("zip", "gzip") and packed:
        raise IngestError(_("The archive holds another archive; upload the data file itself."))
    if kind in ("xlsx", "parquet"):
        # openpyxl and Parquet read from a file; the archive checks run again on the
        # inner workbook.
        with tempfile.NamedTemporaryFile(suffix=f".{kind}") as file:
            file.write(data)
            file.flush()
            if kind == "parquet":
                return read_parquet(Path(file.name), options)
            return read_excel(Path(file.name), options)
    return _read_text(data, kind, options)


def _read_text(data: bytes, kind: str, options: ReadOptions) -> RawTable:
    if kind == "json":
        return read_json(data, options)
    if kind == "ndjson":
        return read_ndjson(data, options)
    return read_csv(data, options)
