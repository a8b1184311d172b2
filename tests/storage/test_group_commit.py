"""Group commit: saves waiting for the write lock go in one transaction (SQLite and Postgres).

The test holds the store's write lock while feeds' threads queue their saves, one after the
other, so the group and its order are known; then it lets go and one thread writes them all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, event

from ingest.model import ArticleRecord, FeedSource, SaveCounts
from storage.repository import ArticleQuery, SqlStore, query_articles, sync_feeds
from tests.storage.test_repository import FEED_A, FEED_B, record

POISON = "https://a.example/poison"


class Injected(RuntimeError):
    """What the database "raises" for the poisoned record (see ``poisoned``)."""


@pytest.fixture
def store(engine: Engine) -> SqlStore:
    sync_feeds(engine, [FeedSource(FEED_A, "A"), FeedSource(FEED_B, "B")])
    return SqlStore(engine)


@pytest.fixture
def commits(engine: Engine) -> Iterator[list[str]]:
    """Every commit and rollback of a write on the store's engine, in order."""
    seen: list[str] = []

    def on_commit(_conn: Any) -> None:
        seen.append("commit")

    def on_rollback(_conn: Any) -> None:
        seen.append("rollback")

    event.listen(engine, "commit", on_commit)
    event.listen(engine, "rollback", on_rollback)
    yield seen
    event.remove(engine, "commit", on_commit)
    event.remove(engine, "rollback", on_rollback)


@pytest.fixture
def poisoned(engine: Engine) -> Iterator[None]:
    """The database refuses any statement naming ``POISON``, as it would a bad value."""

    def refuse(_conn: Any, _cursor: Any, _sql: str, params: Any, *_: Any) -> None:
        if POISON in repr(params):
            raise Injected(f"refused {POISON}")

    event.listen(engine, "before_cursor_execute", refuse)
    yield
    event.remove(engine, "before_cursor_execute", refuse)


def saved_together(
    store: SqlStore, saves: Sequence[tuple[str, list[ArticleRecord]]]
) -> list[Future[SaveCounts]]:
    """Queue ``saves`` in order while the write lock is held, then let the group be written."""
    pool = ThreadPoolExecutor(max_workers=len(saves))
    futures: list[Future[SaveCounts]] = []
    with store._write_lock:
        for feed_url, records in saves:
            futures.append(pool.submit(store.save, feed_url, records))
            _wait_until(lambda: len(store._waiting) == len(futures))
    pool.shutdown(wait=True)
    return futures


def _wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the saves were never queued")
        time.sleep(0.001)


def test_waiting_saves_commit_once_and_read_as_if_saved_one_by_one(
    store: SqlStore, commits: list[str]
) -> None:
    futures = saved_together(
        store,
        [
            (FEED_A, [record("/wire"), record("/other", "Another story.")]),
            (FEED_A, [record("/wire")]),  # the first save's article, unchanged
            (FEED_B, [record("/copy", site="https://b.example")]),  # its text, another outlet
        ],
    )
    assert [f.result() for f in futures] == [
        SaveCounts(new=2),
        SaveCounts(duplicates=1),
        SaveCounts(new=1),
    ]
    assert commits == ["commit"]
    rows = {r["url"]: r for r in query_articles(store.engine, ArticleQuery())}
    assert set(rows) == {
        "https://a.example/wire",
        "https://a.example/other",
        "https://b.example/copy",
    }
    wire, copy = rows["https://a.example/wire"], rows["https://b.example/copy"]
    assert copy["duplicate_of"] == wire["id"]
    assert copy["cluster_id"] == wire["cluster_id"]
    assert (wire["feed_url"], copy["feed_url"]) == (FEED_A, FEED_B)


@pytest.mark.usefixtures("poisoned")
def test_a_failing_save_fails_alone_and_the_others_are_kept(
    store: SqlStore, commits: list[str]
) -> None:
    futures = saved_together(
        store,
        [
            (FEED_A, [record("/first")]),
            (FEED_A, [record("/poison", "Poisoned text.")]),
            (FEED_B, [record("/last", "Last text.", site="https://b.example")]),
        ],
    )
    first, poisoned, last = futures
    assert first.result() == SaveCounts(new=1)
    with pytest.raises(Injected):
        poisoned.result()
    assert last.result() == SaveCounts(new=1)
    # The group is rolled back, then each save is written in a transaction of its own.
    assert commits == ["rollback", "commit", "rollback", "commit"]
    urls = {r["url"] for r in query_articles(store.engine, ArticleQuery())}
    assert urls == {"https://a.example/first", "https://b.example/last"}


def test_a_save_larger_than_a_group_is_written_in_chunks(
    store: SqlStore, commits: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("storage.repository.BATCH_SIZE", 2)
    records = [record(f"/{n}", f"Story number {n}.") for n in range(5)]
    assert store.save(FEED_A, records) == SaveCounts(new=5)
    assert commits == ["commit"] * 3
