"""Full-text search on SQLite (FTS5) and PostgreSQL (tsvector), and its query parser."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from ingest.dedup.keys import content_hash
from ingest.model import Article, ArticleRecord, FeedSource
from storage.db import MIGRATIONS_DIR, upgrade
from storage.models import Base
from storage.repository import ArticleQuery, SqlStore, query_articles, sync_feeds
from storage.search import (
    LANGUAGE_CONFIGS,
    Clause,
    SearchTerms,
    fts5_expression,
    is_search_object,
    parse_search,
    websearch_text,
)

T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)
FEED_A = "https://a.example/rss"
FEED_B = "https://b.example/rss"
FILLER = (
    "The council met on Tuesday to discuss the budget for the coming year. Members argued "
    "about road repairs, the library and the price of bus tickets. A vote is due next month."
)


def record(
    path: str,
    title: str,
    body: str,
    *,
    language: str = "en",
    site: str = "https://a.example",
    published: datetime = T0,
) -> ArticleRecord:
    url = f"{site}{path}"
    return ArticleRecord(
        article=Article(
            url=url,
            canonical_url=url,
            title=title,
            text=body,
            published_at=published,
            language=language,
        ),
        link_url=url,
        guid=url,
        entry_hash=path,
        content_hash=content_hash(body),
        fetched_at=published + timedelta(minutes=5),
    )


@pytest.fixture
def store(engine: Engine) -> SqlStore:
    sync_feeds(engine, [FeedSource(FEED_A, "A"), FeedSource(FEED_B, "B")])
    return SqlStore(engine)


def titles(engine: Engine, search: str, **filters: object) -> list[str | None]:
    rows = query_articles(engine, ArticleQuery(search=search, **filters))
    return [row["title"] for row in rows]


# --- the query parser (pure) ---------------------------------------------------------------


Clauses = list[tuple[tuple[str, ...], tuple[str, ...]]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("wagner mali", [(("wagner", "mali"), ())], id="words-all-required"),
        pytest.param('"Wagner Group" mali', [(("wagner group", "mali"), ())], id="phrase"),
        pytest.param("wagner OR mali", [(("wagner",), ()), (("mali",), ())], id="or"),
        pytest.param(
            "a b or c", [(("a", "b"), ()), (("c",), ())], id="or-binds-loosest-like-websearch"
        ),
        pytest.param("mali -wagner", [(("mali",), ("wagner",))], id="exclude"),
        pytest.param('mali -"wagner group"', [(("mali",), ("wagner group",))], id="exclude-phrase"),
        pytest.param("-wagner OR mali", [(("mali",), ())], id="only-excluded-alternative-dropped"),
        pytest.param("it's", [(("it s",), ())], id="apostrophe-splits-into-a-phrase"),
        pytest.param('"unclosed phrase', [(("unclosed phrase",), ())], id="unclosed-quote"),
        pytest.param("Müller CAFÉ", [(("müller", "café"), ())], id="unicode-lowercased"),
        pytest.param(
            'x" OR 1=1; DROP TABLE articles; --',
            [(("x",), ()), (("1 1", "drop", "table", "articles"), ())],
            id="sql-is-just-words",
        ),
        pytest.param("NEAR(a b) c*", [(("near a", "b", "c"), ())], id="fts5-operators-are-words"),
    ],
)
def test_parse_search(query: str, expected: Clauses) -> None:
    terms = parse_search(query)
    assert terms is not None
    assert [(c.required, c.excluded) for c in terms.clauses] == expected


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param('"" ""', id="empty-quotes"),
        pytest.param("-wagner", id="only-excluded"),
        pytest.param("OR or", id="only-operators"),
        pytest.param("*** ((( ^^^", id="punctuation"),
    ],
)
def test_nothing_to_search_for_is_none(query: str) -> None:
    assert parse_search(query) is None


def test_renderings_quote_every_phrase() -> None:
    terms = SearchTerms((Clause(("wagner group", "mali"), ("niger",)), Clause(("bamako",))))
    assert fts5_expression(terms) == ('(("wagner group" AND "mali") NOT "niger") OR (("bamako"))')
    assert websearch_text(terms) == '"wagner group" "mali" -"niger" or "bamako"'


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_gives_a_valid_fts5_query(query: str) -> None:
    terms = parse_search(query)
    if terms is None:
        return
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(title, text)")
    db.execute("SELECT * FROM t WHERE t MATCH ?", (fts5_expression(terms),)).fetchall()
    db.close()


@pytest.mark.parametrize(
    ("name", "skipped"),
    [
        pytest.param("articles_fts", True, id="fts-table"),
        pytest.param("articles_fts_data", True, id="fts-shadow-table"),
        pytest.param("search_vector", True, id="pg-column"),
        pytest.param("ix_articles_search_vector", True, id="pg-index"),
        pytest.param("articles", False, id="articles"),
        pytest.param(None, False, id="none"),
    ],
)
def test_is_search_object(name: str | None, skipped: bool) -> None:
    assert is_search_object(name) is skipped


# --- ranking and filters, on both engines --------------------------------------------------


def test_title_match_ranks_before_a_single_mention_in_the_body(store: SqlStore) -> None:
    store.save(
        FEED_A,
        [
            record("/title", "Wagner forces leave Mali", FILLER, published=T0),
            # newer, so "newest first" alone would put it first
            record(
                "/body",
                "Council budget vote",
                FILLER + " Elsewhere, Wagner fighters were seen in Mali.",
                published=T0 + timedelta(days=1),
            ),
            record("/none", "Bus tickets", FILLER, published=T0 + timedelta(days=2)),
        ],
    )
    assert titles(store.engine, "wagner mali") == [
        "Wagner forces leave Mali",
        "Council budget vote",
    ]
    assert titles(store.engine, "mali wagner") == [
        "Wagner forces leave Mali",
        "Council budget vote",
    ]


# One stored set, many queries: (query, expected titles) per row.
SYNTAX_CASES = [
    ("wagner", ["Wagner in Mali", "Wagner in Niger"]),
    ("wagner niger", ["Wagner in Niger"]),  # every word required
    ('"wagner in niger"', ["Wagner in Niger"]),  # a phrase
    ('"niger wagner"', []),  # a phrase keeps its word order
    ("niger OR bamako", ["Bamako floods", "Wagner in Niger"]),
    ("wagner -niger", ["Wagner in Mali"]),
    ("floods", ["Bamako floods"]),  # stemmed: plural
    ("flooding", ["Bamako floods"]),  # stemmed: verb
    ("WAGNER -NIGER", ["Wagner in Mali"]),  # case folded
    ("timbuktu", []),
]
# Queries that mean nothing to the engines' own syntax must neither fail nor drop anything.
HOSTILE_QUERIES = [
    '"',
    'wagner" OR "1"="1',
    "wagner'); DROP TABLE articles; --",
    "wagner NEAR/2 mali",
    "wagner* ^mali title:mali",
    "(wagner | !mali) & <->",
    "wagner\x00mali",
    "\\ % _ ' \" ; --",
    "or OR -",
]


def test_multi_word_phrase_or_and_exclusion(store: SqlStore) -> None:
    store.save(
        FEED_A,
        [
            record("/mali", "Wagner in Mali", FILLER + " Troops moved north."),
            record("/niger", "Wagner in Niger", FILLER + " Troops moved south."),
            record("/floods", "Bamako floods", FILLER + " The river flooded the market."),
        ],
    )
    found = {query: sorted(map(str, titles(store.engine, query))) for query, _ in SYNTAX_CASES}
    assert found == {query: sorted(expected) for query, expected in SYNTAX_CASES}


def test_quotes_and_operators_are_harmless(store: SqlStore) -> None:
    store.save(FEED_A, [record("/mali", "Wagner in Mali", FILLER)])
    for query in HOSTILE_QUERIES:
        query_articles(store.engine, ArticleQuery(search=query))  # must not raise
    assert titles(store.engine, 'wagner" OR "1"="1') == ["Wagner in Mali"]
    assert len(query_articles(store.engine, ArticleQuery())) == 1


def test_search_combines_with_feed_since_unique_and_limit(store: SqlStore) -> None:
    story = FILLER + " Wagner fighters left the base near Mali's border this week."
    store.save(FEED_A, [record("/old", "Old Wagner report", story + " Old.", published=T0)])
    store.save(
        FEED_A,
        [record("/new", "Wagner leaves", story + " New.", published=T0 + timedelta(days=3))],
    )
    store.save(
        FEED_B,
        [
            record(
                "/copy",
                "Wagner leaves",
                story + " New.",
                site="https://b.example",
                published=T0 + timedelta(days=3, hours=1),
            )
        ],
    )
    engine = store.engine
    assert len(titles(engine, "wagner")) == 3
    assert titles(engine, "wagner", feed_url=FEED_B) == ["Wagner leaves"]
    assert titles(engine, "wagner", since=T0 + timedelta(days=1)) == ["Wagner leaves"] * 2
    assert len(titles(engine, "wagner", unique=True)) == 2  # the copy shares the story
    assert len(titles(engine, "wagner", limit=1)) == 1


def test_result_shape_matches_a_plain_listing(store: SqlStore) -> None:
    store.save(FEED_A, [record("/mali", "Wagner in Mali", FILLER)])
    [found] = query_articles(store.engine, ArticleQuery(search="mali"))
    assert found == query_articles(store.engine, ArticleQuery())[0]


def test_index_follows_updates(store: SqlStore) -> None:
    store.save(FEED_A, [record("/story", "Draft headline", FILLER + " Nothing yet.")])
    revised = record("/story", "Wagner leaves Timbuktu", FILLER + " Convoys left at dawn.")
    store.save(FEED_A, [revised])
    assert titles(store.engine, "timbuktu convoys") == ["Wagner leaves Timbuktu"]
    assert titles(store.engine, "draft") == []


def test_articles_stored_before_the_migration_are_searchable(db_url: str, engine: Engine) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO articles (url, link_url, canonical_url, title, authors, tags, text, "
                "word_count, content_hash, sources, fetched_at, created_at, language) VALUES "
                "('u1', 'u1', 'u1', 'Wagner in Mali', '[]', '[]', 'Body.', 1, 'h1', '{}', "
                ":t, :t, 'en'), "
                "('u2', 'u2', 'u2', 'Other', '[]', '[]', 'Body.', 1, 'h2', '{}', :t, :t, 'en')"
            ),
            {"t": "2024-03-01 12:00:00.000000"},
        )
    upgrade(engine)
    assert titles(engine, "mali") == ["Wagner in Mali"]
    with engine.connect() as conn:
        seqs = conn.execute(text("SELECT id, change_seq FROM articles ORDER BY id")).all()
        counter = conn.execute(text("SELECT value FROM change_counters")).scalar_one()
    assert [seq for _, seq in seqs] == [i for i, _ in seqs]
    assert counter == max(i for i, _ in seqs)


def test_autogenerate_skips_only_the_search_objects(engine: Engine) -> None:
    """The models and migrations agree on both engines, with the search DDL left out."""
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_name": lambda name, _t, _p: not is_search_object(name)}
        )
        assert compare_metadata(context, Base.metadata) == []


# --- Postgres: the article's language ------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_postgres_config_follows_the_language_table(engine: Engine) -> None:
    with engine.connect() as conn:
        available = set(conn.execute(text("SELECT cfgname FROM pg_ts_config")).scalars())
        cases = {**{code: code for code in LANGUAGE_CONFIGS}, "en-GB": "en", "PT_br": "pt"}
        for language, code in cases.items():
            config = conn.execute(
                text("SELECT newsflow_text_search_config(:l)::text"), {"l": language}
            ).scalar_one()
            wanted = LANGUAGE_CONFIGS[code]
            assert config == (wanted if wanted in available else "simple"), language
        for unknown in (None, "", "xx", "zh"):
            config = conn.execute(
                text("SELECT newsflow_text_search_config(:l)::text"), {"l": unknown}
            ).scalar_one()
            assert config == "simple", unknown


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_postgres_stems_each_article_in_its_own_language(store: SqlStore) -> None:
    store.save(
        FEED_A,
        [
            record("/de", "Die Wahlen in Berlin", "Die Parteien bereiten sich vor.", language="de"),
            record("/en", "Elections in Leeds", "Parties get ready for the vote.", language="en"),
            record("/xx", "Wahlen elections", "Unbekannte Sprache.", language="xx"),
        ],
    )
    engine = store.engine
    assert titles(engine, "Wahl") == ["Die Wahlen in Berlin"]  # German stem; "xx" is unstemmed
    assert titles(engine, "election") == ["Elections in Leeds"]
    assert sorted(titles(engine, "wahlen")) == ["Die Wahlen in Berlin", "Wahlen elections"]
    # an English stop word does not make an English article unfindable
    assert titles(engine, "the elections") == ["Elections in Leeds"]


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_postgres_search_uses_the_gin_index(store: SqlStore) -> None:
    from sqlalchemy.orm import Session

    from storage.repository import _article_select

    with Session(store.engine) as session:
        stmt = _article_select(session, ArticleQuery(search="wagner mali"))
        assert stmt is not None
        sql = str(stmt.compile(store.engine, compile_kwargs={"literal_binds": True}))
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(session.execute(text("EXPLAIN " + sql)).scalars())
    assert "ix_articles_search_vector" in plan
