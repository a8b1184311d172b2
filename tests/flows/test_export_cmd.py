"""``newsflow export``: formats, atomic files, watermarks moved only after the file is in place."""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from flows.cli import main
from flows.export_cmd import atomic_path, export_articles
from flows.output import jsonable
from ingest.dedup.keys import content_hash
from ingest.errors import ConfigError
from ingest.model import Article, ArticleRecord, FeedSource
from storage.db import ensure_schema, make_engine
from storage.export import watermark
from storage.repository import ARTICLE_KEYS, ArticleQuery, SqlStore, query_articles, sync_feeds

T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)
FEED = "https://a.example/rss"
HAS_PYARROW = importlib.util.find_spec("pyarrow") is not None


def record(path: str, version: int = 1) -> ArticleRecord:
    url = f"https://a.example{path}"
    body = f"Story {path}, version {version}.\n\nA second paragraph, with “quotes”, a comma."
    return ArticleRecord(
        article=Article(
            url=url,
            canonical_url=url,
            title=f"{path} v{version}",
            text=body,
            authors=["Ana Lima", "Bo Chen"],
            tags=["world"],
            published_at=T0 if path != "/undated" else None,
            language="en",
        ),
        link_url=url,
        guid=url,
        entry_hash=f"{path}-{version}",
        content_hash=content_hash(body),
        fetched_at=T0 + timedelta(minutes=version),
    )


@pytest.fixture
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """SQLite only: files are engine-agnostic, and tests/storage/test_export.py runs both."""
    eng = make_engine(f"sqlite:///{tmp_path_factory.mktemp('db') / 'n.db'}")
    ensure_schema(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def store(engine: Engine) -> SqlStore:
    sync_feeds(engine, [FeedSource(FEED, "A")])
    store = SqlStore(engine)
    store.save(FEED, [record("/a"), record("/undated")])
    return store


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def read_csv(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == ARTICLE_KEYS
    return [dict(zip(ARTICLE_KEYS, row, strict=True)) for row in rows[1:]]


def read_parquet(path: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    assert tuple(table.column_names) == ARTICLE_KEYS
    return [jsonable(row) for row in table.to_pylist()]


READERS = {"jsonl": read_jsonl, "csv": read_csv, "parquet": read_parquet}
FORMATS = [
    pytest.param("jsonl", id="jsonl"),
    pytest.param("csv", id="csv"),
    pytest.param(
        "parquet",
        id="parquet",
        marks=pytest.mark.skipif(not HAS_PYARROW, reason="pyarrow not installed"),
    ),
]


def expected(engine: Engine, fmt: str) -> list[dict[str, Any]]:
    """What each format should hold: the ``articles --format jsonl`` objects, in change order."""
    rows = sorted(query_articles(engine, ArticleQuery()), key=lambda r: r["id"])
    objects = [jsonable(r) for r in rows]
    if fmt == "csv":  # text cells: lists as JSON, nulls empty
        return [
            {
                k: json.dumps(v, ensure_ascii=False)
                if isinstance(v, list)
                else ("" if v is None else str(v))
                for k, v in o.items()
            }
            for o in objects
        ]
    return objects


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip(store: SqlStore, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"articles.{fmt}"
    result = export_articles(store.engine, fmt, out, None)
    assert result.rows == 2
    assert READERS[fmt](out) == expected(store.engine, fmt)
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_export_is_a_valid_file(store: SqlStore, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"articles.{fmt}"
    export_articles(store.engine, fmt, out, "w")
    assert export_articles(store.engine, fmt, out, "w").rows == 0
    assert READERS[fmt](out) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_second_export_holds_only_the_changes(store: SqlStore, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"articles.{fmt}"
    export_articles(store.engine, fmt, out, "w")
    store.save(FEED, [record("/a", 2), record("/b")])
    export_articles(store.engine, fmt, out, "w")
    assert sorted(r["title"] for r in READERS[fmt](out)) == ["/a v2", "/b v1"]


def test_failure_inside_the_block_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    with pytest.raises(RuntimeError), atomic_path(out) as tmp:
        tmp.write_text('{"id": 1}\n{"id": 2', encoding="utf-8")  # half a file
        raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_the_previous_file_whole(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("previous complete export\n", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_path(out) as tmp:
        tmp.write_text("partial", encoding="utf-8")
        raise RuntimeError("killed")
    assert out.read_text(encoding="utf-8") == "previous complete export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_a_failed_export_does_not_move_the_watermark(store: SqlStore, tmp_path: Path) -> None:
    blocked = tmp_path / "out.jsonl"
    blocked.mkdir()  # the rename onto it fails after the whole file was written
    with pytest.raises(OSError):
        export_articles(store.engine, "jsonl", blocked, "w")
    assert watermark(store.engine, "w") is None
    assert list(blocked.iterdir()) == [] and [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]
    assert export_articles(store.engine, "jsonl", tmp_path / "ok.jsonl", "w").rows == 2


def test_parquet_without_pyarrow_names_the_extra(
    store: SqlStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # makes `import pyarrow` fail
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ConfigError, match="optional dependency group `export`"):
        export_articles(store.engine, "parquet", tmp_path / "a.parquet", "w")
    assert list(tmp_path.iterdir()) == []
    assert watermark(store.engine, "w") is None


def test_missing_directory_is_refused_before_anything(store: SqlStore, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        export_articles(store.engine, "jsonl", tmp_path / "no" / "a.jsonl", "w")
    assert watermark(store.engine, "w") is None


def test_cli_exports_incrementally(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'n.db'}"
    engine = make_engine(db)
    ensure_schema(engine)
    sync_feeds(engine, [FeedSource(FEED, "A")])
    SqlStore(engine).save(FEED, [record("/a")])
    engine.dispose()
    out = tmp_path / "changes.jsonl"
    args = ["export", "--format", "jsonl", "--out", str(out), "--db", db, "--since-last"]

    first = CliRunner().invoke(main, [*args, "w"])
    assert first.exit_code == 0, first.output
    assert "exported 1 articles changed since w's last export" in first.stderr
    assert [o["title"] for o in read_jsonl(out)] == ["/a v1"]
    again = CliRunner().invoke(main, [*args, "w"])
    assert "exported 0 articles" in again.stderr and out.read_text() == ""
    bad = CliRunner().invoke(main, [*args, " "])
    assert bad.exit_code == 1 and "consumer name" in bad.stderr
