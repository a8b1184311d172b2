"""``newsflow export``: changed articles to a JSON lines, CSV, Parquet or WARC file, atomically.

``warc`` writes the stored raw pages of the changed articles as WARC response records
(``ingest.backfill.warc_write``), a file ``newsflow backfill --source warc`` reads back.

The file is written under a temporary name in the destination's directory and renamed over the
destination only when complete, so a reader sees the whole file or none. The consumer's
watermark moves after the rename (storage.export): a crash in between exports the same rows
again next time, never skips them.
"""

from __future__ import annotations

import importlib
import os
import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from flows.output import write_csv, write_jsonl
from ingest import __version__
from ingest.backfill.warc_write import ArchivedPage, write_warc
from ingest.errors import ConfigError
from storage.export import (
    ExportedPage,
    advance_watermark,
    open_window,
    read_raw_window,
    read_window,
)
from storage.repository import ARTICLE_KEYS

FORMATS = ("jsonl", "csv", "parquet", "warc")
#: Rows per Parquet row group write.
PARQUET_BATCH = 1000

Writer = Callable[[Iterable[dict[str, Any]], Path], int]


@dataclass(frozen=True, slots=True)
class ExportResult:
    path: Path
    rows: int
    after: int  # the change positions exported: after < change_seq <= upto
    upto: int


def export_articles(engine: Engine, fmt: str, out: Path, consumer: str | None) -> ExportResult:
    """Write the articles changed since ``consumer``'s last export (all for None) to ``out``."""
    writer = None if fmt == "warc" else _writer(fmt)
    if not out.parent.is_dir():
        raise ConfigError(f"cannot write {out}: the directory {out.parent} does not exist")
    window = open_window(engine, consumer)
    with atomic_path(out) as tmp:
        if writer is None:
            rows = _write_warc(read_raw_window(engine, window), tmp, out.name)
        else:
            rows = writer(read_window(engine, window), tmp)
    advance_watermark(engine, window, rows)
    return ExportResult(out, rows, window.after, window.upto)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A new empty file beside ``path`` to write; renamed onto ``path`` if the block succeeds,
    deleted if it raises."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    # O_EXCL: never clobber another writer's file; mode 0o666 lets the umask decide, as for
    # any file the user creates.
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directory(path: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _writer(fmt: str) -> Writer:
    if fmt == "jsonl":
        return _write_jsonl
    if fmt == "csv":
        return _write_csv
    if fmt == "parquet":
        _pyarrow()
        return _write_parquet
    raise ConfigError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")


def _write_warc(pages: Iterable[ExportedPage], path: Path, filename: str) -> int:
    """Raw pages as WARC response records after a warcinfo record, one gzip member each."""
    archived = (ArchivedPage(p.url, p.fetched_at, p.content_type, p.body) for p in pages)
    with path.open("wb") as out:
        return write_warc(archived, out, filename=filename, software=f"newsflow {__version__}")


def _write_jsonl(rows: Iterable[dict[str, Any]], path: Path) -> int:
    with path.open("w", encoding="utf-8", newline="\n") as out:
        return write_jsonl(rows, out)


def _write_csv(rows: Iterable[dict[str, Any]], path: Path) -> int:
    """The same cells as ``newsflow articles --format csv``."""
    with path.open("w", encoding="utf-8", newline="") as out:
        return write_csv(rows, ARTICLE_KEYS, out)


def _pyarrow() -> tuple[Any, Any]:
    """``pyarrow`` and ``pyarrow.parquet``, or a ConfigError naming the extra to install."""
    try:
        return importlib.import_module("pyarrow"), importlib.import_module("pyarrow.parquet")
    except ImportError as exc:
        raise ConfigError(
            "Parquet export needs pyarrow, which is not installed: install newsflow's optional "
            "dependency group `export` (pip install 'newsflow[export]' or uv sync --extra export)"
        ) from exc


def parquet_schema() -> Any:
    """The Parquet columns: :data:`ARTICLE_KEYS`, typed (times are UTC microseconds)."""
    pa, _ = _pyarrow()
    text, number, when = pa.string(), pa.int64(), pa.timestamp("us", tz="UTC")
    types = {
        "id": number,
        "authors": pa.list_(text),
        "published_at": when,
        "updated_at": when,
        "tags": pa.list_(text),
        "word_count": number,
        "cluster_id": number,
        "duplicate_of": number,
        "fetched_at": when,
        "paywalled": pa.bool_(),
    }
    return pa.schema([(key, types.get(key, text)) for key in ARTICLE_KEYS])


def _write_parquet(rows: Iterable[dict[str, Any]], path: Path) -> int:
    pa, pq = _pyarrow()
    schema = parquet_schema()
    count = 0
    batch: list[dict[str, Any]] = []
    with pq.ParquetWriter(str(path), schema) as writer:
        for row in rows:
            batch.append(row)
            if len(batch) == PARQUET_BATCH:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                count, batch = count + len(batch), []
        if batch or not count:  # an empty export is still a valid file with the columns
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            count += len(batch)
    return count
