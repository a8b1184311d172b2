"""Repository behaviour on SQLite and PostgreSQL (the ``engine`` fixture runs both)."""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, update

from ingest.dedup.identity import collapse_records
from ingest.dedup.keys import content_hash
from ingest.health import HealthCounts
from ingest.model import (
    Article,
    ArticleRecord,
    Cadence,
    FeedResult,
    FeedSource,
    FeedStatus,
    FeedUpdate,
    PagesNote,
    RawPage,
    SaveCounts,
    Validators,
    pack_page,
    unpack_page,
)
from storage.backfill import raw_pages_between
from storage.export import open_window, read_raw_window
from storage.models import RawPageRow
from storage.outcomes import record_outcome
from storage.repository import (
    ArticleQuery,
    SqlStore,
    feed_states,
    list_feeds,
    query_articles,
    raw_page,
    reset_feed,
    sync_feeds,
)

T0 = datetime(2021, 9, 15, 22, 51, tzinfo=UTC)
FEED_A = "https://a.example/rss"
FEED_B = "https://b.example/rss"


def record(
    path: str,
    text: str = "Body text of the story.",
    *,
    site: str = "https://a.example",
    title: str = "Title",
    entry: str = "e1",
    published: datetime | None = T0,
) -> ArticleRecord:
    url = f"{site}{path}"
    return ArticleRecord(
        article=Article(
            url=url,
            canonical_url=url,
            title=title,
            text=text,
            authors=["Jane Doe", "John Roe"],
            published_at=published,
            language="en",
            tags=["politics"],
            site_name="A",
            sources={"title": "jsonld"},
        ),
        link_url=url,
        guid=f"guid-{path}",
        entry_hash=entry,
        content_hash=content_hash(text),
        fetched_at=T0 + timedelta(hours=1),
        raw=RawPage.of(url, "text/html", b"<html>" + text.encode() + b"</html>"),
    )


@pytest.fixture
def store(engine: Engine) -> SqlStore:
    sync_feeds(engine, [FeedSource(FEED_A, "A", ("news",)), FeedSource(FEED_B, "B")])
    return SqlStore(engine)


def test_new_articles_read_back_equal(store: SqlStore) -> None:
    rec = record("/one")
    assert store.save(FEED_A, [rec]) == SaveCounts(new=1)
    [row] = query_articles(store.engine, ArticleQuery())
    assert row["canonical_url"] == rec.article.canonical_url
    assert row["feed_url"] == FEED_A
    assert row["authors"] == ["Jane Doe", "John Roe"]
    assert row["published_at"] == T0
    assert row["text"] == rec.article.text
    assert row["word_count"] == 5
    assert row["cluster_id"] == row["id"]
    assert row["duplicate_of"] is None
    assert raw_page(store.engine, row["id"]) == rec.raw.body  # type: ignore[union-attr]


def test_batch_collapsed_by_the_dedup_rules_stores_each_article_once(store: SqlStore) -> None:
    batch = collapse_records([record("/one"), record("/one"), record("/two", "Other text")])
    assert batch.collapsed == 1
    assert store.save(FEED_A, batch.unique) == SaveCounts(new=2)


def test_a_batch_naming_one_article_twice_is_refused(store: SqlStore) -> None:
    """Deciding which copy wins is ingest.dedup's; the store refuses to guess."""
    with pytest.raises(ValueError, match="distinct canonical URLs"):
        store.save(FEED_A, [record("/one"), record("/one")])
    assert query_articles(store.engine, ArticleQuery()) == []


@pytest.mark.parametrize(
    ("second", "expected"),
    [
        pytest.param(record("/one"), SaveCounts(duplicates=1), id="unchanged"),
        pytest.param(
            record("/one", entry="e2"), SaveCounts(duplicates=1), id="entry-changed-text-same"
        ),
        pytest.param(
            record("/one", "A corrected body.", entry="e2"),
            SaveCounts(updated=1),
            id="text-changed",
        ),
    ],
)
def test_refetch_updates_only_when_content_changed(
    store: SqlStore, second: ArticleRecord, expected: SaveCounts
) -> None:
    store.save(FEED_A, [record("/one")])
    assert store.save(FEED_A, [second]) == expected
    [row] = query_articles(store.engine, ArticleQuery())
    assert row["text"] == second.article.text
    assert store.known([second.link_url]) == {second.link_url: second.entry_hash}


def test_same_text_in_another_outlet_is_stored_and_linked(store: SqlStore) -> None:
    store.save(FEED_A, [record("/wire")])
    counts = store.save(FEED_B, [record("/copy", site="https://b.example", title="New headline")])
    assert counts == SaveCounts(new=1)
    first, second = sorted(query_articles(store.engine, ArticleQuery()), key=lambda r: r["id"])
    assert second["duplicate_of"] == first["id"]
    assert second["cluster_id"] == first["cluster_id"] == first["id"]
    unique = query_articles(store.engine, ArticleQuery(unique=True))
    assert [r["id"] for r in unique] == [first["id"]]


