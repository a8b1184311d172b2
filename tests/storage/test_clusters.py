"""Story clusters and revisions on SQLite and PostgreSQL (the ``engine`` fixture runs both)."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.orm import Session

from ingest.dedup.keys import content_hash
from ingest.dedup.neardup import BANDS
from ingest.errors import ConfigError
from ingest.model import Article, ArticleRecord, FeedSource, SaveCounts
from storage.db import make_engine, upgrade
from storage.models import ArticleBandRow, ArticleRevisionRow, ArticleSignatureRow
from storage.repository import ArticleQuery, SqlStore, list_revisions, query_articles, sync_feeds

ROOT = Path(__file__).resolve().parents[2]
DEMO = json.loads((ROOT / "flows" / "demo" / "site" / "expected.json").read_text("utf-8"))
T0 = datetime(2021, 9, 17, 6, 0, tzinfo=UTC)
FEEDS = [f"https://outlet{n}.example/feed" for n in range(6)]


def record(
    path: str,
    body: str,
    *,
    outlet: int = 0,
    language: str | None = "en",
    title: str = "Title",
    fetched_at: datetime = T0,
) -> ArticleRecord:
    url = f"https://outlet{outlet}.example{path}"
    return ArticleRecord(
        article=Article(url=url, canonical_url=url, title=title, text=body, language=language),
        link_url=url,
        guid=None,
        entry_hash=content_hash(f"{path}\n{body}"),
        content_hash=content_hash(body),
        fetched_at=fetched_at,
    )


def paragraphs(seed: int, n: int, words: int = 45) -> list[str]:
    """Made-up paragraphs; different seeds share no four-word run in practice."""
    rng = random.Random(seed)
    return [" ".join(f"w{rng.randrange(5000)}" for _ in range(words)) for _ in range(n)]


def body(*parts: list[str]) -> str:
    return "\n\n".join(p for part in parts for p in part)


@pytest.fixture
def store(engine: Engine) -> SqlStore:
    sync_feeds(engine, [FeedSource(url) for url in FEEDS])
    return SqlStore(engine)


def rows(store: SqlStore) -> list[dict[str, Any]]:
    return sorted(query_articles(store.engine, ArticleQuery()), key=lambda r: r["id"])


def partition(store: SqlStore) -> set[frozenset[str]]:
    """The grouping as sets of URLs, independent of which ids the articles got."""
    groups: dict[int, set[str]] = {}
    for row in rows(store):
        groups.setdefault(row["cluster_id"], set()).add(row["canonical_url"])
    return {frozenset(g) for g in groups.values()}


def assert_clusters_consistent(store: SqlStore) -> None:
    """A cluster's id is its earliest article, the representative; the rest point to it."""
    members: dict[int, list[dict[str, Any]]] = {}
    for row in rows(store):
        members.setdefault(row["cluster_id"], []).append(row)
    for cluster_id, group in members.items():
        assert cluster_id == min(r["id"] for r in group)
        for row in group:
            expected = None if row["id"] == cluster_id else cluster_id
            assert row["duplicate_of"] == expected, row


def save_each(store: SqlStore, records: Sequence[ArticleRecord]) -> None:
    for rec in records:
        outlet = int(rec.article.url.split("outlet")[1][0])
        store.save(FEEDS[outlet], [rec])


# --- the demo site -------------------------------------------------------------------------


def demo_records() -> list[ArticleRecord]:
    return [
        record(
            path,
            art["text"],
            outlet=1 if path.startswith("/bote/") else 0,
            language=art["language"],
            title=art["title"],
        )
        for path, art in DEMO["articles"].items()
    ]


@pytest.mark.parametrize(
    "reverse", [pytest.param(False, id="site-order"), pytest.param(True, id="reversed")]
)
def test_demo_wire_copies_share_a_cluster_and_the_rest_are_singletons(
    store: SqlStore, reverse: bool
) -> None:
    records = demo_records()
    save_each(store, records[::-1] if reverse else records)
    [wire] = DEMO["near_duplicates"]
    by_path = {r["canonical_url"].split(".example", 1)[1]: r for r in rows(store)}
    assert len(by_path) == DEMO["counts"]["stored"]
    courier, bote = by_path[wire[0]], by_path[wire[1]]
    assert courier["cluster_id"] == bote["cluster_id"]
    others = [r for path, r in by_path.items() if path not in wire]
    assert sorted(r["cluster_id"] for r in others) == sorted(r["id"] for r in others)
    assert_clusters_consistent(store)
    unique = query_articles(store.engine, ArticleQuery(unique=True))
    assert len(unique) == DEMO["counts"]["stored"] - 1
    cluster = query_articles(store.engine, ArticleQuery(cluster_id=courier["cluster_id"]))
    assert {r["id"] for r in cluster} == {courier["id"], bote["id"]}


# --- grouping ------------------------------------------------------------------------------

