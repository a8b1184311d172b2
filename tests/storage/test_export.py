"""Change positions and export watermarks on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text

from ingest.dedup.keys import content_hash
from ingest.errors import ConfigError
from ingest.model import Article, ArticleRecord, FeedSource
from storage.export import ExportWindow, advance_watermark, open_window, read_window, watermark
from storage.repository import ARTICLE_KEYS, SqlStore, sync_feeds

T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)
FEED = "https://a.example/rss"


def record(path: str, version: int = 1) -> ArticleRecord:
    url = f"https://a.example{path}"
    body = f"Story {path} in its version {version}, with a few words to make a body."
    return ArticleRecord(
        article=Article(url=url, canonical_url=url, title=f"{path} v{version}", text=body),
        link_url=url,
        guid=url,
        entry_hash=f"{path}-{version}",
        content_hash=content_hash(body),
        fetched_at=T0 + timedelta(minutes=version),
    )


@pytest.fixture
def store(engine: Engine) -> SqlStore:
    sync_feeds(engine, [FeedSource(FEED, "A")])
    return SqlStore(engine)


def export(engine: Engine, consumer: str | None) -> list[dict[str, Any]]:
    window = open_window(engine, consumer)
    rows = list(read_window(engine, window, batch=2))  # small batches: paging is exercised
    advance_watermark(engine, window, len(rows))
    return rows


# Steps: ("save", {path: version}) stores those versions; ("export", consumer) exports.
INTERLEAVED = [
    ("save", {"/a": 1, "/b": 1, "/c": 1}),
    ("export", "warehouse"),
    ("save", {"/d": 1, "/a": 2}),  # one new, one edited
    ("export", "search-index"),  # first export of a second consumer: everything
    ("save", {"/e": 1, "/b": 2, "/c": 1}),  # /c unchanged: not a change
    ("export", "warehouse"),
    ("save", {"/b": 3}),  # edited again before search-index saw version 2
    ("export", "search-index"),
    ("export", "warehouse"),
    ("export", "warehouse"),  # nothing new
    ("save", {"/f": 1}),
    ("export", "search-index"),
    ("export", "warehouse"),
]


def test_two_consumers_interleaved_miss_nothing_and_repeat_nothing(store: SqlStore) -> None:
    current: dict[str, int] = {}  # path -> latest version stored
    pending: dict[str, dict[str, int]] = {"warehouse": {}, "search-index": {}}
    for step, arg in INTERLEAVED:
        if step == "save":
            assert isinstance(arg, dict)
            for path, version in arg.items():
                changed = current.get(path) != version
                store.save(FEED, [record(path, version)])
                current[path] = version
                if changed:
                    for seen in pending.values():
                        seen[path] = version
            continue
        assert isinstance(arg, str)
        rows = export(store.engine, arg)
        got = [(r["url"].removeprefix("https://a.example"), r["title"]) for r in rows]
        want = [(path, f"{path} v{version}") for path, version in pending[arg].items()]
        assert sorted(got) == sorted(want), f"{step} {arg}"
        assert len({r["id"] for r in rows}) == len(rows)  # never twice in one file
        pending[arg] = {}


def test_rows_have_exactly_the_article_keys_in_change_order(store: SqlStore) -> None:
    store.save(FEED, [record("/a"), record("/b")])
    store.save(FEED, [record("/a", 2)])
    rows = export(store.engine, None)
    assert [tuple(r) for r in rows] == [ARTICLE_KEYS] * 2
    assert [r["title"] for r in rows] == ["/b v1", "/a v2"]
    assert rows[0]["feed_url"] == FEED


def test_without_a_consumer_everything_and_no_watermark(store: SqlStore) -> None:
    store.save(FEED, [record("/a"), record("/b")])
    assert len(export(store.engine, None)) == 2
    assert len(export(store.engine, None)) == 2
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM export_watermarks")).scalar_one() == 0


@pytest.mark.parametrize(
    ("statement", "bumps"),
    [
        pytest.param("UPDATE articles SET cluster_id = 999", True, id="cluster-merge"),
        pytest.param("UPDATE articles SET title = 'New'", True, id="title"),
        pytest.param("UPDATE articles SET tags = '[\"x\"]'", True, id="json-tags"),
        pytest.param("UPDATE articles SET entry_hash = 'other'", False, id="entry-hash"),
        pytest.param("UPDATE articles SET published_raw = 'x'", False, id="not-exported"),
        pytest.param("UPDATE articles SET title = title", False, id="same-value"),
    ],
)
def test_any_writer_changing_an_exported_column_gives_a_new_position(
    store: SqlStore, statement: str, bumps: bool
) -> None:
    """The trigger, not the code, assigns positions: raw SQL and cluster merges count too."""
    store.save(FEED, [record("/a")])
    export(store.engine, "w")
    with store.engine.begin() as conn:
        conn.execute(text(statement))
    assert len(export(store.engine, "w")) == (1 if bumps else 0)


def test_watermark_moves_only_forward(store: SqlStore) -> None:
    store.save(FEED, [record("/a"), record("/b")])
    late = open_window(store.engine, "w")
    store.save(FEED, [record("/c")])
    export(store.engine, "w")
    newest = watermark(store.engine, "w")
    advance_watermark(store.engine, late, 2)  # an older, overlapping export finishing last
    assert watermark(store.engine, "w") == newest


def test_an_export_that_never_commits_its_watermark_is_repeated(store: SqlStore) -> None:
    """At-least-once: rows written to a file whose watermark was lost come again."""
    store.save(FEED, [record("/a")])
    window = open_window(store.engine, "w")
    assert len(list(read_window(store.engine, window))) == 1  # "crash" before advance_watermark
    assert len(export(store.engine, "w")) == 1


def test_a_change_during_an_export_comes_in_the_next(store: SqlStore) -> None:
    store.save(FEED, [record("/a"), record("/b"), record("/c")])
    window = open_window(store.engine, "w")
    rows = read_window(store.engine, window, batch=1)
    first = next(rows)
    store.save(FEED, [record(first["url"].removeprefix("https://a.example"), 2), record("/d")])
    rest = list(rows)
    advance_watermark(store.engine, window, 1 + len(rest))
    assert len(rest) == 2  # the window is fixed: /d and the new version are not in it
    assert sorted(r["title"] for r in export(store.engine, "w")) == [
        f"{first['title'][:-3]} v2",
        "/d v1",
    ]


@pytest.mark.parametrize("name", [pytest.param("", id="empty"), pytest.param("x" * 201, id="long")])
def test_bad_consumer_names_are_refused(engine: Engine, name: str) -> None:
    with pytest.raises(ConfigError, match="consumer name"):
        open_window(engine, name)


def test_window_of_a_consumer_ahead_of_the_data_is_empty(store: SqlStore) -> None:
    store.save(FEED, [record("/a")])
    advance_watermark(store.engine, ExportWindow("w", 0, 10_000), 0)
    assert export(store.engine, "w") == []


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_postgres_positions_become_visible_in_order(store: SqlStore) -> None:
    """A writer holding a position blocks the next one until it commits, and an export in
    between sees neither: a watermark can never pass an uncommitted change."""
    engine = store.engine
    first = engine.connect()
    tx = first.begin()
    first.execute(_insert_sql("/slow"))
    slow_seq = first.execute(text("SELECT change_seq FROM articles")).scalar_one()

    done: list[int] = []
    second = threading.Thread(target=lambda: done.append(_insert_committed(engine, "/fast")))
    second.start()
    _wait_until_blocked(engine)
    assert export(engine, "w") == []  # neither is visible; the watermark stays behind both
    tx.commit()
    first.close()
    second.join(timeout=30)
    assert done and done[0] > slow_seq
    assert [r["url"] for r in export(engine, "w")] == [
        "https://a.example/slow",
        "https://a.example/fast",
    ]


def _insert_sql(path: str) -> Any:
    return text(
        "INSERT INTO articles (url, link_url, canonical_url, title, authors, tags, text, "
        "word_count, content_hash, sources, fetched_at, created_at) VALUES "
        f"('https://a.example{path}', 'l{path}', 'https://a.example{path}', 't', '[]', '[]', "
        "'b', 1, 'h', '{}', now(), now())"
    )


def _insert_committed(engine: Engine, path: str) -> int:
    with engine.begin() as conn:
        conn.execute(_insert_sql(path))
        return int(
            conn.execute(
                text("SELECT change_seq FROM articles WHERE url = :u"),
                {"u": f"https://a.example{path}"},
            ).scalar_one()
        )


def _wait_until_blocked(engine: Engine, seconds: float = 20) -> None:
    """Poll until another session waits on a lock (a condition, not a sleep to hide a race)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            waiting = conn.execute(
                text(
                    "SELECT COUNT(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            ).scalar_one()
        if waiting:
            return
        time.sleep(0.02)
    raise AssertionError("the second writer never waited for the first")