def test_same_text_twice_in_one_outlet_is_a_duplicate(store: SqlStore) -> None:
    store.save(FEED_A, [record("/story")])
    assert store.save(FEED_A, [record("/story-amp")]) == SaveCounts(duplicates=1)


def test_known_matches_link_or_canonical(store: SqlStore) -> None:
    rec = record("/one")
    rec.link_url = "https://a.example/one?from=feed"
    store.save(FEED_A, [rec])
    asked = ["https://a.example/one", "https://a.example/one?from=feed", "https://a.example/nope"]
    assert set(store.known(asked)) == {asked[0], asked[1]}


def record_feed(engine: Engine, url: str, update: FeedUpdate) -> None:
    """Record one fetch of a feed the way the ingest flow does."""
    record_outcome(engine, [FeedResult(url, None, update.status, update=update)])


def test_feed_health_is_recorded_and_reset(store: SqlStore) -> None:
    engine = store.engine
    failed = FeedStatus.FAILED
    for n in range(3):
        record_feed(
            engine,
            FEED_A,
            FeedUpdate(failed, T0, T0 + timedelta(minutes=15 * 2**n), error="timed out after 30 s"),
        )
    state = feed_states(engine, [FEED_A])[FEED_A]
    assert state.consecutive_failures == 3
    record_feed(engine, FEED_A, FeedUpdate(failed, T0, T0, error="gone (410)", parked=True))
    [row] = [r for r in list_feeds(engine) if r["url"] == FEED_A]
    assert row["last_status"] == "parked"
    assert row["last_error"] == "gone (410)"
    assert reset_feed(engine, FEED_A)
    assert not feed_states(engine, [FEED_A])[FEED_A].parked
    ok = FeedUpdate(FeedStatus.OK, T0, T0, validators=Validators('"v1"', None))
    record_feed(engine, FEED_A, ok)
    state = feed_states(engine, [FEED_A])[FEED_A]
    assert (state.consecutive_failures, state.validators.etag) == (0, '"v1"')
    assert not reset_feed(engine, "https://unknown.example/rss")


def test_one_call_records_feeds_of_every_shape_each_as_its_own(store: SqlStore) -> None:
    """record_outcome writes feeds of one shape with one statement: none may get another's."""
    engine = store.engine
    feeds = [f"https://f{n}.example/rss" for n in range(6)]
    sync_feeds(engine, [FeedSource(url) for url in feeds])
    learned = Cadence(timedelta(minutes=20), 72.0, 96.0, 10, T0)
    record_feed(engine, feeds[3], FeedUpdate(FeedStatus.FAILED, T0, T0, error="earlier"))
    updates = [
        FeedUpdate(FeedStatus.OK, T0, T0 + timedelta(minutes=20), Validators('"a"', None),
                   pages=PagesNote(2, True, None), cadence=learned),
        FeedUpdate(FeedStatus.OK, T0, T0 + timedelta(minutes=21), Validators('"b"', "Mon"),
                   pages=PagesNote(0, True, "Cloudflare challenge (1 page)"), cadence=learned),
        FeedUpdate(FeedStatus.NOT_MODIFIED, T0, T0 + timedelta(minutes=22),
                   Validators('"c"', None)),
        FeedUpdate(FeedStatus.FAILED, T0, T0 + timedelta(minutes=30), error="timed out"),
        FeedUpdate(FeedStatus.FAILED, T0, T0 + timedelta(minutes=31), error="gone", parked=True),
    ]  # fmt: skip
    results = [
        FeedResult(url, None, update.status, update=update)
        for url, update in zip(feeds, updates, strict=False)
    ]
    record_outcome(engine, results)
    states = feed_states(engine, feeds)
    rows = {r["url"]: r for r in list_feeds(engine)}
    assert [states[url].validators for url in feeds[:3]] == [
        Validators('"a"', None), Validators('"b"', "Mon"), Validators('"c"', None),
    ]  # fmt: skip
    assert [states[url].next_fetch_at for url in feeds[:5]] == [u.next_fetch_at for u in updates]
    assert [states[url].consecutive_failures for url in feeds] == [0, 0, 0, 2, 1, 0]
    assert [rows[url]["last_error"] for url in feeds] == [
        None, None, None, "timed out", "gone", None,
    ]  # fmt: skip
    assert [rows[url]["blocked_by"] for url in feeds[:2]] == [None, "Cloudflare challenge (1 page)"]
    assert [states[url].parked for url in feeds] == [False] * 4 + [True, False]
    assert [states[url].cadence for url in feeds] == [learned, learned, None, None, None, None]
    assert rows[feeds[5]]["last_fetched_at"] is None  # not in the call: untouched


