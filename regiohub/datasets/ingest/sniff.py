"""Detecting what a file is: its format, its text encoding and its CSV delimiter.

The format comes from the content where the content says it (zip, gzip, and the
signatures of files that are not data at all, such as PDF or PNG), else from the name.
"""

from __future__ import annotations

import csv
import io
from collections import Counter

from django.utils.translation import gettext as _

from .errors import IngestError

DELIMITERS = ("\t", ";", "|", ",")
SAMPLE_BYTES = 1024 * 1024
_SNIFF_LINES = 100

TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".tab")
JSON_SUFFIXES = (".json",)
NDJSON_SUFFIXES = (".ndjson", ".jsonl")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")

# Files people rename to .csv by mistake, by their first bytes.
_NOT_DATA = (
    (b"%PDF", "PDF"),
    (b"\x89PNG", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF8", "GIF"),
    (b"\xd0\xcf\x11\xe0", "Excel 97-2003 (.xls)"),
    (b"Rar!", "RAR"),
    (b"7z\xbc\xaf", "7-Zip"),
    (b"SQLite format 3", "SQLite"),
    (b"{\\rtf", "RTF"),
)


def detect_format(head: bytes, filename: str) -> str:
    """One of "zip", "gzip", "xlsx", "parquet", "json", "ndjson", "csv"."""
    name = filename.lower()
    if head.startswith(b"PK\x03\x04"):
        return "xlsx" if name.endswith(EXCEL_SUFFIXES) else "zip"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"PAR1"):
        return "parquet"
    for signature, kind in _NOT_DATA:
        if head.startswith(signature):
            raise IngestError(
                _("This is a %(kind)s file, not a data file. Upload CSV, Excel (.xlsx) or JSON.")
                % {"kind": kind}
            )
    if name.endswith(EXCEL_SUFFIXES):
        raise IngestError(_("This file is not a valid Excel (.xlsx) file."))
    if name.endswith(NDJSON_SUFFIXES):
        return "ndjson"
    if name.endswith(JSON_SUFFIXES):
        return "json"
    return "csv"


def detect_encoding(data: bytes) -> str:
    """The encoding of a text file: a BOM decides, else UTF-8 when it decodes, else cp1252.

    Only the start of the file is checked here; the CSV reader validates the rest and
    falls back to cp1252 when UTF-8 fails further on.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf-32"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    sample = data[:SAMPLE_BYTES]
    if b"\x00" in sample:
        raise _binary()
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as error:
        # A cut through the last character of the sample is not an error.
        if error.start < len(sample) - 3 or len(sample) == len(data):
            return _cp1252_or_fail(sample)
    return "utf-8"


def _cp1252_or_fail(sample: bytes) -> str:
    try:
        sample.decode("cp1252")
    except UnicodeDecodeError:
        raise _binary() from None
    return "cp1252"


def _binary() -> IngestError:
    return IngestError(
        _(
            "This file is not a text file we can read: it contains binary data or uses an "
            "unknown character encoding. Save it as CSV (UTF-8) or Excel and try again."
        )
    )


def decode(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        raise _binary() from None


def detect_delimiter(text_sample: str) -> str:
    """The delimiter that splits the first lines into the same number (> 1) of fields.

    Title lines without the delimiter above the header are passed over.

    Quotes are respected (a `,` inside "1,5" does not count). The most consistent
    delimiter wins, then the one giving more fields, then the first of tab, `;`, `|`,
    `,`. A Belgian `;` file with decimal commas keeps its `;`: its header has no commas.
    """
    lines = text_sample.splitlines()[:_SNIFF_LINES]
    if len(lines) > 1 and len(text_sample) >= SAMPLE_BYTES:
        lines = lines[:-1]  # probably cut in half
    lines = [line for line in lines if line.strip()]
    if not lines:
        return ","
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        counts = [
            len(row) for row in csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)
        ]
        # Title lines above the header ("Bevolking per gemeente") have no delimiter; they
        # are not the header, but they count against the delimiter's consistency.
        start = next((index for index, count in enumerate(counts) if count >= 2), None)
        if start is None:
            continue
        header_count = counts[start]
        same = Counter(counts[start:])[header_count] / len(counts)
        score = (same, header_count)
        if score[0] > best_score[0] or (score[0] == best_score[0] and score[1] > best_score[1]):
            best, best_score = delimiter, score
    return best