WIRE = paragraphs(1, 6)
LOCAL_A = paragraphs(2, 5)  # one outlet's own reporting around the wire copy
LOCAL_B = paragraphs(3, 5)  # another outlet's
OTHER = paragraphs(4, 6)


def chain() -> list[ArticleRecord]:
    """A and C each contain the wire copy B plus five paragraphs of their own: A and C both
    match B (containment) but not each other (Jaccard about 0.38)."""
    return [
        record("/a", body(WIRE, LOCAL_A), outlet=1),
        record("/b", body(WIRE), outlet=2),
        record("/c", body(WIRE, LOCAL_B), outlet=3),
        record("/other", body(OTHER), outlet=4),
        record("/other-copy", body(OTHER[:-1]), outlet=5),
    ]


def test_grouping_does_not_depend_on_arrival_order(engine: Engine) -> None:
    sync_feeds(engine, [FeedSource(url) for url in FEEDS])
    store = SqlStore(engine)
    expected = {
        frozenset(f"https://outlet{n}.example{p}" for n, p in [(1, "/a"), (2, "/b"), (3, "/c")]),
        frozenset(f"https://outlet{n}.example{p}" for n, p in [(4, "/other"), (5, "/other-copy")]),
    }
    orders = list(itertools.permutations(chain()))
    for order in [orders[0], orders[-1], *random.Random(7).sample(orders, 4)]:
        with engine.begin() as conn:  # start empty again
            conn.execute(text("DELETE FROM articles"))
        save_each(store, order)
        assert partition(store) == expected, [r.article.url for r in order]
        assert_clusters_consistent(store)


def test_a_copy_matching_two_stories_merges_them_into_the_older(store: SqlStore) -> None:
    a, b, c = chain()[:3]
    save_each(store, [a, c])
    first, second = rows(store)
    assert first["cluster_id"] != second["cluster_id"]
    save_each(store, [b])
    assert {r["cluster_id"] for r in rows(store)} == {first["id"]}
    assert [r["duplicate_of"] for r in rows(store)] == [None, first["id"], first["id"]]


def test_one_batch_with_several_copies_links_them_all(store: SqlStore) -> None:
    """Rows loaded earlier in the batch must see merges made later in it."""
    a, b, c = chain()[:3]
    twin = record("/a-again", a.article.text, outlet=4)
    store.save(FEEDS[0], [a, c, b, twin])
    assert {r["cluster_id"] for r in rows(store)} == {rows(store)[0]["id"]}
    assert_clusters_consistent(store)


@pytest.mark.parametrize(
    ("first", "second", "linked"),
    [
        pytest.param(("en", body(WIRE)), ("de", body(WIRE[:-1])), False, id="languages-differ"),
        pytest.param(("en", body(WIRE)), (None, body(WIRE[:-1])), True, id="one-language-unknown"),
        pytest.param(("en", body(WIRE)), ("en-GB", body(WIRE[1:])), True, id="same-language"),
        pytest.param(("en", body(WIRE)), ("de", body(WIRE)), True, id="exact-text-any-language"),
        pytest.param(
            ("en", " ".join(WIRE[0].split()[:40])),
            ("en", " ".join(WIRE[0].split()[:39])),
            False,
            id="short-near-duplicates",
        ),
        pytest.param(
            ("en", " ".join(WIRE[0].split()[:40])),
            ("en", " ".join(WIRE[0].split()[:40])),
            True,
            id="short-exact-copies",
        ),
        pytest.param(("en", body(WIRE)), ("en", body(OTHER)), False, id="different-stories"),
        pytest.param(
            ("en", body(WIRE)), ("en", body(OTHER[:4], WIRE[:1])), False, id="shared-paragraph"
        ),
        pytest.param(("en", ""), ("en", ""), False, id="both-empty"),
    ],
)
def test_what_links_two_outlets_copies(
    store: SqlStore,
    first: tuple[str | None, str],
    second: tuple[str | None, str],
    linked: bool,
) -> None:
    save_each(
        store,
        [
            record("/one", first[1], outlet=1, language=first[0]),
            record("/two", second[1], outlet=2, language=second[0]),
        ],
    )
    one, two = rows(store)
    assert (one["cluster_id"] == two["cluster_id"]) is linked
    assert two["duplicate_of"] == (one["id"] if linked else None)


def test_candidates_are_found_with_one_query_per_article(store: SqlStore) -> None:
    save_each(store, [record(f"/s{n}", body(paragraphs(100 + n, 5)), outlet=1) for n in range(5)])
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "article_bands" in statement:
            statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        store.save(FEEDS[2], [record("/new", body(WIRE), outlet=2)])
    finally:
        event.remove(store.engine, "before_cursor_execute", count)
    assert len(statements) == 1