def test_what_adaptive_polling_learned_reads_back_equal(store: SqlStore) -> None:
    """record_outcome keeps a good read's cadence; a failed read leaves it as it was."""
    engine = store.engine
    assert feed_states(engine, [FEED_A])[FEED_A].cadence is None  # never read
    learned = Cadence(timedelta(minutes=37), 38.9, 412.25, 20, T0)
    ok = FeedUpdate(FeedStatus.OK, T0, T0 + learned.interval, cadence=learned)
    record_feed(engine, FEED_A, ok)
    assert feed_states(engine, [FEED_A])[FEED_A].cadence == learned
    assert feed_states(engine, [FEED_B])[FEED_B].cadence is None  # only the feed read
    failed = FeedUpdate(FeedStatus.FAILED, T0 + timedelta(hours=1), T0, error="timed out")
    record_feed(engine, FEED_A, failed)
    assert feed_states(engine, [FEED_A])[FEED_A].cadence == learned
    [row] = [r for r in list_feeds(engine) if r["url"] == FEED_A]
    assert (row["poll_minutes"], row["entries_per_day"]) == (37.0, 38.9)
    [unread] = [r for r in list_feeds(engine) if r["url"] == FEED_B]
    assert (unread["poll_minutes"], unread["entries_per_day"]) == (None, None)


def test_extraction_health_drops_against_recent_runs(store: SqlStore) -> None:
    """record_outcome keeps each run's health and compares a run with the feed's last five."""
    engine = store.engine
    ok = FeedUpdate(FeedStatus.OK, T0, T0)

    def run(dated: int, at: datetime) -> tuple[str, ...]:
        health = HealthCounts(extracted=10, with_date=dated, with_author=10, long_body=10)
        update = dataclasses.replace(ok, fetched_at=at)
        result = FeedResult(FEED_A, None, FeedStatus.OK, health=health, update=update)
        return record_outcome(engine, [result])[FEED_A]

    assert run(10, T0) == ()  # no history yet
    assert run(10, T0 + timedelta(hours=1)) == ()
    [drop] = run(2, T0 + timedelta(hours=2))
    assert drop.startswith("articles with a date fell from 100% to 20%")
    assert record_outcome(engine, [FeedResult(FEED_A, None, FeedStatus.PARKED)]) == {}


def test_query_filters(store: SqlStore) -> None:
    store.save(FEED_A, [record("/old", "old text", published=T0 - timedelta(days=3))])
    store.save(FEED_B, [record("/new", "new text", site="https://b.example", published=T0)])

    def titles(**kw: object) -> list[str]:
        return [r["canonical_url"] for r in query_articles(store.engine, ArticleQuery(**kw))]  # type: ignore[arg-type]

    assert titles() == ["https://b.example/new", "https://a.example/old"]
    assert titles(since=T0 - timedelta(days=1)) == ["https://b.example/new"]
    assert titles(until=T0 - timedelta(days=1)) == ["https://a.example/old"]
    assert titles(feed_url=FEED_A) == ["https://a.example/old"]
    assert titles(limit=1) == ["https://b.example/new"]


def test_naive_datetimes_are_refused(store: SqlStore) -> None:
    rec = record("/naive")
    rec.article = dataclasses.replace(rec.article, published_at=datetime(2021, 1, 1))
    with pytest.raises(Exception, match="naive datetime"):
        store.save(FEED_A, [rec])


@pytest.mark.parametrize(
    "pack",
    [
        pytest.param(lambda page: zlib.compress(page, 1), id="zlib-level-1-before-2026-12-08"),
        pytest.param(lambda page: zlib.compress(page, 9), id="zlib-level-9"),
        pytest.param(lambda page: zlib.compress(page, 1, wbits=9), id="zlib-small-window"),
        pytest.param(pack_page, id="zstd-now"),
    ],
)
def test_raw_pages_read_back_from_either_stored_format(
    store: SqlStore, pack: Callable[[bytes], bytes]
) -> None:
    """Pages stored as zlib streams by an older newsflow stay readable by every reader."""
    rec = record("/old", published=T0)
    assert store.save(FEED_A, [rec]) == SaveCounts(new=1)
    page = rec.raw.body  # type: ignore[union-attr]
    [row] = query_articles(store.engine, ArticleQuery())
    with store.engine.begin() as conn:
        conn.execute(
            update(RawPageRow).where(RawPageRow.article_id == row["id"]).values(body=pack(page))
        )
    assert raw_page(store.engine, row["id"]) == page
    [stored] = list(raw_pages_between(store.engine, FEED_A, T0.date()))
    assert stored.body == page
    [exported] = list(read_raw_window(store.engine, open_window(store.engine, None)))
    assert exported.body == page


def test_pages_are_stored_as_zstd_frames() -> None:
    page = b"<html><body>" + b"<p>A paragraph of the story, told once more.</p>" * 200 + b"</html>"
    packed = RawPage.of("https://a.example/x", "text/html", page).compressed
    assert packed[:4] == b"\x28\xb5\x2f\xfd"  # zstd's magic number (RFC 8878)
    assert len(packed) < len(zlib.compress(page, 1))
    assert unpack_page(packed) == page
