"""storage/politeness.py and migration 0005, on both engines.

robots.txt files and host pauses outlive a run; ``articles.paywalled`` is stored, exported
right after ``fetched_at``, and a change to it gives the article a new change position.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from ingest.fetch.polite import HostPause
from ingest.fetch.robots import RobotsFile
from ingest.model import Article, ArticleRecord, FeedSource
from storage.db import MIGRATIONS_DIR, current_revision, upgrade
from storage.export import open_window, read_window
from storage.politeness import SqlPolitenessStore
from storage.repository import ARTICLE_KEYS, ArticleQuery, SqlStore, query_articles, sync_feeds

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
FEED = "https://news.example.com/rss"


def test_robots_txt_files_are_kept_and_replaced_by_a_later_fetch(engine: Engine) -> None:
    store = SqlPolitenessStore(engine)
    origin = "https://news.example.com"
    assert store.robots(origin) is None
    assert store.robots_fetched() == {}
    store.save_robots(
        [
            RobotsFile(origin, 200, "User-agent: *\nDisallow: /x/\n", NOW),
            RobotsFile("http://127.0.0.1:8080", 404, "", NOW),
        ]
    )
    kept = store.robots(origin)
    assert kept == RobotsFile(origin, 200, "User-agent: *\nDisallow: /x/\n", NOW)
    store.save_robots([RobotsFile(origin, 200, "User-agent: *\n", NOW + timedelta(days=1))])
    store.save_robots([RobotsFile(origin, 200, "stale", NOW)])  # an older fetch never wins
    again = store.robots(origin)
    assert again is not None and again.body == "User-agent: *\n"
    unavailable = store.robots("http://127.0.0.1:8080")
    assert unavailable is not None and unavailable.status == 404
    assert store.robots_fetched() == {origin: NOW + timedelta(days=1), unavailable.origin: NOW}


def test_one_batch_may_name_an_origin_twice_and_the_later_fetch_is_kept(engine: Engine) -> None:
    """Two fetches of one origin in a batch: an upsert may touch a row only once (Postgres)."""
    store = SqlPolitenessStore(engine)
    origin = "https://news.example.com"
    store.save_robots(
        [
            RobotsFile(origin, 200, "later", NOW + timedelta(hours=1)),
            RobotsFile(origin, 200, "earlier", NOW),
        ]
    )
    kept = store.robots(origin)
    assert kept is not None and kept.body == "later"


def test_host_pauses_only_grow_and_only_running_ones_are_read(engine: Engine) -> None:
    store = SqlPolitenessStore(engine)
    now = datetime.now(UTC)
    store.save_pause(HostPause("news.example.com", now + timedelta(minutes=2), "429 a"))
    store.save_pause(HostPause("news.example.com", now + timedelta(minutes=1), "429 b"))
    store.save_pause(HostPause("127.0.0.1:8080", now - timedelta(minutes=1), "over"))
    running = store.pauses(now)
    assert [(p.host, p.reason) for p in running] == [("news.example.com", "429 a")]
    assert abs(running[0].until - (now + timedelta(minutes=2))) < timedelta(seconds=1)
    store.save_pause(HostPause("news.example.com", now + timedelta(hours=1), "429 c"))
    assert [p.reason for p in store.pauses(now)] == ["429 c"]


def test_paywalled_is_stored_exported_after_fetched_at_and_tracked(engine: Engine) -> None:
    assert ARTICLE_KEYS[ARTICLE_KEYS.index("fetched_at") + 1] == "paywalled"
    assert ARTICLE_KEYS[-1] == "paywalled"
    sync_feeds(engine, [FeedSource(FEED)])
    store = SqlStore(engine)
    for n, flag in enumerate((True, False, None)):
        url = f"https://news.example.com/{n}"
        article = Article(url, url, f"Story {n}", f"Body {n} of a story.", paywalled=flag)
        record = ArticleRecord(article, url, None, f"e{n}", f"h{n}", NOW)
        store.save(FEED, [record])
    rows = {r["url"].rsplit("/", 1)[1]: r for r in query_articles(engine, ArticleQuery())}
    assert [rows[n]["paywalled"] for n in "012"] == [True, False, None]
    assert list(rows["0"]) == list(ARTICLE_KEYS)

    window = open_window(engine, None)
    with engine.begin() as conn:
        conn.execute(text("UPDATE articles SET paywalled = :f WHERE url LIKE '%/2'"), {"f": True})
    later = open_window(engine, None)
    changed = list(read_window(engine, type(window)(None, window.upto, later.upto)))
    assert [r["url"] for r in changed] == ["https://news.example.com/2"]


def test_migration_0005_upgrades_a_0004_database_and_downgrades_again(engine: Engine) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
    assert current_revision(engine) == "0004"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO feeds (url, tags, consecutive_failures, parked, created_at) "
                "VALUES ('f', '[]', 0, false, :t)"
            ),
            {"t": NOW},
        )
        conn.execute(
            text(
                "INSERT INTO articles (url, link_url, canonical_url, title, authors, tags, text, "
                "word_count, content_hash, sources, fetched_at, created_at) VALUES "
                "('u1', 'u1', 'u1', 'T', '[]', '[]', 'Body.', 1, 'h1', '{}', :t, :t)"
            ),
            {"t": NOW},
        )
    upgrade(engine, "0005")
    assert current_revision(engine) == "0005"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT paywalled FROM articles")).scalar_one() is None
        row = conn.execute(text("SELECT disallowed, blocked_by FROM feeds")).one()
        assert tuple(row) == (0, None)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
    with engine.connect() as conn:  # the 0004 trigger is back: a title change still counts
        before = conn.execute(text("SELECT change_seq FROM articles")).scalar_one()
    with engine.begin() as conn:
        conn.execute(text("UPDATE articles SET title = 'T2'"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT change_seq FROM articles")).scalar_one() > before
    upgrade(engine)