def test_index_rows_follow_the_text(store: SqlStore) -> None:
    save_each(
        store,
        [record("/long", body(WIRE), outlet=1), record("/short", "Too short to index.", outlet=2)],
    )
    with Session(store.engine) as session:
        assert session.scalar(select(func.count()).select_from(ArticleSignatureRow)) == 1
        bands = session.scalar(select(func.count()).select_from(ArticleBandRow))
    assert bands == BANDS


# --- revisions -----------------------------------------------------------------------------


def revisions(store: SqlStore, article_id: int) -> list[dict[str, Any]]:
    return list_revisions(store.engine, article_id)


def test_changed_text_is_updated_in_place_and_the_old_version_kept(store: SqlStore) -> None:
    first = record("/story", body(WIRE[:4]), outlet=1, title="Old headline")
    store.save(FEEDS[1], [first])
    [stored] = rows(store)
    later = T0 + timedelta(hours=3)
    changed = record(
        "/story", body(WIRE[:3], WIRE[4:6]), outlet=1, title="New headline", fetched_at=later
    )
    assert store.save(FEEDS[1], [changed]) == SaveCounts(updated=1)
    [now] = rows(store)
    assert (now["id"], now["text"], now["title"]) == (
        stored["id"],
        changed.article.text,
        "New headline",
    )
    assert now["updated_at"] == later
    [revision] = revisions(store, stored["id"])
    assert revision["text"] == first.article.text
    assert revision["title"] == "Old headline"
    assert revision["fetched_at"] == T0 and revision["revised_at"] == later
    assert revision["diff_summary"] == "+1 paragraph, 1 paragraph edited, title changed"


def test_unchanged_refetch_writes_nothing(store: SqlStore) -> None:
    rec = record("/story", body(WIRE), outlet=1)
    store.save(FEEDS[1], [rec])
    before = rows(store)
    again = record("/story", body(WIRE), outlet=1, fetched_at=T0 + timedelta(days=1))
    assert store.save(FEEDS[1], [again]) == SaveCounts(duplicates=1)
    assert rows(store) == before
    assert revisions(store, before[0]["id"]) == []


def test_revisions_are_listed_newest_first(store: SqlStore) -> None:
    for n in range(3):
        rec = record("/story", body(WIRE[: 3 + n]), outlet=1, fetched_at=T0 + timedelta(hours=n))
        store.save(FEEDS[1], [rec])
    [row] = rows(store)
    listed = revisions(store, row["id"])
    assert [r["revised_at"] for r in listed] == [T0 + timedelta(hours=2), T0 + timedelta(hours=1)]
    assert [r["diff_summary"] for r in listed] == ["+1 paragraph", "+1 paragraph"]


def test_revisions_of_an_unknown_article_are_refused(store: SqlStore) -> None:
    with pytest.raises(ConfigError, match="no article with id 999"):
        revisions(store, 999)


def test_a_revision_reindexes_the_text_and_keeps_the_cluster(store: SqlStore) -> None:
    save_each(
        store, [record("/wire", body(WIRE), outlet=1), record("/copy", body(WIRE[1:]), outlet=2)]
    )
    wire, copy = rows(store)
    assert copy["cluster_id"] == wire["id"]
    # The copy is rewritten into another story: it stays in its cluster (links only grow) ...
    rewritten = record("/copy", body(OTHER), outlet=2, fetched_at=T0 + timedelta(hours=1))
    store.save(FEEDS[2], [rewritten])
    assert rows(store)[1]["cluster_id"] == wire["id"]
    # ... and its index now holds the new text: a copy of the new text finds it.
    save_each(store, [record("/other", body(OTHER[1:]), outlet=3)])
    assert rows(store)[2]["cluster_id"] == wire["id"]
    with Session(store.engine) as session:
        count = select(func.count()).select_from(ArticleRevisionRow)
        assert session.scalar(count) == 1


# --- migration -----------------------------------------------------------------------------


@pytest.fixture
def sqlite_at_0001(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0001")
    yield engine
    engine.dispose()


def test_upgrade_indexes_articles_stored_before_it(sqlite_at_0001: Engine) -> None:
    engine = sqlite_at_0001
    with engine.begin() as conn:
        for n, text_ in enumerate([body(WIRE), "short text"], start=1):
            conn.execute(
                text(
                    "INSERT INTO articles (id, url, link_url, canonical_url, title, authors, tags,"
                    " text, word_count, content_hash, cluster_id, sources, fetched_at, created_at)"
                    " VALUES (:id, :u, :u, :u, 't', '[]', '[]', :text, 1, :h, :id, '{}',"
                    " '2021-09-17 06:00:00', '2021-09-17 06:00:00')"
                ),
                {"id": n, "u": f"https://old.example/{n}", "text": text_, "h": content_hash(text_)},
            )
    upgrade(engine)
    store = SqlStore(engine)
    sync_feeds(engine, [FeedSource(FEEDS[1])])
    store.save(FEEDS[1], [record("/copy", body(WIRE[:-1]), outlet=1)])
    assert [r["cluster_id"] for r in rows(store)] == [1, 2, 1]
