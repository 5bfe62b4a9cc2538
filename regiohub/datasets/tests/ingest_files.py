"""Writing a test file and reading it the way a load does, shared by the ingest tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from regiohub.datasets.ingest import ConvertResult, convert, infer_schema, read_raw


def write(tmp_path: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode(encoding) if isinstance(content, str) else content)
    return path


def load(path: Path, **kwargs: Any) -> ConvertResult:
    raw = read_raw(path, filename=path.name, **kwargs)
    return convert(raw, infer_schema(raw))
