"""Typed rows of a big load, written batch by batch to a file beside the upload, so that
they never have to be held in memory as a whole (docs/decisions/0024-streaming-loads.md).

    writer = StageWriter(folder, schema, key=["segment_id", "hour"])
    for batch in batches:
        writer.write(typed_batch)           # each row gets its position (INDEX)
    rows = writer.finish()                  # StagedRows: num_rows, schema, reader()

The file is Arrow's IPC format with LZ4: it is written once and read two or three times
(the key check, the changes, the Delta write), and Arrow IPC is the fastest to write and
read back; it is never kept. While writing, the writer notes the range of each key column
(the changes look only at the previous version's rows in that range) and whether the keys
come in order (then no key can be there twice, and the key check needs no query).
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import shutil
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.ipc as ipc

#: The column holding a row's position among the rows loaded (0-based); no column of a
#: dataset may start with "__".
INDEX = "__i"
#: Rows per record batch of the file: what a reader holds at a time.
FILE_BATCH_ROWS = 64 * 1024
_FOLDER_PREFIX = ".staging-"
_OPTIONS = ipc.IpcWriteOptions(compression=None)


def new_folder(parent: Path) -> Path:
    """A new folder for the staged files of one run of a load in ``parent`` (the upload's
    folder), after removing those of earlier runs (a worker killed while it loaded)."""
    for old in parent.glob(_FOLDER_PREFIX + "*"):
        shutil.rmtree(old, ignore_errors=True)
    folder = parent / f"{_FOLDER_PREFIX}{uuid.uuid4().hex}"
    folder.mkdir()
    return folder


@dataclass
class StagedRows:
    """Rows loaded from a file, typed, in a staged file (see the module's docstring)."""

    path: Path
    schema: pa.Schema  # the typed columns, without INDEX
    num_rows: int
    #: The lowest and highest value of each key column.
    ranges: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    #: The keys came in a strict order (of the key columns in some order): none is twice.
    keys_in_order: bool = False

    @property
    def column_names(self) -> list[str]:
        return self.schema.names

    @property
    def folder(self) -> Path:
        return self.path.parent

    def dataset(self) -> ds.Dataset:
        """The rows with their positions (INDEX), for DuckDB (which may not open files
        outside the dataset tables: the rows reach it through Arrow)."""
        return ds.dataset(self.path, format="ipc")

    def reader(self, columns: Sequence[str] | None = None) -> pa.RecordBatchReader:
        """The rows, record batch by record batch, without their positions unless
        ``columns`` names INDEX. A reader is read once, and holds one batch at a time."""
        names = list(columns or self.schema.names)
        fields = [
            pa.field(INDEX, pa.int64()) if n == INDEX else self.schema.field(n) for n in names
        ]
        return pa.RecordBatchReader.from_batches(pa.schema(fields), self._batches(names))

    def _batches(self, names: list[str]) -> Iterator[pa.RecordBatch]:
        with pa.OSFile(str(self.path)) as source:
            file = ipc.open_file(source)
            for index in range(file.num_record_batches):
                yield file.get_batch(index).select(names)

    def writer(self, name: str) -> StageWriter:
        """A writer for other rows beside these (what a load writes, when it is not all
        of them)."""
        return StageWriter(self.folder, self.schema, name=name)

    def remove(self) -> None:
        """Remove the staged files (all of this load's run)."""
        shutil.rmtree(self.folder, ignore_errors=True)


class StageWriter:
    """Writes typed tables to a staged file; see the module's docstring."""

    def __init__(
        self, folder: Path, schema: pa.Schema, *, key: Sequence[str] = (), name: str = "rows"
    ) -> None:
        self.schema = schema
        self.path = folder / f"{name}.arrow"
        self.rows = 0
        self._file = pa.OSFile(str(self.path), "wb")
        with_index = schema.append(pa.field(INDEX, pa.int64()))
        self._writer = ipc.new_file(self._file, with_index, options=_OPTIONS)
        # Written by a thread of its own while the next batch is converted (Arrow lets go
        # of the GIL while it writes); at most two tables wait.
        self._queue: queue.Queue[pa.Table | None] = queue.Queue(maxsize=2)
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._write_all, name="stage-writer", daemon=True)
        self._thread.start()
        self._key = list(key)
        self._ranges: dict[str, tuple[Any, Any]] = {}
        # The key columns in each order (up to three columns): which are still in order.
        orders = itertools.permutations(self._key) if len(self._key) <= 3 else [tuple(key)]
        self._orders = {order: True for order in orders} if self._key else {}
        self._last: pa.Table | None = None

    def write(self, table: pa.Table) -> None:
        table = table.select(self.schema.names).cast(self.schema)
        count = table.num_rows
        if not count:
            return
        if self._key:
            self._note_keys(table)
        positions = pa.array(range(self.rows, self.rows + count), pa.int64())
        self._put(table.append_column(INDEX, positions))
        self.rows += count

    def write_batches(self, batches: Iterator[pa.RecordBatch]) -> None:
        for batch in batches:
            self.write(pa.Table.from_batches([batch]))

    def finish(self) -> StagedRows:
        self._close()
        in_order = bool(self._orders) and any(self._orders.values())
        return StagedRows(self.path, self.schema, self.rows, dict(self._ranges), in_order)

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._close()
        self.path.unlink(missing_ok=True)

    def _put(self, table: pa.Table | None) -> None:
        while self._thread.is_alive():
            try:
                self._queue.put(table, timeout=1)
                break
            except queue.Full:
                continue
        if self._failure is not None:
            raise self._failure

    def _write_all(self) -> None:
        while (table := self._queue.get()) is not None:
            if self._failure is None:
                try:
                    self._writer.write_table(table, FILE_BATCH_ROWS)
                except BaseException as failure:  # raised in the thread that writes
                    self._failure = failure

    def _close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if not self._file.closed:
            self._writer.close()
            self._file.close()
        if self._failure is not None:
            raise self._failure

    def _note_keys(self, table: pa.Table) -> None:
        keys = table.select(self._key)
        for name in self._key:
            bounds = pc.min_max(keys[name])
            low, high = bounds["min"].as_py(), bounds["max"].as_py()
            if name in self._ranges:
                old_low, old_high = self._ranges[name]
                low = old_low if low is None or (old_low is not None and old_low < low) else low
                high = (
                    old_high if high is None or (old_high is not None and old_high > high) else high
                )
            self._ranges[name] = (low, high)
        if any(self._orders.values()):
            joined = keys if self._last is None else pa.concat_tables([self._last, keys])
            for order, still in self._orders.items():
                if still:
                    self._orders[order] = _increasing(joined, order)
            self._last = keys.slice(keys.num_rows - 1)


def _increasing(keys: pa.Table, order: Sequence[str]) -> bool:
    """Whether each row's key comes strictly after the one before, comparing the columns
    in ``order``."""
    count = keys.num_rows
    if count < 2:
        return True
    after = same = None
    for name in order:
        column = keys[name]
        this, before = column.slice(1), column.slice(0, count - 1)
        greater, equal = pc.greater(this, before), pc.equal(this, before)
        if after is None:
            after, same = greater, equal
        else:
            after = pc.or_(after, pc.and_(same, greater))
            same = pc.and_(same, equal)
    return bool(pc.all(pc.fill_null(after, False)).as_py())
